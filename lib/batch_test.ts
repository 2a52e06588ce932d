import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { BatchBuffer, rowCount, rowTarget } from "./batch.ts";

Deno.test("BatchBuffer groups rows by table and column list and drains positions with them", () => {
  const buffer = new BatchBuffer();
  assert.equal(buffer.pending, false);
  const target = (columnNames: string[]) => ({
    table: "a_cdc",
    topic: "t",
    columnNames,
    keyColumns: [],
  });
  const narrow = target(["x", "__op"]), wide = target(["x", "y", "__op"]);
  buffer.addRow(narrow, [1, "c"]);
  buffer.addRow(narrow, [2, "u"]);
  buffer.addRow(wide, [3, 4, "c"]);
  buffer.advance("t", 0, 3);
  buffer.advance("t", 0, 5);
  assert.equal(buffer.size, 3);
  const batch = buffer.drain();
  assert.equal(batch.tables.length, 2);
  assert.deepEqual(batch.tables[0].rows, [[1, "c"], [2, "u"]]);
  assert.deepEqual([...batch.positions.get("t")!], [[0, 5]]);
  assert.equal(buffer.pending, false);
  assert.equal(buffer.size, 0);
});

Deno.test("BatchBuffer is pending with only a position (tombstones, skips still advance)", () => {
  const buffer = new BatchBuffer();
  buffer.advance("t", 1, 10);
  assert.equal(buffer.pending, true);
  assert.equal(buffer.size, 0);
});

Deno.test("BatchBuffer keeps a bulk-loaded target's rows as LOAD DATA text, others as values", () => {
  const columns = [{ name: "id", type: { name: "INT" as const }, nullable: false }];
  const loaded = rowTarget("a_cdc", "a", columns, ["id", "__op"], [], "ignore");
  const plain = rowTarget("b_cdc", "b", columns, ["id", "__op"], [], undefined);
  assert.deepEqual(loaded.loadData, { kinds: ["plain", "text"], duplicates: "ignore" });
  assert.equal(plain.loadData, undefined);
  const buffer = new BatchBuffer();
  buffer.addRow(loaded, [1, "c"]);
  buffer.addRow(plain, [2, "c"]);
  buffer.addRow(loaded, [3, "d"]);
  const [a, b] = buffer.drain().tables;
  assert.deepEqual(a.rows, []);
  assert.equal(Buffer.concat(a.text!.chunks()).toString(), "1\tc\n3\td\n");
  assert.equal(rowCount(a), 2);
  assert.deepEqual(b.rows, [[2, "c"]]);
  assert.equal(b.text, undefined);
  assert.equal(rowCount(b), 1);
});
