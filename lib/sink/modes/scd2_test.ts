import assert from "node:assert/strict";
import { change, CHANGE_COLUMNS, CHANGE_LAYOUT } from "../testing.ts";
import { SCD2 } from "./scd2.ts";

const COLUMNS = CHANGE_COLUMNS;
const layout = CHANGE_LAYOUT;

Deno.test("SCD2 truncate closes every open version and is kept as a row", async () => {
  const statements: { sql: string; values?: unknown[] }[] = [];
  await SCD2.write(
    (sql, values) => (statements.push({ sql, values }), Promise.resolve([])),
    {
      database: "db",
      maxStatementLength: 1 << 20,
      load: () => Promise.reject(new Error("none")),
      stage: () => "none",
    },
    {
      table: "t_scd2",
      topic: "p.db.t",
      columnNames: COLUMNS,
      keyColumns: ["id"],
      layout,
      rows: [change("c", 1, "a", "01"), change("t", null, null, "02")],
    },
  );
  const sql = statements.map((s) => s.sql);
  assert.match(
    sql[0],
    /^SELECT c\.i AS i, .* JOIN \(SELECT 0 AS i, 1 AS k0\) c ON t\.`id` = c\.k0/s,
  );
  assert.match(
    sql[1],
    /^INSERT INTO `db`\.`t_scd2` \(`id`, `v`, `__valid_from`, `__valid_to`, `__current`, `__deleted`, `__op`/,
  );
  assert.match(sql[2], /^UPDATE `db`\.`t_scd2` SET `__valid_to` = GREATEST/);
  assert.deepEqual(statements[2].values, ["2026-01-01 00:00:02.000"]);
  assert.match(
    sql[3],
    /VALUES \(NULL, NULL, '2026-01-01 00:00:02\.000', '2026-01-01 00:00:02\.000', 0, 1, 't'/,
  );
});

Deno.test("SCD2 table: keyed by the Kafka position, indexed by the source key", () => {
  const ddl = SCD2.createTableDdl(
    "db",
    "t_scd2",
    SCD2.sourceColumns([{ name: "id", type: { name: "INT" }, nullable: false }], ["id"]),
    ["id"],
  );
  assert.match(
    ddl,
    /`id` INT NULL,\n {2}`__valid_from` DATETIME\(3\) NOT NULL,\n {2}`__valid_to` DATETIME\(3\) NULL/,
  );
  assert.match(
    ddl,
    /PRIMARY KEY \(`__partition`, `__offset`\),\n {2}KEY `__cdc_key` \(`id`, `__current`\)\n\) ENGINE/,
  );
});
