import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { BatchBuffer, rowCount } from "./batch.ts";
import { targetOf } from "./testing.ts";

Deno.test("BatchBuffer groups rows by table and column list and drains positions with them", () => {
  const buffer = new BatchBuffer();
  assert.equal(buffer.pending, false);
  const narrow = targetOf("a_cdc", "t", ["x"]), wide = targetOf("a_cdc", "t", ["x", "y"]);
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
  const loaded = targetOf("a_cdc", "a", columns, [], "ignore");
  const plain = targetOf("b_cdc", "b", columns);
  assert.deepEqual(loaded.loadData, {
    kinds: ["plain", "text", "plain", "plain", "text", "plain", "plain"],
    duplicates: "ignore",
  });
  assert.equal(plain.loadData, undefined);
  // id, then __op, __ts, __source_ts, __source_pos, __partition, __offset
  const row = (id: number, op: string) => [id, op, "2026-01-01 00:00:00.000", null, null, 0, id];
  const buffer = new BatchBuffer();
  buffer.addRow(loaded, row(1, "c"));
  buffer.addRow(plain, row(2, "c"));
  buffer.addRow(loaded, row(3, "d"));
  const [a, b] = buffer.drain().tables;
  assert.deepEqual(a.rows, []);
  assert.equal(
    Buffer.concat(a.text!.chunks()).toString(),
    "1\tc\t2026-01-01 00:00:00.000\t\\N\t\\N\t0\t1\n" +
      "3\td\t2026-01-01 00:00:00.000\t\\N\t\\N\t0\t3\n",
  );
  assert.equal(rowCount(a), 2);
  assert.deepEqual(b.rows, [row(2, "c")]);
  assert.equal(b.text, undefined);
  assert.equal(rowCount(b), 1);
});

Deno.test("BatchBuffer.absorb: another buffer's rows, lines and dead letters go after its own", () => {
  const loaded = targetOf("a_cdc", "a", ["x"], [], "ignore");
  const plain = targetOf("b_cdc", "b", ["x"]);
  const row = (x: string, offset: number) => [x, "c", null, null, null, 0, offset];
  const main = new BatchBuffer();
  const held = new BatchBuffer();
  main.addRow(loaded, row("first", 0));
  held.addRow(loaded, row("second", 1));
  held.addRow(plain, row("third", 2));
  held.addDeadLetter({
    topic: "a",
    partition: 0,
    offset: 3,
    key: null,
    value: null,
    reason: "undecodable-avro",
    error: "x",
  });
  assert.ok(held.approximateBytes > 0);
  main.absorb(held);
  assert.deepEqual([held.size, held.approximateBytes], [0, 0], "the other buffer is emptied");
  assert.equal(main.size, 4);
  const batch = main.drain();
  const lines = Buffer.concat(batch.tables[0].text!.chunks()).toString().split("\n");
  assert.deepEqual(lines.map((l) => l.split("\t")[0]), ["first", "second", ""]);
  assert.deepEqual(batch.tables[1].rows, [row("third", 2)]);
  assert.equal(batch.deadLetters.length, 1);
  assert.equal(batch.positions.size, 0, "positions are the caller's to set");
});

Deno.test("BatchBuffer.absorb: up to a mark, in steps, the rest staying behind in order", () => {
  // --transactions keeps each partition's held rows in one buffer and moves a transaction's
  // rows out when it is applied: a mark taken between two transactions splits them
  const loaded = targetOf("a_cdc", "a", ["x"], [], "replace");
  const plain = targetOf("b_cdc", "b", ["x"]);
  const row = (x: string, op: string) => [x, op, null, null, null, 0, 0];
  const held = new BatchBuffer();
  const main = new BatchBuffer();
  const marks = [];
  let n = 0;
  for (let tx = 0; tx < 3_000; tx++) {
    held.addRow(loaded, row(`a${n++}`, tx % 2 ? "d" : "c"));
    held.addRow(plain, row(`b${n++}`, "c"));
    if (tx === 1) {
      held.addDeadLetter({
        topic: "a",
        partition: 0,
        offset: tx,
        key: null,
        value: null,
        reason: "undecodable-avro",
        error: "x",
      });
    }
    marks.push(held.mark());
  }
  held.addRow(loaded, row("after", "c"));
  const texts: string[] = [];
  const values: unknown[] = [];
  const letters: number[] = [];
  for (const [i, mark] of marks.entries()) {
    main.absorb(held, mark);
    assert.equal(main.size, i === 1 ? 3 : 2, `transaction ${i}`);
    const batch = main.drain();
    const text = batch.tables.find((t) => t.text)!.text!;
    assert.deepEqual([text.rows, text.tagged("d")], [1, i % 2], `transaction ${i}'s tags`);
    texts.push(Buffer.concat(text.chunks()).toString());
    values.push(...batch.tables.find((t) => !t.text)!.rows.map((r) => r[0]));
    letters.push(batch.deadLetters.length);
  }
  assert.deepEqual(texts.slice(0, 2), [
    "a0\tc\t\\N\t\\N\t\\N\t0\t0\n",
    "a2\td\t\\N\t\\N\t\\N\t0\t0\n",
  ]);
  assert.equal(texts.join("").split("\n").length, 3_001);
  assert.deepEqual(values, Array.from({ length: 3_000 }, (_, i) => `b${2 * i + 1}`));
  assert.deepEqual(letters.filter((l) => l > 0), [1]);
  assert.equal(held.size, 1, "what came after the last mark stays");
  main.absorb(held);
  assert.equal(
    Buffer.concat(main.drain().tables[0].text!.chunks()).toString().split("\t")[0],
    "after",
  );
});

Deno.test("BatchBuffer: a quiet position rides with the next batch, and is none on its own", () => {
  const buffer = new BatchBuffer();
  buffer.advance("markers", 0, 7, true);
  assert.equal(buffer.pending, false);
  buffer.advance("t", 0, 3);
  assert.deepEqual([...buffer.drain().positions.keys()], ["markers", "t"]);
});
