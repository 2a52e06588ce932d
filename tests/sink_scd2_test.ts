/**
 * scd2 against real MariaDB: versions written from LOAD DATA lines (the stream's default) are
 * the versions written from values (`--write-method insert`), row for row, through ties,
 * instants that run backwards, deletes, re-inserts, a truncate, keys with characters LOAD DATA
 * escapes, and a batch another process of the group had applied in part (the fence).
 *
 * @module
 */
import assert from "node:assert/strict";
import { BatchBuffer, type SinkBatch } from "../lib/sink/batch.ts";
import { targetOf } from "../lib/sink/testing.ts";
import type { ColumnDef } from "../lib/mysql/dialect.ts";
import { SCD2 } from "../lib/sink/modes/scd2.ts";
import { MysqlSink } from "../lib/sink/mysql_sink.ts";
import type { SqlValue } from "../lib/mysql/values.ts";
import { connectMysql, query, STACK, uniqueSuffix } from "./helpers.ts";

const COLUMNS: ColumnDef[] = [
  { name: "id", type: { name: "INT" }, nullable: false },
  { name: "k", type: { name: "VARCHAR", length: 10 }, nullable: false },
  { name: "v", type: { name: "VARCHAR", length: 10 }, nullable: true },
];
const KEY = ["id", "k"];

/** The change at each offset of partition 0: op, key (id, k), value, second of commit. */
const CHANGES: [string, number | null, string | null, string | null, string][] = [
  ["c", 1, "a\tb", "x", "01"], // 0: a key LOAD DATA escapes
  ["c", 2, "é\\", "y", "01"],
  ["u", 1, "a\tb", "x2", "02"],
  ["c", 3, "z", "w", "03"],
  ["u", 1, "a\tb", "x3", "01"], // 4: earlier than the version it replaces: raised to it
  ["d", 2, "é\\", "y", "04"],
  ["c", 2, "é\\", "again", "05"], // re-inserted after its delete
  ["u", 3, "z", "w1", "05"],
  ["t", null, null, null, "06"], // 8: every open version closed
  ["c", 4, "q", "after", "07"],
  ["u", 4, "q", "tie", "07"], // 10: the same second: the first gets an empty interval
  ["u", 3, "z", "w2", "08"], // no open version after the truncate
  ["d", 4, "q", "tie", "09"],
  ["c", 5, "n", null, "09"],
  ["u", 1, "a\tb", "x4", "10"], // 14
];

/** The row of the change at `offset`, as the stream hands it to the sink. */
function rowAt(offset: number): SqlValue[] {
  const [op, id, k, v, second] = CHANGES[offset];
  return [id, k, v, op, null, `2026-01-01 00:00:${second}.000`, null, 0, offset];
}

function scd2Sink(database: string, bulkLoad: boolean): MysqlSink {
  return new MysqlSink({
    ...STACK.mysql,
    database,
    mode: SCD2,
    groupId: "g",
    offsetsTable: "__cdc_offsets",
    deadLetterTable: "__cdc_dead_letter",
    retryTimeoutMs: 10_000,
    bulkLoad,
  });
}

/** The changes at offsets `from` up to `to` (excluded) as `sink` buffers them. */
function batch(sink: MysqlSink, from: number, to: number): SinkBatch {
  const target = targetOf("t_scd2", "topic", COLUMNS, KEY, sink.bulkLoad);
  const buffer = new BatchBuffer();
  for (let offset = from; offset < to; offset++) buffer.addRow(target, rowAt(offset));
  buffer.advance("topic", 0, to);
  return buffer.drain();
}

/**
 * Two processes of one group write the changes: `a` three batches, `b` takes over from behind
 * (replaying two changes), then `a` writes a late batch that `b` had applied in part.
 */
async function play(database: string, bulkLoad: boolean): Promise<void> {
  const [a, b] = [scd2Sink(database, bulkLoad), scd2Sink(database, bulkLoad)];
  try {
    for (const sink of [a, b]) {
      await sink.open(10_000);
      await sink.ensureTable("t_scd2", COLUMNS, KEY);
    }
    assert.equal(a.bulkLoad, bulkLoad ? "ignore" : undefined);
    await a.write(batch(a, 0, 4));
    await a.write(batch(a, 4, 8));
    await a.write(batch(a, 8, 10));
    await b.write(batch(b, 8, 13));
    await a.write(batch(a, 10, 15));
  } finally {
    await a.close();
    await b.close();
  }
}

Deno.test({
  name: "sink: scd2 from LOAD DATA lines equals scd2 from values, fenced, across a truncate",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const suffix = uniqueSuffix();
    const databases = { lines: `cdc_scd2_lines_${suffix}`, values: `cdc_scd2_values_${suffix}` };
    const db = await connectMysql();
    const versions = (database: string) =>
      query<Record<string, unknown>>(
        db,
        `SELECT * FROM \`${database}\`.t_scd2 ORDER BY __partition, __offset`,
      );
    try {
      await play(databases.lines, true);
      await play(databases.values, false);
      const lines = await versions(databases.lines);
      assert.deepEqual(lines, await versions(databases.values));
      // every change once, each key's story as the changes tell it
      assert.deepEqual(lines.map((r) => Number(r.__offset)), CHANGES.map((_, offset) => offset));
      const story = lines.map((r) => [
        r.id,
        r.v,
        String(r.__valid_from).slice(17, 19),
        r.__valid_to === null ? null : String(r.__valid_to).slice(17, 19),
        r.__current,
        r.__deleted,
      ]);
      assert.deepEqual(story, [
        [1, "x", "01", "02", 0, 0],
        [2, "y", "01", "04", 0, 0],
        [1, "x2", "02", "02", 0, 0],
        [3, "w", "03", "05", 0, 0],
        [1, "x3", "02", "06", 0, 0], // raised to 02; closed by the truncate
        [2, "y", "04", "04", 0, 1],
        [2, "again", "05", "06", 0, 0],
        [3, "w1", "05", "06", 0, 0],
        [null, null, "06", "06", 0, 1], // the truncate, kept
        [4, "after", "07", "07", 0, 0],
        [4, "tie", "07", "09", 0, 0],
        [3, "w2", "08", null, 1, 0],
        [4, "tie", "09", "09", 0, 1],
        [5, null, "09", null, 1, 0],
        [1, "x4", "10", null, 1, 0],
      ]);
      assert.deepEqual(
        lines.filter((r) => r.id === 1).map((r) => r.k),
        ["a\tb", "a\tb", "a\tb", "a\tb"],
        "the escaped key lands as it was",
      );
    } finally {
      for (const database of Object.values(databases)) {
        await db.query(`DROP DATABASE IF EXISTS \`${database}\``);
      }
      await db.end();
    }
  },
});
