import assert from "node:assert/strict";
import { change, CHANGE_COLUMNS, CHANGE_LAYOUT } from "../testing.ts";
import { fenceCondition, lastChangePerKey, MIRROR } from "./mirror.ts";
import { segmentsAtTruncates } from "./mode.ts";

const COLUMNS = CHANGE_COLUMNS;
const layout = CHANGE_LAYOUT;

Deno.test("lastChangePerKey: only each key's last change counts, as if applied one by one", () => {
  const rows = [
    change("c", 1, "a"),
    change("u", 1, "b"),
    change("c", 2, "x"),
    change("d", 2, "x"),
    change("d", 3, "old key"), // a primary-key change: delete of the old key...
    change("c", 4, "new key"), // ...then create of the new one
    change("c", 2, "again"),
  ];
  const { upserts, deletes } = lastChangePerKey(rows, layout);
  assert.deepEqual(upserts.map((r) => [r[0], r[1]]), [[1, "b"], [4, "new key"], [2, "again"]]);
  assert.deepEqual(deletes, [[3]]);
});

Deno.test("segmentsAtTruncates: a truncate ends the changes before it", () => {
  const rows = [change("c", 1), change("t", null), change("c", 2), change("t", null)];
  const segments = segmentsAtTruncates(rows, layout);
  assert.deepEqual(segments.map((s) => [s.rows.map((r) => r[0]), s.truncate?.[2]]), [
    [[1], "t"],
    [[2], "t"],
  ]);
});

Deno.test("MIRROR writes deletes, upserts and truncates in order, inside the transaction", async () => {
  const statements: string[] = [];
  await MIRROR.write(
    (sql) => (statements.push(sql), Promise.resolve([])),
    {
      database: "db",
      maxStatementLength: 1 << 20,
      load: () => Promise.reject(new Error("none")),
      stage: () => "none",
    },
    {
      table: "t_mirror",
      topic: "p.db.t",
      columnNames: COLUMNS,
      keyColumns: ["id"],
      layout,
      rows: [change("c", 1, "a"), change("d", 2), change("t", null), change("c", 3, "it's")],
    },
  );
  assert.equal(statements.length, 4);
  assert.match(statements[0], /^DELETE FROM `db`\.`t_mirror` WHERE \(`id`\) IN \(\(2\)\)$/);
  assert.match(statements[1], /^INSERT INTO `db`\.`t_mirror` .* VALUES \(1, 'a', 'c',/);
  assert.match(
    statements[1],
    /ON DUPLICATE KEY UPDATE `v` = VALUES\(`v`\), `__op` = VALUES\(`__op`\)/,
  );
  assert.doesNotMatch(statements[1], /`id` = VALUES/);
  assert.equal(statements[2], "DELETE FROM `db`.`t_mirror`", "no TRUNCATE: it would commit");
  assert.match(statements[3], /VALUES \(3, 'it\\'s', 'c',/);
});

Deno.test("MIRROR: the key columns are NOT NULL and the primary key", () => {
  const columns = MIRROR.sourceColumns([
    { name: "a", type: { name: "INT" }, nullable: true },
    { name: "b", type: { name: "VARCHAR", length: 5 }, nullable: true },
    { name: "c", type: { name: "TEXT" }, nullable: true },
  ], ["a", "b"]);
  const ddl = MIRROR.createTableDdl("db", "t_mirror", columns, ["a", "b"]);
  assert.match(ddl, /`a` INT NOT NULL,\n {2}`b` VARCHAR\(5\) NOT NULL,\n {2}`c` TEXT NULL/);
  assert.match(ddl, /`__offset` BIGINT NOT NULL,\n {2}PRIMARY KEY \(`a`, `b`\)/);
});

Deno.test("fenceCondition: the rows below each partition's stored next offset", () => {
  assert.equal(
    fenceCondition(new Map([[0, 35], [2, 7]])),
    "(`__partition` = 0 AND `__offset` < 35) OR (`__partition` = 2 AND `__offset` < 7)",
  );
});
