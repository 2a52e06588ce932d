/**
 * Crash safety: while more than 20,000 changes flow through real Debezium,
 * `cdc stream` is killed with SIGKILL at five random instants and restarted;
 * afterwards `_cdc` holds every change exactly once.
 */
import assert from "node:assert/strict";
import { kafkaClient } from "../lib/kafka/client.ts";
import {
  CdcProcess,
  connectMysql,
  countRows,
  ensureInventoryConnector,
  query,
  STACK,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";
import { waitFor } from "../lib/util/retry.ts";

const INSERTS = 20_000;
const UPDATES = 2_000;
const DELETES = 1_000;
const CHANGES = INSERTS + UPDATES + DELETES;
const KILLS = 5;

Deno.test({
  name:
    "stream: kill -9 at five random instants while 23,000 changes flow loses and duplicates nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const suffix = uniqueSuffix();
    const table = `crash_${suffix}`;
    const sink = `cdc_crash_${suffix}`;
    const db = await connectMysql();
    await db.query(
      `CREATE TABLE inventory.${table} (id INT PRIMARY KEY, n INT NOT NULL, payload VARCHAR(64) NOT NULL)`,
    );
    const args = streamArgs(table, sink, "--batch-size", "500", "--flush-ms", "100"); // deno-fmt-ignore
    const cdcCount = () => countRows(db, sink, `${table}_cdc`);

    // The source changes, in statements of 250 rows, while the stream is killed and restarted.
    const writer = (async () => {
      const source = await connectMysql("inventory");
      for (let start = 1; start <= INSERTS; start += 250) {
        const rows = Array.from(
          { length: 250 },
          (_, i) => [start + i, start + i, `row ${start + i} ✓`],
        );
        await source.query(`INSERT INTO ${table} (id, n, payload) VALUES ?`, [rows]);
      }
      for (let start = 1; start <= UPDATES; start += 250) {
        await source.query(`UPDATE ${table} SET n = n + 1 WHERE id BETWEEN ? AND ?`, [
          start,
          start + 249,
        ]);
      }
      for (let start = UPDATES + 1; start <= UPDATES + DELETES; start += 250) {
        await source.query(`DELETE FROM ${table} WHERE id BETWEEN ? AND ?`, [start, start + 249]);
      }
      await source.end();
    })();

    const thresholds = Array.from(
      { length: KILLS },
      () => Math.floor(500 + Math.random() * (CHANGES * 0.9)),
    )
      .sort((a, b) => a - b);
    let cdc = new CdcProcess(args);
    const logs: string[] = [];
    try {
      for (const threshold of thresholds) {
        await waitFor(
          `${threshold} rows in ${table}_cdc`,
          async () => await cdcCount() >= threshold,
          180_000,
        );
        cdc.child.kill("SIGKILL");
        const status = await cdc.done;
        assert.equal(status.signal, "SIGKILL");
        logs.push(cdc.stderr);
        cdc = new CdcProcess(args);
      }
      await writer;
      await waitFor(
        `all ${CHANGES} changes in ${table}_cdc`,
        async () => await cdcCount() >= CHANGES,
        240_000,
      );
      // The last restart may find nothing left to write; its SIGTERM below must still reach a
      // process that has installed its handlers, or it exits 143 instead of finishing cleanly.
      await cdc.waitForLog(/streaming /);

      const byOp = await query<{ op: string; n: string }>(
        db,
        `SELECT __op AS op, COUNT(*) AS n FROM \`${sink}\`.\`${table}_cdc\` GROUP BY __op ORDER BY __op`,
      );
      assert.deepEqual(byOp.map((r) => [r.op, Number(r.n)]), [["c", INSERTS], ["d", DELETES], [
        "u",
        UPDATES,
      ]]);
      const twice = await query(
        db,
        `SELECT id, __op FROM \`${sink}\`.\`${table}_cdc\` GROUP BY id, __op HAVING COUNT(*) > 1 LIMIT 5`,
      );
      assert.deepEqual(twice, [], "no change is in _cdc twice");
      const [{ n: ids }] = await query<{ n: string }>(
        db,
        `SELECT COUNT(DISTINCT id) AS n FROM \`${sink}\`.\`${table}_cdc\` WHERE __op = 'c' AND n = id AND payload = CONCAT('row ', id, ' ✓')`,
      );
      assert.equal(Number(ids), INSERTS, "every insert is there with its values");
      const [{ n: updated }] = await query<{ n: string }>(
        db,
        `SELECT COUNT(*) AS n FROM \`${sink}\`.\`${table}_cdc\` WHERE __op = 'u' AND n = id + 1`,
      );
      assert.equal(Number(updated), UPDATES);

      // Every record of the topic is accounted for: rows plus Debezium's delete tombstones.
      const topic = `dbserver1.inventory.${table}`;
      const admin = kafkaClient({ brokers: [STACK.bootstrapServers] }).admin();
      await admin.connect();
      const [end] = await admin.fetchTopicOffsets(topic);
      await admin.disconnect();
      const [{ next }] = await query<{ next: string }>(
        db,
        `SELECT next_offset AS next FROM \`${sink}\`.__cdc_offsets WHERE group_id = ? AND topic = ?`,
        [sink, topic],
      );
      await waitFor("the stored position to reach the end of the topic", async () => {
        const [{ next }] = await query<{ next: string }>(
          db,
          `SELECT next_offset AS next FROM \`${sink}\`.__cdc_offsets WHERE group_id = ? AND topic = ?`,
          [sink, topic],
        );
        return Number(next) === Number(end.high);
      }, 30_000);
      assert.ok(Number(next) <= Number(end.high));
      assert.equal(
        Number(end.high),
        CHANGES + DELETES,
        "the topic holds the changes and one tombstone per delete",
      );
      assert.equal(logs.length, KILLS);
    } finally {
      const status = await cdc.stop("SIGTERM");
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.query(`DROP TABLE IF EXISTS inventory.${table}`);
      await db.end();
      assert.equal(status.code, 0, cdc.stderr);
    }
  },
});
