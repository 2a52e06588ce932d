/**
 * `deno task bench` at a small size against the stack: every contender (cdc, the Debezium JDBC
 * sink on the stack's Connect, both ceilings) drains real Debezium events, and `--latency`
 * measures both sinks; the figures themselves are not judged, only that each was measured.
 */
import assert from "node:assert/strict";

const BENCH = new URL("./bench/stream_bench.ts", import.meta.url).pathname;

async function bench(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

interface Report {
  command: string;
  loadBefore: string;
  results: {
    name: string;
    rounds?: { eventsPerSecond: number; peakRssMiB?: number }[];
    samples?: number;
    p50?: number;
    p99?: number;
  }[];
}

async function benchJson(...args: string[]): Promise<{ report: Report; stdout: string }> {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const { code, stdout, stderr } = await bench(...args, "--json", json);
    assert.equal(code, 0, stderr);
    return { report: JSON.parse(await Deno.readTextFile(json)), stdout };
  } finally {
    await Deno.remove(json);
  }
}

Deno.test("bench: cdc, the JDBC sink and both ceilings drain the same Debezium topic", async () => {
  const { report, stdout } = await benchJson("--events", "3000", "--rounds", "1");
  assert.match(report.command, /deno task bench --events 3000 --rounds 1/);
  assert.match(report.loadBefore, /^\d+\.\d+ \d+\.\d+ \d+\.\d+$/);
  const names = report.results.map((r) => r.name);
  assert.equal(names.length, 4, names.join("\n"));
  for (
    const [i, pattern] of [/^`cdc stream/, /^Debezium JDBC sink/, /INSERTs/, /LOAD DATA/].entries()
  ) {
    assert.match(names[i], pattern);
    assert.ok(report.results[i].rounds![0].eventsPerSecond > 0, names[i]);
  }
  assert.ok(report.results[0].rounds![0].peakRssMiB! > 0, "cdc's peak RSS");
  assert.ok(report.results[1].rounds![0].peakRssMiB! > 0, "the Connect worker's RSS");
  assert.match(stdout, /\| contender \| drain events\/s \(median\) \|/);
});

Deno.test("bench --latency: p50 and p99 of Debezium, cdc and the JDBC sink at a steady rate", async () => {
  const { report } = await benchJson(
    "--latency",
    "--rate",
    "200",
    "--duration",
    "2",
    "--rounds",
    "1",
  );
  const names = report.results.map((r) => r.name);
  assert.equal(names.length, 4, names.join("\n"));
  for (
    const [i, pattern] of [
      /^Debezium alone/,
      /^`cdc stream`/,
      /^Debezium alone/,
      /^Debezium JDBC sink/,
    ].entries()
  ) {
    assert.match(names[i], pattern);
  }
  for (const result of report.results) {
    assert.equal(result.samples, 400, result.name);
    assert.ok(result.p50! > 0 && result.p99! >= result.p50!, JSON.stringify(result));
  }
});

Deno.test("bench: a bad option is a usage error (exit 2) that says what to do", async () => {
  const { code, stderr } = await bench("--events", "many");
  assert.equal(code, 2);
  assert.match(stderr, /--events must be a whole number above 0, got "many"/);
  assert.match(stderr, /usage: deno task bench/);
});
