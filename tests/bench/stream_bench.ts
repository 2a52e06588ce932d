/**
 * `deno task bench`: how fast `cdc stream` drains a backlog, against the
 * ceiling of inserting the same rows straight into MariaDB.
 *
 * 1. Pre-produce N Debezium-format Avro events (a 10-column table) to a topic.
 * 2. (a) Run `cdc stream` (the real CLI, a subprocess) until every event is
 *    in `_cdc`; report events/s and the process's peak RSS.
 * 3. (b) Insert the same rows, already converted, with multi-row INSERTs of
 *    the same batch size in one transaction per batch: the ceiling.
 *
 * Needs the local stack (`deno task stack up`). Options: `--events N`
 * (default 200000), `--batch-size N` (default 5000), `--http-listen
 * host:port` (passed to `cdc stream`, whose `/metrics` is then scraped every
 * second while it drains, to measure what the endpoint costs).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";
import mysql from "mysql2/promise";
import { cdcTableDdl } from "../../lib/cdc_table.ts";
import { compileRowPlan } from "../../lib/envelope.ts";
import { kafkaClient } from "../../lib/kafka.ts";
import { envelopeSchema, optional, sourceValue } from "../fixtures/debezium_schema.ts";
import { avroEncoder, produceAll, registerSchema } from "../fixtures/produce.ts";
import { STACK, STACK_FLAGS } from "../helpers.ts";
import { steadyBackoff, waitFor } from "../../lib/retry.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    events: { type: "string", default: "200000" },
    "batch-size": { type: "string", default: "5000" },
    "http-listen": { type: "string" },
  },
});
const httpListen = args["http-listen"];
const N = Number(args.events);
const BATCH = Number(args["batch-size"]);
const run = `${Date.now()}`;
const table = `bench_${run}`;
const topic = `bench.benchdb.${table}`;

const fields = [
  { name: "id", type: "int" },
  optional("name", "string"),
  optional("email", "string"),
  optional("amount", {
    type: "bytes",
    "connect.name": "org.apache.kafka.connect.data.Decimal",
    "connect.parameters": { scale: "2", "connect.decimal.precision": "10" },
  }),
  optional("created_at", { type: "long", "connect.name": "io.debezium.time.Timestamp" }),
  optional("quantity", "int"),
  optional("price", "double"),
  optional("active", "boolean"),
  optional("note", "string"),
  optional("updated_at", { type: "string", "connect.name": "io.debezium.time.ZonedTimestamp" }),
];
const schema = envelopeSchema("bench", "benchdb", table, fields);

function event(i: number) {
  const amount = Buffer.alloc(4);
  amount.writeInt32BE(i * 7 % 1_000_000);
  const row = {
    id: i,
    name: `customer ${i}`,
    email: `customer${i}@example.com`,
    amount,
    created_at: 1_700_000_000_000 + i,
    quantity: i % 100,
    price: i / 3,
    active: i % 2 === 0,
    note: i % 10 === 0 ? null : "a note with ünïcödé and more text",
    updated_at: "2024-01-02T03:04:05.123456Z",
  };
  const op = i % 10 === 9 ? "d" : i % 10 === 8 ? "u" : "c";
  return {
    before: op === "c" ? null : row,
    after: op === "d" ? null : row,
    source: sourceValue(table, 1000 + i, 1_700_000_000_000 + i),
    op,
    ts_ms: 1_700_000_000_100 + i,
    transaction: null,
  };
}

const log = (line: string) => console.error(`[bench] ${line}`);

// 1. Pre-produce.
const id = await registerSchema(STACK.registryUrl, `${topic}-value`, schema);
const encode = avroEncoder(id, schema);
const kafka = kafkaClient({ brokers: [STACK.bootstrapServers] }, "cdc-bench");
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
await admin.disconnect();
const producer = kafka.producer();
await producer.connect();
let t = performance.now();
function* values() {
  for (let i = 0; i < N; i++) yield encode(event(i));
}
await produceAll(producer, topic, values());
await producer.disconnect();
log(`produced ${N} events to ${topic} in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const sql = await mysql.createConnection({ ...STACK.mysql, multipleStatements: false });
await sql.query("CREATE DATABASE IF NOT EXISTS bench");

// 2a. cdc stream drains the backlog.
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    new URL("../../main.ts", import.meta.url).pathname,
    "stream",
    "--table",
    table,
    "--topic-prefix",
    "bench",
    "--database",
    "benchdb",
    "--sink-database",
    "bench",
    ...STACK_FLAGS,
    "--batch-size",
    String(BATCH),
    "--status-interval",
    "5s",
    ...(httpListen ? ["--http-listen", httpListen] : []),
  ],
  env: { CDC_MYSQL_PASSWORD: STACK.mysql.password },
  stdout: "inherit",
  stderr: "inherit",
}).spawn(); // deno-fmt-ignore
t = performance.now();
let peakRssKb = 0;
let firstRowAt: number | undefined;
// sampled every 100 ms: the resolution of the measurement; with --http-listen, /metrics is
// scraped once a second as Prometheus would
let scrapes = 0;
let lastScrape = 0;
await waitFor(
  `cdc stream to drain ${N} events`,
  async () => {
    if (httpListen && Date.now() - lastScrape >= 1_000) {
      lastScrape = Date.now();
      const response = await fetch(`http://${httpListen}/metrics`).catch(() => undefined);
      if (response?.ok) scrapes++;
      await response?.body?.cancel();
    }
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`).catch(() => "");
    peakRssKb = Math.max(peakRssKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    const [rows] = await sql.query(
      "SELECT next_offset FROM bench.__cdc_offsets WHERE topic = ?",
      [topic],
    ).catch(() => [[]]) as unknown as [{ next_offset: string }[]];
    const next = Number(rows[0]?.next_offset ?? 0);
    if (next > 0) firstRowAt ??= performance.now();
    return next >= N;
  },
  30 * 60_000,
  { backoff: steadyBackoff(100) },
);
const streamSeconds = (performance.now() - t) / 1000;
const drainSeconds = (performance.now() - firstRowAt!) / 1000;
child.kill("SIGTERM");
await child.status;
const [[{ n }]] = await sql.query(
  `SELECT COUNT(*) AS n FROM bench.\`${table}_cdc\``,
) as unknown as [[{ n: number }]];
if (Number(n) !== N) throw new Error(`expected ${N} rows in ${table}_cdc, found ${n}`);

// 2b. The ceiling: the same rows, converted beforehand, inserted straight in.
const plan = compileRowPlan(schema);
const rows = Array.from({ length: N }, (_, i) => plan.toRow(event(i), { partition: 0, offset: i }));
await sql.query(cdcTableDdl("bench", `${table}_baseline`, plan.columns));
const head = `INSERT INTO bench.\`${table}_baseline\` (${
  plan.columnNames.map((c) => `\`${c}\``).join(",")
}) VALUES ?`;
t = performance.now();
for (let i = 0; i < N; i += BATCH) {
  await sql.query("START TRANSACTION");
  await sql.query(head, [rows.slice(i, i + BATCH)]);
  await sql.query("COMMIT");
}
const baselineSeconds = (performance.now() - t) / 1000;
await sql.end();
if (httpListen) log(`scraped ${httpListen}/metrics ${scrapes} times while draining`);

const streamRate = N / drainSeconds;
const baselineRate = N / baselineSeconds;
console.log(
  `| events | cdc stream (drain) | cdc stream (incl. start-up) | peak RSS | baseline INSERTs | ratio |
| --- | --- | --- | --- | --- | --- |
| ${N} | ${streamRate.toFixed(0)} ev/s (${drainSeconds.toFixed(1)} s) | ${
    (N / streamSeconds).toFixed(0)
  } ev/s (${streamSeconds.toFixed(1)} s) | ${(peakRssKb / 1024).toFixed(0)} MiB | ${
    baselineRate.toFixed(0)
  } rows/s (${baselineSeconds.toFixed(1)} s) | ${(streamRate / baselineRate).toFixed(2)} |`,
);
