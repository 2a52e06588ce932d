import assert from "node:assert/strict";
import { change, CHANGE_COLUMNS, CHANGE_LAYOUT } from "../testing.ts";
import type { SqlValue } from "../../mysql/values.ts";
import { SCD2, versionChanges } from "./scd2.ts";

const COLUMNS = CHANGE_COLUMNS;
const layout = CHANGE_LAYOUT;
const SOURCE_WIDTH = 2;
/** [id, v, valid_from second, valid_to second, current, deleted, op] of each new row. */
const shape = (rows: SqlValue[][]) =>
  rows.map((r) => [
    r[0],
    r[1],
    String(r[2]).slice(17, 19),
    r[3] === null ? null : String(r[3]).slice(17, 19),
    r[4],
    r[5],
    r[6],
  ]);

Deno.test("versionChanges: updates close the open version; deletes close it and are kept", () => {
  const { inserts, closes } = versionChanges(
    [
      change("c", 1, "a", "01"),
      change("u", 1, "b", "05"),
      change("d", 1, "b", "09"),
      change("c", 1, "again", "12"),
    ],
    layout,
    SOURCE_WIDTH,
    new Map(),
  );
  assert.deepEqual(shape(inserts), [
    [1, "a", "01", "05", 0, 0, "c"],
    [1, "b", "05", "09", 0, 0, "u"],
    [1, "b", "09", "09", 0, 1, "d"], // the delete: an empty interval, __deleted
    [1, "again", "12", null, 1, 0, "c"], // a re-insert opens a new version
  ]);
  assert.deepEqual(closes, []);
});

Deno.test("versionChanges: a stored open version is closed by position", () => {
  const open = new Map([["1", { partition: 0, offset: 7, validFrom: "2026-01-01 00:00:03.000" }]]);
  const { inserts, closes } = versionChanges(
    [change("u", 1, "b", "05")],
    layout,
    SOURCE_WIDTH,
    open,
  );
  assert.deepEqual(closes, [[0, 7, "2026-01-01 00:00:05.000"]]);
  assert.deepEqual(shape(inserts), [[1, "b", "05", null, 1, 0, "u"]]);
});

Deno.test("versionChanges: ties within a second, and instants that run backwards", () => {
  const open = new Map([["1", { partition: 0, offset: 7, validFrom: "2026-01-01 00:00:30.000" }]]);
  const { inserts, closes } = versionChanges(
    [
      change("u", 1, "x", "20"), // earlier than the open version: raised to it
      change("u", 1, "y", "30"),
      change("c", 2, "p", "40"),
      change("u", 2, "q", "40"), // same second: the first gets an empty interval
    ],
    layout,
    SOURCE_WIDTH,
    open,
  );
  assert.deepEqual(closes, [[0, 7, "2026-01-01 00:00:30.000"]]);
  assert.deepEqual(shape(inserts), [
    [1, "x", "30", "30", 0, 0, "u"],
    [1, "y", "30", null, 1, 0, "u"],
    [2, "p", "40", "40", 0, 0, "c"],
    [2, "q", "40", null, 1, 0, "u"],
  ]);
});

Deno.test("SCD2 truncate closes every open version and is kept as a row", async () => {
  const statements: { sql: string; values?: unknown[] }[] = [];
  await SCD2.write(
    (sql, values) => (statements.push({ sql, values }), Promise.resolve([])),
    {
      database: "db",
      maxStatementLength: 1 << 20,
      load: () => Promise.reject(new Error("none")),
      stage: () => "none",
      loadFormat: () => undefined,
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
