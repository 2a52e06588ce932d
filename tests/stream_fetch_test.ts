/**
 * cdc's own fetch path (lib/kafka/fetch.ts) against the real broker: gzip-compressed batches
 * are read, an aborted transaction's records are left out and a committed one's kept (read
 * committed, as kafkajs read before), and the transaction markers between them move the stored
 * position on without a row of their own.
 */
import assert from "node:assert/strict";
import { CompressionTypes, type Producer } from "kafkajs";
import { kafkaClient } from "../lib/kafka/client.ts";
import { itemsTopic } from "./fixtures/produce.ts";
import { CdcProcess, connectMysql, query, STACK, streamArgs, uniqueSuffix } from "./helpers.ts";
import { waitFor } from "../lib/util/retry.ts";

Deno.test({
  name: "stream: gzip batches read, an aborted transaction left out, a committed one kept",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const database = `fetch_${uniqueSuffix()}`;
    const { topic, created } = await itemsTopic(STACK, database);
    const event = (id: number) => ({ value: created(id), partition: 0 });
    const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    const kafka = kafkaClient({ brokers: [STACK.bootstrapServers] }, "cdc-test-producer");
    const plain = kafka.producer();
    const transactional = kafka.producer({
      transactionalId: `cdc-test-${database}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const inTransaction = async (producer: Producer, values: number[], commit: boolean) => {
      const transaction = await producer.transaction();
      await transaction.send({ topic, messages: values.map(event) });
      await (commit ? transaction.commit() : transaction.abort());
    };
    await plain.connect();
    await transactional.connect();
    try {
      await plain.send({
        topic,
        messages: ids(0, 100).map(event),
        compression: CompressionTypes.GZIP,
      });
      await inTransaction(transactional, ids(100, 150), false);
      await inTransaction(transactional, ids(150, 200), true);
      await plain.send({ topic, messages: ids(200, 250).map(event), acks: -1 });
    } finally {
      await plain.disconnect();
      await transactional.disconnect();
    }
    const admin = kafka.admin();
    await admin.connect();
    const [{ high }] = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();

    const sink = `${database}_sink`;
    const db = await connectMysql();
    const cdc = new CdcProcess(
      streamArgs("items", sink, "--database", database, "--flush-ms", "100"),
    );
    try {
      // every offset, the two transaction markers included, is behind the stored position
      let stored = "none";
      await waitFor(`the stored position at ${high}`, async () => {
        const rows = await query<{ next: string }>(
          db,
          `SELECT next_offset AS next FROM \`${sink}\`.__cdc_offsets WHERE topic = ?`,
          [topic],
        ).catch(() => []);
        stored = rows.length ? String(rows[0].next) : "none";
        return stored === high;
      }, 30_000).catch((error) => {
        throw new Error(`${error.message} (stored: ${stored})\n${cdc.stderr}`);
      });
      const written = await query<{ id: number }>(
        db,
        `SELECT id FROM \`${sink}\`.items_cdc ORDER BY __offset`,
      );
      assert.deepEqual(
        written.map((r) => r.id),
        [...ids(0, 100), ...ids(150, 250)],
        "the gzip batch, the committed transaction and the last batch; not the aborted one",
      );
    } finally {
      await cdc.stop();
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
    }
  },
});
