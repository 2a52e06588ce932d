/**
 * Exactly-once, checked record by record: the sink's `_cdc` rows against what Kafka holds.
 *
 * @module
 */
import assert from "node:assert/strict";
import type mysql from "mysql2/promise";
import { kafkaClient } from "../../lib/kafka/client.ts";
import { FinalError, waitFor } from "../../lib/util/retry.ts";
import { BOOTSTRAP } from "../../tools/stack/config.ts";
import { type CdcProcess, query, uniqueSuffix } from "../helpers.ts";
import { clusterAdmin } from "./cluster.ts";

/** Throws (ending a wait at once) when either process has exited. */
export function assertRunning(processes: readonly CdcProcess[]): void {
  for (const [i, cdc] of processes.entries()) {
    if (cdc.exited) throw new FinalError(`cdc process ${i + 1} exited:\n${cdc.stderr}`);
  }
}

/** `partition/offset` → the record's key (the row's id), of every record of a topic. */
type Records = Map<string, string>;

/**
 * Every record of `topic` up to `ends`, read with a consumer of its own (kafkajs, not cdc's
 * fetch path): the truth the sink is compared with.
 */
async function topicRecords(topic: string, ends: ReadonlyMap<number, number>): Promise<Records> {
  const records: Records = new Map();
  const consumer = kafkaClient({ brokers: BOOTSTRAP.split(",") }, "cdc-cluster-check")
    .consumer({ groupId: `cdc-cluster-check-${uniqueSuffix()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        records.set(`${partition}/${message.offset}`, message.key?.toString() ?? "");
        return Promise.resolve();
      },
    });
    const total = [...ends.values()].reduce((a, b) => a + b, 0);
    await waitFor(
      `all ${total} records of ${topic} read back`,
      () => records.size >= total,
      60_000,
    );
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/**
 * Waits until the sink's stored positions reach the partitions' end offsets, then checks that
 * the sink holds every record of the topic once (the same partition, offset and id, nothing
 * more) and that Kafka holds every record the feed had acknowledged (`fed`). Returns how many
 * records Kafka holds twice (a feed's send retried after its answer was lost).
 */
export async function assertDeliveredOnce(
  db: mysql.Connection,
  sink: string,
  topic: string,
  fed: number,
  processes: readonly CdcProcess[],
): Promise<number> {
  const admin = await clusterAdmin();
  let ends = new Map<number, number>();
  try {
    // a leader elected a moment ago may report a high watermark that trails what its
    // followers acknowledged, until they fetch again
    await waitFor(`the end offsets of ${topic} to hold the ${fed} records fed`, async () => {
      const offsets = await admin.fetchTopicOffsets(topic);
      ends = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
      return [...ends.values()].reduce((a, b) => a + b, 0) >= fed;
    }, 30_000).catch((error) => {
      throw new Error(`${error.message}: ${JSON.stringify([...ends])}`);
    });
  } finally {
    await admin.disconnect();
  }

  let stored = new Map<number, number>();
  await waitFor(`the stored positions of ${sink} at the end offsets`, async () => {
    assertRunning(processes);
    const rows = await query<{ partition: number; next_offset: string }>(
      db,
      `SELECT \`partition\`, next_offset FROM \`${sink}\`.__cdc_offsets WHERE topic = ?`,
      [topic],
    ).catch(() => []);
    stored = new Map(rows.map((r) => [Number(r.partition), Number(r.next_offset)]));
    return [...ends].every(([partition, end]) => end === 0 || stored.get(partition) === end);
  }, 120_000).catch((error) => {
    throw new Error(
      `${error.message}\nend offsets ${JSON.stringify([...ends])}, stored ` +
        `${JSON.stringify([...stored])}\n--- cdc 1:\n${processes[0].stderr.slice(-3000)}` +
        `\n--- cdc 2:\n${processes[1].stderr.slice(-3000)}`,
    );
  });

  const kafka = await topicRecords(topic, ends);
  const rows = await query<{ partition: number; offset: string; id: number }>(
    db,
    `SELECT __partition AS \`partition\`, __offset AS \`offset\`, id FROM \`${sink}\`.items_cdc`,
  );
  const sunk: Records = new Map(rows.map((r) => [`${r.partition}/${r.offset}`, String(r.id)]));
  assert.equal(rows.length, sunk.size, "each partition and offset once in the sink");
  assert.equal(sunk.size, kafka.size, "as many rows in the sink as records in Kafka");
  for (const [position, id] of kafka) {
    assert.equal(sunk.get(position), id, `the record at ${position} in the sink, with its id`);
  }
  const ids = new Set(kafka.values());
  for (let id = 0; id < fed; id++) assert.ok(ids.has(String(id)), `id ${id} in Kafka`);
  return kafka.size - ids.size;
}
