/**
 * Where a drain's memory goes: `cdc stream --http-listen` drains a kept backlog
 * (tests/bench/backlog.ts) into a fresh database while its `/metrics` are read every 200 ms;
 * prints the peaks of the JavaScript heap (used, total), the memory outside it (`external`:
 * the fetch responses and other buffers) and the resident set, and the process's VmHWM.
 *
 *   eval "$(deno task stack env)"
 *   deno run -A tests/bench/memory_peaks.ts many200 200000 --table-regex 't[0-9]+'
 *   deno run -A tests/bench/memory_peaks.ts one200 200000 --table items
 *
 * The name is the backlog's database and topic prefix; the flags after the count go to
 * `cdc stream`.
 *
 * @module
 */
import { connectMysql, streamArgs } from "../helpers.ts";
import { drain, ident, startCdcWith, toMiB } from "./contenders.ts";
import { stackAdmin } from "./source.ts";

const [name, count, ...flags] = Deno.args;
if (!name || !(Number(count) > 0) || flags.length === 0) {
  console.error(
    "usage: deno run -A tests/bench/memory_peaks.ts <backlog> <events> --table T | --table-regex R",
  );
  Deno.exit(2);
}
const LISTEN = "127.0.0.1:0";
const db = await connectMysql();
const sink = `mem_${Date.now().toString(36)}`;
const admin = await stackAdmin();
const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${name}.${name}.`));
await admin.disconnect();
const cdc = startCdcWith(
  db,
  streamArgs(
    [],
    sink,
    "--database",
    name,
    "--topic-prefix",
    name,
    "--http-listen",
    LISTEN,
    ...flags,
  ),
  sink,
  topics,
);
const peaks = new Map<string, number>();
let url: string | undefined;
const sampling = setInterval(async () => {
  url ??= /metrics and probes on (http:\/\/\S+?)\/? \(/.exec(cdc.log?.() ?? "")?.[1];
  if (!url) return;
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => "");
  for (
    const [, metric, value] of text.matchAll(
      /^(cdc_heap_bytes\{[^}]*\}|process_resident_memory_bytes) (\S+)$/gm,
    )
  ) {
    peaks.set(metric, Math.max(peaks.get(metric) ?? 0, Number(value)));
  }
}, 200);
try {
  const { seconds, peakRss } = await drain(cdc, Number(count), performance.now());
  const shown = [...peaks].map(([metric, bytes]) => `${metric} ${toMiB(bytes).toFixed(0)} MiB`);
  console.log(
    `${name}: ${Number(count)} events in ${seconds.toFixed(1)} s; peaks: ${shown.join(", ")}; ` +
      `VmHWM ${toMiB(peakRss).toFixed(0)} MiB`,
  );
} finally {
  clearInterval(sampling);
  await cdc.stop();
  await db.query(`DROP DATABASE ${ident(sink)}`);
  await db.end();
}
