/**
 * Where one record's CPU goes inside `cdc stream`, stage by stage, without the services in the
 * way: reads `n` records of a backlog (tests/bench/backlog.ts) into memory, then times, over
 * three rounds, the Kafka client alone (a second read), Avro decoding, mapping to rows, and
 * turning rows into LOAD DATA text, each on its own.
 *
 *   deno run -A --v8-flags=<the binary's V8_FLAGS> tests/bench/stage_split.ts perf200k.perf200k.items 200000
 *
 * Records held in memory make garbage collection costlier than in a stream: compare stages
 * with each other and between commits, not with a drain.
 *
 * @module
 */
import { AvroDecoder } from "../../lib/avro/decoder.ts";
import { type Envelope, envelopeReaderSchema } from "../../lib/debezium/envelope.ts";
import { compileEventPlan } from "../../lib/debezium/event_plan.ts";
import { compiled } from "../../lib/debezium/testing.ts";
import { loadDataFormat, LoadDataText } from "../../lib/mysql/load_data.ts";
import { RegistryClient } from "../../lib/avro/registry.ts";
import { REGISTRY_URL } from "../../tools/stack/config.ts";
import { readRecordValues } from "./source.ts";

const [topic, count] = [Deno.args[0], Number(Deno.args[1])];
if (!topic || !(count > 0)) {
  console.error("usage: deno run -A tests/bench/stage_split.ts <topic> <records>");
  Deno.exit(2);
}

const perRecord = (startedAt: number) =>
  `${((performance.now() - startedAt) * 1000 / count).toFixed(2)} µs`;

const values = await readRecordValues(topic, count);
const decoder = new AvroDecoder(new RegistryClient(REGISTRY_URL), {
  project: envelopeReaderSchema,
});
const { schema } = await decoder.decode(values[0]);
const plan = compileEventPlan(compiled(schema.schema));
const format = loadDataFormat(plan.rowColumns, "ignore");
for (let round = 1; round <= 3; round++) {
  let started = performance.now();
  await readRecordValues(topic, count);
  const kafka = perRecord(started);
  started = performance.now();
  const envelopes: Envelope[] = [];
  for (const value of values) envelopes.push((await decoder.decode(value)).value as Envelope);
  const decode = perRecord(started);
  started = performance.now();
  const rows = envelopes.map((e, offset) => plan.row(e, { partition: 0, offset }));
  const map = perRecord(started);
  started = performance.now();
  let text = new LoadDataText(format);
  for (const row of rows) {
    text.add(row);
    if (text.rows === 5000) {
      text.chunks();
      text = new LoadDataText(format);
    }
  }
  text.chunks();
  const encode = perRecord(started);
  console.log(
    `round ${round}: per record: Kafka read ${kafka}, Avro decode ${decode}, map ${map}, ` +
      `LOAD DATA text ${encode}`,
  );
}
Deno.exit(0);
