/**
 * Bad input on a real topic: wrong magic byte, unknown schema id, truncated
 * Avro, a value that is not Avro at all, a schema whose Decimal parameters
 * cannot become DDL, a create without its after image, under each
 * `--on-error` policy.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { kafkaClient } from "../lib/kafka/client.ts";
import { envelopeSchema, optional, sourceValue } from "../lib/debezium/testing.ts";
import { avroEncoder, confluentFrame, produceAll, registerSchema } from "./fixtures/produce.ts";
import {
  CdcProcess,
  connectMysql,
  query,
  runCdc,
  STACK,
  STACK_FLAGS,
  uniqueSuffix,
} from "./helpers.ts";
import { waitFor } from "../lib/util/retry.ts";

/** Produces the bad-input sequence once; returns the topic, database and raw values. */
async function produceBadInput() {
  const suffix = uniqueSuffix();
  const database = `bad_${suffix}`;
  const topic = `dbserver1.${database}.items`;
  const schema = envelopeSchema("dbserver1", database, "items", [
    { name: "id", type: "int" },
    optional("name", "string"),
  ]);
  const id = await registerSchema(STACK.registryUrl, `${topic}-value`, schema);
  const encode = avroEncoder(id, schema);
  const event = (op: string, name: string) =>
    encode({
      before: null,
      after: { id: 1, name },
      source: sourceValue("items", 4, 1_700_000_000_000),
      op,
      ts_ms: 1_700_000_000_001,
      transaction: null,
    });
  const good = event("c", "first");
  const poison = await poisonEvent(topic, database);
  const noAfter = encode({
    before: null,
    after: null,
    source: sourceValue("items", 5, 1_700_000_000_000),
    op: "c",
    ts_ms: 1_700_000_000_002,
    transaction: null,
  });
  const wrongMagic = Buffer.from(good);
  wrongMagic[0] = 1;
  const values = [
    good, // 0
    wrongMagic, // 1: not-confluent-framing
    confluentFrame(2_000_000_000, good.subarray(5)), // 2: unknown-schema-id
    good.subarray(0, good.length - 4), // 3: undecodable-avro (truncated)
    Buffer.from('{"op":"c","after":{"id":1}}'), // 4: JSON, not Avro at all
    event("u", "second"), // 5
    null, // 6: tombstone
    poison, // 7: unmappable-type (a Decimal scale that is SQL, not a number)
    noAfter, // 8: missing-row-image
    event("u", "third"), // 9
  ];
  await produce(topic, values);
  return { database, topic, values };
}

/** A create event whose schema's Decimal `scale` parameter tries to inject SQL. */
async function poisonEvent(topic: string, database: string): Promise<Buffer> {
  const schema = envelopeSchema("dbserver1", database, "items", [
    { name: "id", type: "int" },
    optional("price", {
      type: "bytes",
      "connect.name": "org.apache.kafka.connect.data.Decimal",
      "connect.parameters": { scale: "2) ; DROP TABLE x; --" },
    }),
  ]);
  // a subject of its own: the registry need not judge it compatible with the good schema
  const id = await registerSchema(STACK.registryUrl, `${topic}-poison`, schema);
  return avroEncoder(id, schema)({
    before: null,
    after: { id: 2, price: Buffer.from([0x30, 0x39]) },
    source: sourceValue("items", 5, 1_700_000_000_000),
    op: "c",
    ts_ms: 1_700_000_000_002,
    transaction: null,
  });
}

async function produce(topic: string, values: (Buffer | null)[]): Promise<void> {
  const kafka = kafkaClient({ brokers: [STACK.bootstrapServers] }, "cdc-test-producer");
  const producer = kafka.producer();
  await producer.connect();
  await produceAll(producer, topic, values);
  await producer.disconnect();
}

const streamArgs = (database: string, sink: string, policy: string) => [
  "stream",
  "--table",
  "items",
  "--database",
  database,
  "--sink-database",
  sink,
  "--group-id",
  sink,
  "--on-error",
  policy,
  "--flush-ms",
  "100",
  ...STACK_FLAGS,
]; // deno-fmt-ignore

Deno.test({
  name: "stream: bad records under fail, skip and dead-letter",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { database, topic, values } = await produceBadInput();
    const db = await connectMysql();
    const sinks: string[] = [];
    const storedNext = async (sink: string, of = topic) => {
      const rows = await query<{ next: string }>(
        db,
        `SELECT next_offset AS next FROM \`${sink}\`.__cdc_offsets WHERE topic = ?`,
        [of],
      ).catch(() => []);
      return rows.length ? Number(rows[0].next) : -1;
    };
    try {
      await t.step("fail: stops at the first bad record with its position and reason, exit 1", async () => {
        const sink = `${database}_fail`;
        sinks.push(sink);
        const result = await runCdc(streamArgs(database, sink, "fail"));
        assert.equal(result.code, 1, result.stderr);
        assert.match(
          result.stderr,
          new RegExp(`bad record at topic ${topic.replaceAll(".", "\\.")}, partition 0, offset 1 \\(not-confluent-framing\\): magic byte is 1`),
        );
        const rows = await query<{ __offset: string }>(db, `SELECT __offset FROM \`${sink}\`.items_cdc`);
        assert.deepEqual(rows.map((r) => Number(r.__offset)), [0], "the good record before it is written");
        assert.equal(await storedNext(sink), 1, "the stored position stops at the bad record");
      });

      await t.step("fail: a schema that cannot become DDL stops with its position and reason", async () => {
        const poisoned = `${database}_p`;
        const poisonTopic = `dbserver1.${poisoned}.items`;
        await produce(poisonTopic, [values[0], values[7]]);
        const sink = `${poisoned}_fail`;
        sinks.push(sink);
        const result = await runCdc(streamArgs(poisoned, sink, "fail"));
        assert.equal(result.code, 1, result.stderr);
        assert.match(
          result.stderr,
          new RegExp(`bad record at topic ${poisonTopic.replaceAll(".", "\\.")}, partition 0, offset 1 \\(unmappable-type\\): column "price": .*parameter scale "2\\) ; DROP TABLE x; --" is not a whole number`),
        );
        assert.doesNotMatch(result.stderr, /SQL syntax/);
        assert.equal(await storedNext(sink, poisonTopic), 1, "the stored position stops at it");
      });

      await t.step("skip: counts the six bad records and goes on", async () => {
        const sink = `${database}_skip`;
        sinks.push(sink);
        const cdc = new CdcProcess(streamArgs(database, sink, "skip"));
        await waitFor("the whole topic consumed", async () => await storedNext(sink) === values.length);
        const status = await cdc.stop("SIGINT");
        assert.equal(status.code, 0, cdc.stderr);
        const rows = await query<{ __offset: string; name: string }>(
          db,
          `SELECT __offset, name FROM \`${sink}\`.items_cdc ORDER BY __offset`,
        );
        assert.deepEqual(rows.map((r) => [Number(r.__offset), r.name]), [[0, "first"], [5, "second"], [9, "third"]]);
        assert.equal(cdc.stderr.match(/skipped bad record/g)?.length, 6);
        assert.match(cdc.stderr, /1 tombstones, 6 skipped, 0 dead-lettered/);
      });

      await t.step("dead-letter: keeps raw bytes and the reason, and goes on", async () => {
        const sink = `${database}_dead`;
        sinks.push(sink);
        const cdc = new CdcProcess(streamArgs(database, sink, "dead-letter"));
        await waitFor("the whole topic consumed", async () => await storedNext(sink) === values.length);
        assert.equal((await cdc.stop("SIGTERM")).code, 0, cdc.stderr);
        const letters = await query<{ offset: string; value: Buffer; reason: string; error: string }>(
          db,
          `SELECT \`offset\`, \`value\`, reason, error FROM \`${sink}\`.__cdc_dead_letter ORDER BY \`offset\``,
        );
        assert.deepEqual(letters.map((l) => [Number(l.offset), l.reason]), [
          [1, "not-confluent-framing"],
          [2, "unknown-schema-id"],
          [3, "undecodable-avro"],
          [4, "not-confluent-framing"],
          [7, "unmappable-type"],
          [8, "missing-row-image"],
        ]);
        for (const letter of letters) {
          assert.deepEqual(Buffer.from(letter.value), values[Number(letter.offset)], "raw bytes kept as they were");
          assert.ok(letter.error.length > 10);
        }
        assert.match(letters[1].error, /no schema with id 2000000000/);
        const rows = await query(db, `SELECT __offset FROM \`${sink}\`.items_cdc`);
        assert.equal(rows.length, 3, "no all-NULL row for the create without after");
      });
    } finally {
      for (const sink of sinks) await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
    }
  },
});
