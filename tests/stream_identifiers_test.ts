/**
 * Names that need quoting (reserved words, spaces, backticks) and values that
 * look like SQL round-trip through real Debezium without errors or injection.
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
import { waitFor } from "../lib/util/retry.ts";

Deno.test({
  name: "stream: reserved words, spaces and backticks in names, SQL in values",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const suffix = uniqueSuffix();
    const table = `select_${suffix}`;
    const sink = `cdc ids ${suffix}`; // a space in the sink database's name
    const template = "{table} `history`"; // a space and backticks in the _cdc table's name
    const cdcTable = `${table} \`history\``;
    const db = await connectMysql();
    await db.query(
      `CREATE TABLE inventory.\`${table}\` (
         \`id\` INT PRIMARY KEY, \`from\` VARCHAR(40), \`order\` INT, \`key\` ENUM('a', 'it''s', 'x\\\\y')
       )`,
    );
    const evil = "'); DROP TABLE inventory.customers; --";
    const cdc = new CdcProcess(
      streamArgs(table, sink, "--table-template", template, "--flush-ms", "100"),
    ); // deno-fmt-ignore
    try {
      await db.query(`INSERT INTO inventory.\`${table}\` VALUES (1, ?, 7, 'it''s')`, [evil]);
      await db.query(`UPDATE inventory.\`${table}\` SET \`key\` = 'x\\\\y' WHERE id = 1`);
      const quoted = "`" + sink + "`.`" + cdcTable.replaceAll("`", "``") + "`";
      await waitFor("both changes in the history table", async () =>
        (await query(db, `SELECT 1 FROM ${quoted}`).catch(() => [])).length === 2, 90_000); // deno-fmt-ignore
      const rows = await query<Record<string, string>>(db, `SELECT \`from\`, \`order\`, \`key\`, __op FROM ${quoted} ORDER BY __offset`);
      assert.deepEqual(rows.map((r) => [r.__op, r.from, Number(r.order), r.key]), [
        ["c", evil, 7, "it's"],
        ["u", evil, 7, "x\\y"],
      ]);
      const [{ n }] = await query<{ n: string }>(db, "SELECT COUNT(*) AS n FROM inventory.customers");
      assert.ok(Number(n) > 0, "inventory.customers is still there");
    } finally {
      const status = await cdc.stop("SIGTERM");
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.query(`DROP TABLE IF EXISTS inventory.\`${table}\``);
      await db.end();
      assert.equal(status.code, 0, cdc.stderr);
    }
  },
});
