/**
 * Record batches of every codec a broker may hold, read by `cdc stream` from the real broker:
 * each topic's `compression.type` makes the broker recompress what the producer sent (as a
 * user's topic does), so the log holds gzip, snappy (xerial framing, from Kafka's Java
 * code), lz4 (LZ4 frames) and zstd batches (which Fetch v10 or later must ask for).
 */
import assert from "node:assert/strict";
import { createTopic } from "../lib/kafka/admin.ts";
import { kafkaClient } from "../lib/kafka/client.ts";
import { FinalError, waitFor } from "../lib/util/retry.ts";
import { itemsTopic, produceAll } from "./fixtures/produce.ts";
import { query, STACK, streamArgs } from "./helpers.ts";
import { Scratch } from "./fixtures/scratch.ts";

const CODECS = ["uncompressed", "gzip", "snappy", "lz4", "zstd"] as const;
const RECORDS = 3_000;

Deno.test({
  name: "stream: topics compressed with gzip, snappy, lz4 and zstd are read exactly",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using scratch = await Scratch.open("codecs");
    const database = scratch.name();
    const sink = scratch.name("sink");
    const kafka = kafkaClient({ brokers: [STACK.bootstrapServers] }, "cdc-test-codecs");
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    const topics = new Map<string, string>();
    try {
      for (const codec of CODECS) {
        const table = `items_${codec}`;
        const { topic, created } = await itemsTopic(STACK, database, table);
        await createTopic(admin, {
          topic,
          configEntries: [{ name: "compression.type", value: codec }],
        });
        const ids = Array.from({ length: RECORDS }, (_, id) => id);
        await produceAll(producer, topic, ids.map(created), 500);
        topics.set(codec, topic);
      }
    } finally {
      await producer.disconnect();
    }
    const ends = new Map<string, number>();
    for (const topic of topics.values()) {
      const [{ high }] = await admin.fetchTopicOffsets(topic);
      ends.set(topic, Number(high));
    }
    await admin.disconnect();

    const db = scratch.db;
    const cdc = scratch.stream(
      streamArgs(CODECS.map((c) => `items_${c}`), sink, "--database", database),
    );
    await waitFor("every topic's stored position at its end", async () => {
      if (cdc.exited) throw new FinalError(`cdc exited:\n${cdc.stderr}`);
      const stored = await query<{ topic: string; next: string }>(
        db,
        `SELECT topic, next_offset AS next FROM \`${sink}\`.__cdc_offsets`,
      ).catch(() => []);
      return [...ends].every(([topic, end]) =>
        stored.some((s) => s.topic === topic && Number(s.next) === end)
      );
    }, 60_000);
    for (const codec of CODECS) {
      const [{ n, distinct }] = await query<{ n: string; distinct: string }>(
        db,
        `SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS \`distinct\` FROM \`${sink}\`.items_${codec}_cdc`,
      );
      assert.deepEqual([Number(n), Number(distinct)], [RECORDS, RECORDS], codec);
    }
  },
});
