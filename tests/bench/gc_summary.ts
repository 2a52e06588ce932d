/**
 * Sums up V8's `--trace-gc-nvp` lines (one JSON object per collection) read from stdin:
 * scavenges, what they promoted to the old generation, and mark-compacts, with their pauses.
 * tests/bench/cpu_per_event.sh pipes a drain's trace through it when GC_TRACE is set.
 *
 * @module
 */
interface GcEvent {
  gc: string;
  pause: number;
  promoted?: number;
  allocated?: number;
}

const text = await new Response(Deno.stdin.readable).text();
const events: GcEvent[] = [];
for (const line of text.split("\n")) {
  const at = line.indexOf("GC: {");
  if (at >= 0) events.push(JSON.parse(line.slice(at + 4)));
}
const scavenges = events.filter((e) => e.gc === "s");
const majors = events.filter((e) => e.gc !== "s");
const sum = (list: GcEvent[], f: (e: GcEvent) => number) => list.reduce((a, e) => a + f(e), 0);
const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
console.log(
  `  GC: ~${mb(sum(events, (e) => e.allocated ?? 0))} MB allocated; ${scavenges.length} ` +
    `scavenges (${sum(scavenges, (e) => e.pause).toFixed(0)} ms paused) promoted ` +
    `${mb(sum(scavenges, (e) => e.promoted ?? 0))} MB to the old generation; ${majors.length} ` +
    `mark-compacts (${sum(majors, (e) => e.pause).toFixed(0)} ms paused)`,
);
