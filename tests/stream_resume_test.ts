/**
 * Where a stream resumes (issue 12): the rebuild case. A table is streamed with
 * group G into sink database X until caught up; X is dropped; the stream starts
 * again with G. By default every record still in Kafka lands in the new `_cdc`
 * table, and the log says why; `--start-from group` resumes at G's offsets.
 */
import assert from "node:assert/strict";
import { kafkaClient } from "../lib/kafka/client.ts";
import {
  CdcProcess,
  connectMysql,
  ensureInventoryConnector,
  query,
  STACK,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";
import { waitFor } from "../lib/util/retry.ts";

/** A source table of its own, streamed into a sink database that also names the group. */
async function resumeFixture(name: string) {
  await ensureInventoryConnector();
  const suffix = uniqueSuffix();
  const table = `${name}_${suffix}`;
  const sink = `cdc_${name}_${suffix}`; // also the group id (streamArgs)
  const topic = `dbserver1.inventory.${table}`;
  const db = await connectMysql();
  await db.query(`CREATE TABLE inventory.\`${table}\` (id INT PRIMARY KEY)`);
  let inserted = 0;
  return {
    table,
    sink,
    topic,
    db,
    /** Inserts `n` rows with the next ids (1, 2, ...): Debezium gives them offsets 0, 1, ... */
    async insert(n: number) {
      const rows = Array.from({ length: n }, (_, i) => [inserted + i + 1]);
      await db.query(`INSERT INTO inventory.\`${table}\` (id) VALUES ?`, [rows]);
      inserted += n;
    },
    /** The ids in the `_cdc` table. */
    async ids() {
      return (await query<{ id: number }>(
        db,
        `SELECT id FROM \`${sink}\`.\`${table}_cdc\` ORDER BY id`,
      )).map((r) => Number(r.id));
    },
    /** Streams until `rows` rows are in `_cdc`, stops (exit 0 asserted), returns the log. */
    async stream(rows: number, ...extra: string[]) {
      const cdc = new CdcProcess(streamArgs(table, sink, "--flush-ms", "100", ...extra));
      try {
        await cdc.waitForRows(db, sink, `${table}_cdc`, rows, 90_000);
      } finally {
        const status = await cdc.stop();
        assert.equal(status.code, 0, cdc.stderr);
      }
      return cdc.stderr;
    },
    async cleanup() {
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.query(`DROP TABLE IF EXISTS inventory.\`${table}\``);
      await db.end();
    },
  };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

Deno.test({
  name:
    "an emptied sink with a used group: the default re-reads history, --start-from group skips it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { topic, sink, db, insert, ids, stream, cleanup } = await resumeFixture("resume");
    try {
      await insert(20);
      const first = await stream(20);
      assert.match(
        first,
        new RegExp(
          `resuming ${topic}\\[0\\] from offset 0 \\(no position stored in the sink, ` +
            `no offset committed by group ${sink}\\)`,
        ),
      );

      // The rebuild: the sink goes, the group stays, and changes go on while no stream runs.
      await db.query(`DROP DATABASE \`${sink}\``);
      await insert(10);
      const rebuilt = await stream(30);
      assert.match(
        rebuilt,
        /WRN.*holds no stored positions, but the consumer group has committed offsets for 1 partition/,
      );
      assert.match(
        rebuilt,
        new RegExp(
          `WRN.*resuming ${topic}\\[0\\] from offset 0 \\(no position stored in the sink\\): ` +
            `group ${sink} has committed offset 20, so the sink was emptied`,
        ),
      );
      assert.deepEqual(await ids(), range(1, 30), "all history still in Kafka is in the new _cdc");

      // Opting into the group's offsets: only what came after them.
      await db.query(`DROP DATABASE \`${sink}\``);
      await insert(5);
      const fromGroup = await stream(5, "--start-from", "group");
      assert.match(
        fromGroup,
        new RegExp(
          `INF.*resuming ${topic}\\[0\\] from offset 30 \\(no position stored in the sink; ` +
            `offset committed by group ${sink}, --start-from group\\)`,
        ),
      );
      assert.deepEqual(await ids(), range(31, 35));

      // A restart with the sink intact resumes from its stored position.
      await insert(1);
      const restarted = await stream(6);
      assert.match(
        restarted,
        new RegExp(`INF.*resuming ${topic}\\[0\\] from offset 35 \\(stored in the sink\\)`),
      );
      assert.deepEqual(await ids(), range(31, 36));
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "records deleted from Kafka before they were written: start at the earliest, name the gap",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { topic, insert, ids, stream, cleanup } = await resumeFixture("retention");
    const admin = kafkaClient({ brokers: [STACK.bootstrapServers] }, "cdc-test-retention").admin();
    try {
      await insert(10);
      await stream(10);
      await insert(10); // offsets 10..19, while no stream runs
      await admin.connect();
      await waitFor(
        "Debezium to write offsets 10..19",
        async () => (await admin.fetchTopicOffsets(topic))[0].high === "20",
      );
      // what retention does to old segments: the partition now starts at offset 15
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "15" }] });
      const log = await stream(15);
      assert.match(
        log,
        new RegExp(
          `WRN.*resuming ${topic}\\[0\\] from offset 15 \\(stored in the sink was 10, before ` +
            `the earliest offset\\): records 10\\.\\.14 were deleted by Kafka's retention before ` +
            `they were written: the _cdc table misses them`,
        ),
      );
      assert.deepEqual(await ids(), [...range(1, 10), ...range(16, 20)]);
    } finally {
      await admin.disconnect();
      await cleanup();
    }
  },
});
