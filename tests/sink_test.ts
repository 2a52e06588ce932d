/**
 * The MySQL sink against the stack's MariaDB: table creation and evolution,
 * one transaction per batch with its positions, replays that change nothing;
 * the same with LOAD DATA LOCAL INFILE and with INSERTs.
 */
import assert from "node:assert/strict";
import { BatchBuffer, type SinkBatch } from "../lib/sink/batch.ts";
import { targetOf } from "../lib/sink/testing.ts";
import { type ColumnDef, IncompatibleSchemaChangeError } from "../lib/mysql/dialect.ts";
import { HISTORY } from "../lib/sink/modes/history.ts";
import { MIRROR } from "../lib/sink/modes/mirror.ts";
import { MysqlSink } from "../lib/sink/mysql_sink.ts";
import type { SqlValue } from "../lib/mysql/values.ts";
import { connectMysql, query, STACK, uniqueSuffix } from "./helpers.ts";

const META = ["__op", "__ts", "__source_ts", "__source_pos", "__partition", "__offset"];

const ID_NAME: ColumnDef[] = [
  { name: "id", type: { name: "INT" }, nullable: false },
  { name: "name", type: { name: "VARCHAR", length: 10 }, nullable: true },
];

/** A history sink into `database` for group "g" (`bulkLoad` false: INSERTs only). */
function historySink(database: string, bulkLoad = true): MysqlSink {
  return new MysqlSink({
    ...STACK.mysql,
    database,
    mode: HISTORY,
    groupId: "g",
    offsetsTable: "__cdc_offsets",
    deadLetterTable: "__cdc_dead_letter",
    retryTimeoutMs: 10_000,
    bulkLoad,
  });
}

/**
 * `rows` of t_cdc (source `columns`, then META) as the stream buffers them for `sink`: as LOAD
 * DATA text where it bulk-loads. The batch ends at partition 0's offset `next`.
 */
function batchFor(
  sink: MysqlSink,
  columns: readonly ColumnDef[],
  rows: SqlValue[][],
  next: number,
): SinkBatch {
  const target = targetOf("t_cdc", "topic", columns, [], sink.bulkLoad);
  const buffer = new BatchBuffer();
  for (const row of rows) buffer.addRow(target, row);
  buffer.advance("topic", 0, next);
  return buffer.drain();
}

/** The server's count of `counter` (a global status variable) so far. */
async function statusCount(
  db: Awaited<ReturnType<typeof connectMysql>>,
  counter: string,
): Promise<number> {
  const [row] = await query<{ Value: string }>(db, "SHOW GLOBAL STATUS LIKE ?", [counter]);
  return Number(row.Value);
}

/** The server's count of LOAD DATA statements so far. */
function loadStatements(db: Awaited<ReturnType<typeof connectMysql>>): Promise<number> {
  return statusCount(db, "Com_load");
}

for (const bulkLoad of [true, false]) {
  Deno.test({
    name: `sink: creates, evolves, writes batches with positions, ignores replays (${
      bulkLoad ? "LOAD DATA" : "INSERT"
    })`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const database = `cdc_sink_${uniqueSuffix()}`;
      const sink = historySink(database, bulkLoad);
      const db = await connectMysql();
      const loadsBefore = await loadStatements(db);
      const columns = () =>
        query<{ name: string; type: string }>(
          db,
          `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't_cdc' ORDER BY ORDINAL_POSITION`,
          [database],
        );
      try {
        await sink.open(10_000);
        await t.step("create on first sight", async () => {
          await sink.ensureTable("t_cdc", ID_NAME, []);
          assert.deepEqual((await columns()).map((c) => c.name), ["id", "name", ...META]);
        });
        await t.step(
          "write a batch and its positions in one transaction; a replay changes nothing",
          async () => {
            const batch = (next = 12) =>
              batchFor(sink, ID_NAME, [
                [1, "añb😀", "c", "2024-01-01 00:00:00.000", null, "f:1:0", 0, 10],
                [1, null, "d", "2024-01-01 00:00:01.000", null, "f:2:0", 0, 11],
              ], next);
            await sink.write(batch());
            await sink.write(batch()); // as after a crash between the MySQL and Kafka commits
            const rows = await query<{ name: string | null; __op: string }>(
              db,
              `SELECT name, __op FROM \`${database}\`.t_cdc ORDER BY __offset`,
            );
            assert.deepEqual(rows.map((r) => [r.__op, r.name]), [["c", "añb😀"], ["d", null]]);
            assert.deepEqual([...(await sink.storedPositions(["topic"])).get("topic")!], [[0, 12]]);
            // a late batch of an earlier owner of the partition: its rows are no-ops, and the
            // stored position does not move back
            await sink.write(batch(11));
            assert.deepEqual([...(await sink.storedPositions(["topic"])).get("topic")!], [[0, 12]]);
            assert.equal(
              await loadStatements(db) > loadsBefore,
              bulkLoad,
              "written with LOAD DATA exactly when asked",
            );
          },
        );
        await t.step("a value too long for its column is an error, not a truncation", async () => {
          await assert.rejects(
            sink.write(
              batchFor(sink, ID_NAME, [[2, "x".repeat(11), "c", null, null, null, 0, 13]], 14),
            ),
            // a strict-mode INSERT fails; LOAD DATA turns it into a warning, which fails the batch
            bulkLoad ? /loading 1 rows into .*Data truncated for column 'name'/ : /Data too long/,
          );
          assert.deepEqual(
            [...(await sink.storedPositions(["topic"])).get("topic")!],
            [[0, 12]],
            "position unchanged",
          );
        });
        await t.step(
          "evolve: add a column after its predecessor, widen, keep the dropped one",
          async () => {
            await sink.ensureTable("t_cdc", [
              { name: "id", type: { name: "BIGINT" }, nullable: true },
              { name: "email", type: { name: "VARCHAR", length: 50 }, nullable: true },
              { name: "name", type: { name: "VARCHAR", length: 20 }, nullable: true },
            ], []);
            const now = await columns();
            assert.deepEqual(now.map((c) => c.name), ["id", "email", "name", ...META]);
            assert.match(now[0].type, /^bigint/);
            assert.equal(now[2].type, "varchar(20)");
            await sink.ensureTable("t_cdc", [{
              name: "id",
              type: { name: "BIGINT" },
              nullable: true,
            }], []);
            assert.equal(
              (await columns()).length,
              3 + META.length,
              "a removed field's column stays",
            );
          },
        );
        await t.step(
          "an incompatible change stops with table, column, old and new type",
          async () => {
            await assert.rejects(
              sink.ensureTable(
                "t_cdc",
                [{ name: "id", type: { name: "DATE" }, nullable: true }],
                [],
              ),
              (e: unknown) =>
                e instanceof IncompatibleSchemaChangeError && e.column === "id" &&
                /^BIGINT/.test(e.oldType) &&
                e.newType === "DATE" && e.message.includes(`\`${database}\`.\`t_cdc\``),
            );
          },
        );
      } finally {
        await sink.close();
        await db.query(`DROP DATABASE IF EXISTS \`${database}\``);
        await db.end();
      }
    },
  });
}

Deno.test({
  name:
    "sink: a refusal of LOCAL INFILE stops the batch, saying so; INSERTs when refused at connect",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const database = `cdc_sink_${uniqueSuffix()}`;
    const db = await connectMysql();
    const columns: ColumnDef[] = [{ name: "id", type: { name: "INT" }, nullable: false }];
    const row = (id: number): SqlValue[] => [id, "c", null, null, null, 0, id];
    const opened = historySink(database);
    const refusedAtConnect = historySink(database);
    try {
      await opened.open(10_000);
      await opened.ensureTable("t_cdc", columns, []);
      assert.equal(opened.bulkLoad, "ignore");
      const buffered = batchFor(opened, columns, [row(1)], 2);
      await db.query("SET GLOBAL local_infile = 0");
      // connected while it was allowed, rows buffered as LOAD DATA text: the batch fails
      await assert.rejects(
        opened.write(buffered),
        /the server refuses LOAD DATA LOCAL INFILE into `[^`]+`.`t_cdc` .*rolled back\. Restart/,
      );
      assert.equal((await opened.storedPositions(["topic"])).size, 0, "nothing stored");
      // connected while it is off: INSERTs from the start
      await refusedAtConnect.open(10_000);
      assert.equal(refusedAtConnect.bulkLoad, undefined);
      await refusedAtConnect.ensureTable("t_cdc", columns, []);
      await refusedAtConnect.write(batchFor(refusedAtConnect, columns, [row(1), row(2)], 3));
      assert.deepEqual(
        (await query<{ id: number }>(db, `SELECT id FROM \`${database}\`.t_cdc ORDER BY id`))
          .map((r) => r.id),
        [1, 2],
      );
      assert.deepEqual(
        [...(await refusedAtConnect.storedPositions(["topic"])).get("topic")!],
        [[0, 3]],
      );
    } finally {
      await db.query("SET GLOBAL local_infile = DEFAULT");
      await opened.close();
      await refusedAtConnect.close();
      await db.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await db.end();
    }
  },
});

/** A mirror sink into `database` for group "g", keyed by `id`. */
function mirrorSink(database: string): MysqlSink {
  return new MysqlSink({
    ...STACK.mysql,
    database,
    mode: MIRROR,
    groupId: "g",
    offsetsTable: "__cdc_offsets",
    deadLetterTable: "__cdc_dead_letter",
    retryTimeoutMs: 10_000,
  });
}

Deno.test({
  name: "sink: a mirror's late batch after another process wrote is fenced (LOAD DATA paths)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const database = `cdc_sink_${uniqueSuffix()}`;
    const [a, b] = [mirrorSink(database), mirrorSink(database)];
    const db = await connectMysql();
    // change `op` of key `id` to `name` at partition 0's `offset`
    const row = (op: string, id: number, name: string, offset: number): SqlValue[] => [
      id,
      name,
      op,
      null,
      "2026-01-01 00:00:00.000",
      null,
      0,
      offset,
    ];
    const batch = (sink: MysqlSink, rows: SqlValue[][], next: number): SinkBatch => {
      const target = targetOf("t_mirror", "topic", ID_NAME, ["id"], sink.bulkLoad);
      const buffer = new BatchBuffer();
      for (const r of rows) buffer.addRow(target, r);
      buffer.advance("topic", 0, next);
      return buffer.drain();
    };
    const mirror = async () =>
      (await query<{ id: number; name: string; o: string }>(
        db,
        `SELECT id, name, __offset AS o FROM \`${database}\`.t_mirror ORDER BY id`,
      )).map((r) => ({ ...r, o: Number(r.o) }));
    try {
      for (const sink of [a, b]) {
        await sink.open(10_000);
        await sink.ensureTable("t_mirror", ID_NAME, ["id"]);
      }
      assert.equal(a.bulkLoad, "replace", "mirror rows go as LOAD DATA text");
      // a's first batch: nothing stored yet
      await a.write(batch(a, [row("c", 1, "a0", 0), row("c", 2, "a1", 1)], 2));
      // a again: its own position is the stored one (LOAD DATA REPLACE straight into the table)
      await a.write(batch(a, [row("u", 1, "a2", 2)], 3));
      // b takes the partition over from the group's offset (behind the sink) and goes on
      await b.write(
        batch(b, [row("u", 1, "a2", 2), row("u", 2, "b3", 3), row("c", 3, "b4", 4)], 5),
      );
      assert.deepEqual(await mirror(), [
        { id: 1, name: "a2", o: 2 },
        { id: 2, name: "b3", o: 3 },
        { id: 3, name: "b4", o: 4 },
      ]);
      // a, not told yet, writes a late batch: its assumption (the stored position is its own)
      // fails, that attempt is rolled back, the batch is fenced, and only what comes after b's
      // position applies
      const rollbacks = await statusCount(db, "Com_rollback");
      await a.write(
        batch(a, [row("u", 2, "late", 3), row("d", 3, "b4", 4), row("u", 1, "a5", 5)], 6),
      );
      assert.deepEqual(await mirror(), [
        { id: 1, name: "a5", o: 5 },
        { id: 2, name: "b3", o: 3 },
        { id: 3, name: "b4", o: 4 },
      ]);
      assert.ok(await statusCount(db, "Com_rollback") > rollbacks, "the first attempt rolled back");
      assert.deepEqual([...(await a.storedPositions(["topic"])).get("topic")!], [[0, 6]]);
    } finally {
      await a.close();
      await b.close();
      await db.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await db.end();
    }
  },
});
