/**
 * Each in-process stage of `cdc stream` alone (and the one pass that history tables take
 * instead of decode, map and encode), on 5,000 real records of a backlog topic
 * (tests/bench/backlog.ts), without Kafka, MySQL or a large heap in the way:
 *
 *   CDC_BENCH_TOPIC=perf200k.perf200k.items deno bench -A tests/bench/stages_bench.ts
 *
 * Needs the local stack (the records and their schema come from it).
 *
 * @module
 */
import { AvroDecoder } from "../../lib/avro/decoder.ts";
import { type Envelope, envelopeReaderSchema } from "../../lib/debezium/envelope.ts";
import { compileEventPlan } from "../../lib/debezium/event_plan.ts";
import { compiled } from "../../lib/debezium/testing.ts";
import { compileLoadLineWriter } from "../../lib/debezium/load_lines.ts";
import { loadDataFormat, LoadDataText } from "../../lib/mysql/load_data.ts";
import { RegistryClient } from "../../lib/avro/registry.ts";
import { REGISTRY_URL } from "../../tools/stack/config.ts";
import { readRecordValues } from "./source.ts";

const RECORDS = 5000;
const topic = Deno.env.get("CDC_BENCH_TOPIC");
if (!topic) {
  throw new Error("set CDC_BENCH_TOPIC to a topic of bench events (tests/bench/backlog.ts)");
}

const values = await readRecordValues(topic, RECORDS);

const decoder = new AvroDecoder(new RegistryClient(REGISTRY_URL), {
  project: envelopeReaderSchema,
});
const envelopes: Envelope[] = [];
for (const value of values) envelopes.push((await decoder.decode(value)).value as Envelope);
const plan = compileEventPlan(compiled((await decoder.decode(values[0])).schema.schema));
const rows = envelopes.map((e, offset) => plan.row(e, { partition: 0, offset }));
const format = loadDataFormat(plan.rowColumns, "ignore");

Deno.bench(`Avro decode, ${RECORDS} records`, async () => {
  for (const value of values) await decoder.decode(value);
});
Deno.bench(`map to rows, ${RECORDS} records`, () => {
  for (let i = 0; i < envelopes.length; i++) plan.row(envelopes[i], { partition: 0, offset: i });
});
Deno.bench(`LOAD DATA text, ${RECORDS} rows`, () => {
  const text = new LoadDataText(format);
  for (const row of rows) text.add(row);
  text.chunks();
});

// What history tables take instead of the three above: one pass from bytes to lines.
const writeLine = compileLoadLineWriter(await decoder.schemaOf(values[0]), plan.mappings);
if (!writeLine) throw new Error(`${topic}'s schema is not read in place`);
Deno.bench(`one pass: bytes to LOAD DATA lines, ${RECORDS} records`, () => {
  const text = new LoadDataText(format);
  const into = () => text;
  for (let i = 0; i < values.length; i++) writeLine(values[i], { partition: 0, offset: i }, into);
  text.chunks();
});
