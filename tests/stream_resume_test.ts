/**
 * Where a stream resumes (issue 12): the rebuild case. A table is streamed with
 * group G into sink database X until caught up; X is dropped; the stream starts
 * again with G. By default every record still in Kafka lands in the new `_cdc`
 * table, and the log says why; `--start-from group` resumes at G's offsets.
 */
import assert from "node:assert/strict";
import {
  CdcProcess,
  connectMysql,
  ensureInventoryConnector,
  query,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";

Deno.test({
  name:
    "an emptied sink with a used group: the default re-reads history, --start-from group skips it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureInventoryConnector();
    const suffix = uniqueSuffix();
    const table = `resume_${suffix}`;
    const sink = `cdc_resume_${suffix}`; // also the group id (streamArgs)
    const topic = `dbserver1.inventory.${table}`;
    const db = await connectMysql();
    let inserted = 0;
    const insert = async (n: number) => {
      const rows = Array.from({ length: n }, (_, i) => [inserted + i + 1]);
      await db.query(`INSERT INTO inventory.\`${table}\` (id) VALUES ?`, [rows]);
      inserted += n;
    };
    const ids = async () =>
      (await query<{ id: number }>(db, `SELECT id FROM \`${sink}\`.\`${table}_cdc\` ORDER BY id`))
        .map((r) => Number(r.id));
    const stream = async (rows: number, ...extra: string[]) => {
      const cdc = new CdcProcess(streamArgs(table, sink, "--flush-ms", "100", ...extra));
      try {
        await cdc.waitForRows(db, sink, `${table}_cdc`, rows, 90_000);
      } finally {
        const status = await cdc.stop();
        assert.equal(status.code, 0, cdc.stderr);
      }
      return cdc.stderr;
    };
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i);
    try {
      await db.query(`CREATE TABLE inventory.\`${table}\` (id INT PRIMARY KEY)`);
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
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.query(`DROP TABLE IF EXISTS inventory.\`${table}\``);
      await db.end();
    }
  },
});
