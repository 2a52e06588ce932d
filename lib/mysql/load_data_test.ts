import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { ColumnDef } from "./dialect.ts";
import { escapeField, loadDataFormat, loadDataStatement, LoadDataText } from "./load_data.ts";
import { GeometryValue, type SqlValue } from "./values.ts";

Deno.test("escapeField: separators, the escape character and NUL escaped; other text as is", () => {
  assert.equal(escapeField("plain ünï 😀 'quoted' \"x\""), "plain ünï 😀 'quoted' \"x\"");
  assert.equal(escapeField("a\tb\nc\rd\\e\0f"), "a\\tb\\nc\\rd\\\\e\\0f");
  // the text \N (not NULL) stays text
  assert.equal(escapeField("\\N"), "\\\\N");
  assert.equal(escapeField(""), "");
  assert.equal(escapeField("\t"), "\\t");
  assert.equal(escapeField("\\\\x\n"), "\\\\\\\\x\\n");
  assert.equal(escapeField("[]^_` \x1a"), "[]^_` \x1a", "characters around the escaped ones");
});

const column = (name: string, type: ColumnDef["type"]): ColumnDef => ({
  name,
  type,
  nullable: true,
});

/** Everything `text` holds, decoded. */
function textOf(text: LoadDataText): string {
  return Buffer.concat(text.chunks()).toString("utf8");
}

Deno.test("loadDataFormat: bytes as hex, geometries as WKB and SRID, numbers and dates plain", () => {
  const columns = [
    column("id", { name: "INT" }),
    column("bin", { name: "VARBINARY", length: 4 }),
    column("flags", { name: "BIT", length: 1 }),
    column("shape", { name: "POINT" }),
    column("doc", { name: "JSON" }),
  ];
  const format = loadDataFormat(
    [...columns, column("__op", { name: "CHAR", length: 1 })],
    "ignore",
  );
  assert.deepEqual(format.kinds, ["plain", "bytes", "bytes", "geometry", "text", "text"]);
  const plain = loadDataFormat(
    [
      column("price", { name: "DECIMAL", precision: 10, scale: 2 }),
      column("at", { name: "DATETIME", fsp: 6 }),
      column("day", { name: "DATE" }),
      column("t", { name: "TIME" }),
      column("y", { name: "YEAR" }),
      column("f", { name: "DOUBLE" }),
      column("e", { name: "ENUM", values: ["a"] }),
      column("s", { name: "SET", values: ["a"] }),
      column("c", { name: "CHAR", length: 1 }),
    ],
    "ignore",
  );
  assert.deepEqual(plain.kinds, [
    ...["plain", "plain", "plain", "plain", "plain", "plain"],
    ...["text", "text", "text"],
  ]);
  assert.equal(
    loadDataStatement("db", "t", ["id", "bin", "flags", "shape", "doc", "__op"], format),
    "LOAD DATA LOCAL INFILE 'cdc-batch' IGNORE INTO TABLE `db`.`t` " +
      "CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' " +
      "LINES TERMINATED BY '\\n' (`id`, @b1, @b2, @g3, @s3, `doc`, `__op`) " +
      "SET `bin` = UNHEX(@b1), `flags` = UNHEX(@b2), `shape` = IF(@s3 IS NULL, " +
      "ST_GeomFromWKB(UNHEX(@g3)), ST_GeomFromWKB(UNHEX(@g3), @s3))",
  );
});

Deno.test("LoadDataText: one line per row, NULL as \\N, each value in its column's form", () => {
  const columns = [
    column("id", { name: "BIGINT", unsigned: true }),
    column("note", { name: "TEXT" }),
    column("amount", { name: "DECIMAL", precision: 10, scale: 2 }),
    column("bin", { name: "BLOB" }),
    column("shape", { name: "GEOMETRY" }),
  ];
  const text = new LoadDataText(
    loadDataFormat(columns, "replace"),
  );
  text.add([
    18446744073709551615n,
    "it's\ta note",
    "12.50",
    Buffer.from([0, 0x5c, 0x09, 0xff]),
    new GeometryValue(Buffer.from([1, 2]), 4326),
  ]);
  text.add([1, null, "-0.01", null, new GeometryValue(Buffer.from([3]), null)]);
  text.add([2, "", "0.00", Buffer.alloc(0), null]);
  assert.equal(text.rows, 3);
  assert.equal(
    textOf(text),
    "18446744073709551615\tit's\\ta note\t12.50\t005c09ff\t0102\t4326\n" +
      "1\t\\N\t-0.01\t\\N\t03\t\\N\n" +
      "2\t\t0.00\t\t\\N\t\\N\n",
  );
});

Deno.test("LoadDataText: encodes as it goes, in chunks, the same text whole", () => {
  const text = new LoadDataText(loadDataFormat([column("s", { name: "TEXT" })], "ignore"));
  const expected: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const value = `row ${i} ünï 😀`;
    text.add([value]);
    expected.push(value);
  }
  const chunks = text.chunks();
  assert.ok(chunks.length > 1, `${chunks.length} chunk(s)`);
  // at least 64 KiB each but the last, filling most of a buffer of twice that
  assert.ok(chunks.slice(0, -1).every((c) => c.length >= 64 * 1024), "chunks are not cut small");
  assert.ok(chunks.every((c) => c.length <= 128 * 1024), "chunks stay small");
  assert.ok(
    chunks.slice(0, -1).every((c) => c.buffer.byteLength - c.length <= 16 * 1024),
    "a chunk fills its buffer",
  );
  assert.equal(textOf(text), expected.join("\n") + "\n");
});

Deno.test("LoadDataText: a value its column's kind cannot carry is an error, not a guess", () => {
  const geometry = new LoadDataText(
    loadDataFormat([column("g", { name: "POINT" })], "ignore"),
  );
  assert.throws(() => geometry.add(["POINT(1 2)"]), /column 1 is loaded as geometry/);
  const plain = new LoadDataText(loadDataFormat([column("x", { name: "TEXT" })], "ignore"));
  assert.throws(() => plain.add([Buffer.from([1]) as SqlValue]), /column 1 is loaded as text/);
});

Deno.test("LoadDataText.integer: the digits String() writes, signs and bigints included", () => {
  const text = new LoadDataText(loadDataFormat([column("n", { name: "BIGINT" })], "ignore"));
  const values: (number | bigint)[] = [0, 7, -7, 10, 99, 100, -1_000_001, 2 ** 53 - 1, -(2 ** 53)];
  values.push(2 ** 53, 2n ** 64n - 1n, -(2n ** 63n));
  for (let n = 1; n < 1e16; n *= 7) values.push(n, -n);
  for (const n of values) {
    text.integer(n);
    text.endLine();
  }
  assert.equal(textOf(text), values.map((n) => `${n}\n`).join(""));
});

Deno.test("LoadDataText.tagged: lines counted by the tag they ended with", () => {
  const text = new LoadDataText(
    loadDataFormat([{ name: "a", type: { name: "INT" }, nullable: true }], "replace"),
  );
  text.add([1], "c");
  text.add([2], "d");
  text.add([3], "c");
  text.add([4]);
  assert.deepEqual([text.rows, text.tagged("c"), text.tagged("d"), text.tagged("t")], [4, 2, 1, 0]);
});

Deno.test("LoadDataText.append: the other text's lines keep their tags", () => {
  const format = loadDataFormat([{ name: "a", type: { name: "INT" }, nullable: true }], "replace");
  const text = new LoadDataText(format);
  const other = new LoadDataText(format);
  text.add([1], "c");
  other.add([2], "d");
  other.add([3], "t");
  text.append(other);
  assert.deepEqual([text.rows, text.tagged("c"), text.tagged("d"), text.tagged("t")], [3, 1, 1, 1]);
});

Deno.test("LoadDataText.append: many small texts make a few large chunks, holding no buffer of theirs", () => {
  // --transactions keeps a text per table for each source transaction held, then appends each
  // whole transaction to the batch's: the batch must stay a few chunks (a packet each), not one
  // per transaction, and keep no held text's buffer alive
  const format = loadDataFormat([column("s", { name: "TEXT" })], "ignore");
  const text = new LoadDataText(format);
  const expected: string[] = [];
  for (let i = 0; i < 5_000; i++) {
    const other = new LoadDataText(format);
    for (let line = 0; line < 4; line++) {
      const value = `transaction ${i} line ${line} ünï 😀`;
      other.add([value], "c");
      expected.push(value);
    }
    text.append(other);
    other.add(["written after the append: not in the batch"]);
  }
  const chunks = text.chunks();
  const bytes = chunks.reduce((sum, c) => sum + c.length, 0);
  assert.ok(chunks.length <= Math.ceil(bytes / (32 * 1024)) + 1, `${chunks.length} chunks`);
  const others = chunks.filter((c) => c.buffer.byteLength < 32 * 1024);
  assert.deepEqual(others.map((c) => c.length), [], "no chunk is a held text's buffer");
  assert.equal(textOf(text), expected.join("\n") + "\n");
  assert.deepEqual([text.rows, text.tagged("c")], [20_000, 20_000]);
  // a large text's chunks join as they are
  const large = new LoadDataText(format);
  for (let i = 0; i < 20_000; i++) large.add([`row ${i}`]);
  const before = large.chunks().length;
  const into = new LoadDataText(format);
  into.add(["first"]);
  into.append(large);
  assert.ok(into.chunks().length >= before, "not copied into one buffer");
  assert.equal(
    textOf(into),
    ["first", ...Array.from({ length: 20_000 }, (_, i) => `row ${i}`)].join("\n") + "\n",
  );
});
