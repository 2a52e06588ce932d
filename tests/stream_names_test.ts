/**
 * Column names that are not legal Avro names (`big u`, `line no`, `a.b`, `Ünï`) reach
 * `_cdc` under their source names, with their exact source types, through real Debezium,
 * in the snapshot, from the binlog, after ADD COLUMN and across a restart.
 */
import assert from "node:assert/strict";
import { capturedStreamArgs, query } from "./helpers.ts";
import { Scratch } from "./fixtures/scratch.ts";

const MAX_U64 = "18446744073709551615";

Deno.test({
  name: "stream: columns keep their source names and exact types when Avro needs other names",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using scratch = await Scratch.open("names");
    const db = scratch.db;
    const source = await scratch.database();
    const sink = scratch.name("sink");
    const args = capturedStreamArgs("t", source, sink);
    await db.query(
      `CREATE TABLE ${source}.t (
         id INT PRIMARY KEY, \`big u\` BIGINT UNSIGNED, bigu BIGINT UNSIGNED,
         \`line no\` VARCHAR(10), \`a.b\` DECIMAL(5,2), \`Ünï\` VARCHAR(5)
       )`,
    );
    const insert = (id: number) =>
      db.query(
        `INSERT INTO ${source}.t VALUES (?, ${MAX_U64}, ${MAX_U64}, 'line 1', 999.99, 'ÿ😀')`,
        [id],
      );
    await insert(1); // read by the snapshot
    await scratch.capture(source);
    let cdc = scratch.stream(args);
    await cdc.waitForRows(db, sink, "t_cdc", 1, 90_000);
    await insert(2); // from the binlog
    await db.query(`UPDATE ${source}.t SET \`line no\` = 'line 2', \`big u\` = 1 WHERE id = 1`);
    await cdc.waitForRows(db, sink, "t_cdc", 3);

    const columns = await query<{ name: string; type: string }>(
      db,
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't_cdc' AND COLUMN_NAME NOT LIKE '\\_\\_%'
        ORDER BY ORDINAL_POSITION`,
      [sink],
    );
    assert.deepEqual(columns.map((c) => [c.name, c.type]), [
      ["id", "int(11)"],
      ["big u", "bigint(20) unsigned"],
      ["bigu", "bigint(20) unsigned"],
      ["line no", "varchar(10)"],
      ["a.b", "decimal(5,2)"],
      ["Ünï", "varchar(5)"],
    ]);
    // the latest change of each key equals the source row, compared on the server
    const equal = (s: string, c: string) =>
      ["id", "big u", "bigu", "line no", "a.b", "Ünï"]
        .map((n) => `${s}.\`${n}\` <=> ${c}.\`${n}\``).join(" AND ");
    const latest = `SELECT * FROM ${sink}.t_cdc c WHERE c.__offset =
      (SELECT MAX(__offset) FROM ${sink}.t_cdc l WHERE l.id = c.id)`;
    const [{ n }] = await query<{ n: string }>(
      db,
      `SELECT COUNT(*) AS n FROM ${source}.t s JOIN (${latest}) c ON ${equal("s", "c")}`,
    );
    assert.equal(Number(n), 2, "both rows equal the source");

    // ADD COLUMN with an awkward name, then a restart: the stream matches on source names
    await db.query(`ALTER TABLE ${source}.t ADD COLUMN \`new col\` VARCHAR(3)`);
    await db.query(`INSERT INTO ${source}.t (id, \`new col\`) VALUES (3, 'abc')`);
    await cdc.waitForRows(db, sink, "t_cdc", 4);
    assert.equal((await cdc.stop()).code, 0, cdc.stderr);
    cdc = scratch.stream(args);
    await db.query(
      `INSERT INTO ${source}.t (id, \`line no\`, \`new col\`) VALUES (4, 'x', 'def')`,
    );
    await cdc.waitForRows(db, sink, "t_cdc", 5);
    const added = await query<{ id: number; v: string; t: string }>(
      db,
      `SELECT c.id, c.\`new col\` AS v, (SELECT COLUMN_TYPE FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't_cdc' AND COLUMN_NAME = 'new col') AS t
       FROM ${sink}.t_cdc c WHERE c.id >= 3 ORDER BY c.id`,
      [sink],
    );
    assert.deepEqual(added.map((r) => [r.id, r.v, r.t]), [[3, "abc", "varchar(3)"], [
      4,
      "def",
      "varchar(3)",
    ]]);
    assert.doesNotMatch(cdc.stderr, /schema change/, "nothing to change after the restart");
  },
});
