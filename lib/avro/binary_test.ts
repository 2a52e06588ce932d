import assert from "node:assert/strict";
import looseAssert from "node:assert";
import { Buffer } from "node:buffer";
import type { AvroSchema } from "./schema.ts";
import { namedTypes } from "./schema.ts";
import {
  AvroCursor,
  AvroReadError,
  compileReader,
  compileSkipper,
  UnsupportedSchemaError,
} from "./binary.ts";
import { compileAvro } from "./decoder.ts";

const RECORD: AvroSchema = {
  type: "record",
  name: "Everything",
  fields: [
    { name: "n", type: "null" },
    { name: "b", type: "boolean" },
    { name: "i", type: "int" },
    { name: "l", type: "long" },
    { name: "huge", type: "long" },
    { name: "f", type: "float" },
    { name: "d", type: "double" },
    { name: "bytes", type: "bytes" },
    { name: "s", type: "string" },
    { name: "opt", type: ["null", "string"] },
    { name: "opt_last", type: ["long", "null"] },
    { name: "e", type: { type: "enum", name: "Colour", symbols: ["red", "green"] } },
    { name: "fx", type: { type: "fixed", name: "Four", size: 4 } },
    { name: "again", type: "Four" },
    {
      name: "nested",
      type: { type: "record", name: "Inner", fields: [{ name: "x", type: "int" }] },
    },
  ],
};
const SKIPPED_ONLY: AvroSchema = {
  type: "record",
  name: "Blocks",
  fields: [
    { name: "a", type: { type: "array", items: "string" } },
    { name: "m", type: { type: "map", values: "long" } },
    { name: "u", type: ["null", "int", "string"] },
  ],
};

const VALUE = {
  n: null,
  b: true,
  i: -2_147_483_648,
  l: 2 ** 53 - 1,
  huge: -(2n ** 63n),
  f: 1.25,
  d: -0.1,
  bytes: Buffer.from([0, 1, 255]),
  s: "ünï 😀\t",
  opt: null,
  opt_last: 42,
  e: "green",
  fx: Buffer.from("abcd"),
  again: Buffer.from("wxyz"),
  nested: { x: 5 },
};

Deno.test("compileReader: the values avsc decodes, exact longs included", () => {
  const bytes = compileAvro(RECORD).toBuffer(VALUE);
  const cursor = new AvroCursor();
  cursor.reset(bytes, 0);
  const value = compileReader(RECORD, namedTypes(RECORD))(cursor);
  cursor.checkEnd();
  // avsc's records are instances of generated classes: compared by their fields
  looseAssert.deepEqual(value, compileAvro(RECORD).fromBuffer(bytes));
  assert.deepEqual(value, VALUE);
});

Deno.test("compileReader: `keep` reads only the fields named, skipping the rest", () => {
  const bytes = compileAvro(RECORD).toBuffer(VALUE);
  const cursor = new AvroCursor();
  cursor.reset(bytes, 0);
  const read = compileReader(RECORD, namedTypes(RECORD), { keep: new Set(["s", "nested"]) });
  assert.deepEqual(read(cursor), { s: VALUE.s, nested: { x: 5 } });
  cursor.checkEnd();
});

Deno.test("compileSkipper: moves past exactly one value, blocks and unions included", () => {
  const value = { a: ["x", "yz"], m: { k: 1, l: -2 }, u: "str" };
  const type = compileAvro(SKIPPED_ONLY);
  const bytes = Buffer.concat([type.toBuffer(value), type.toBuffer({ a: [], m: {}, u: 3 })]);
  const cursor = new AvroCursor();
  cursor.reset(bytes, 0);
  const skip = compileSkipper(SKIPPED_ONLY, namedTypes(SKIPPED_ONLY));
  skip(cursor);
  assert.equal(cursor.pos, type.toBuffer(value).length);
  skip(cursor);
  cursor.checkEnd();
  assert.throws(
    () => compileReader(SKIPPED_ONLY, namedTypes(SKIPPED_ONLY)),
    UnsupportedSchemaError,
  );
});

Deno.test("compileReader: arrays, in blocks of either kind (a negative count has a size)", () => {
  const schema: AvroSchema = { type: "array", items: ["null", "long"] };
  const read = compileReader(schema, namedTypes(schema));
  const cursor = new AvroCursor();
  const value = [1, null, -3, 2 ** 40];
  cursor.reset(compileAvro(schema).toBuffer(value), 0);
  assert.deepEqual(read(cursor), value);
  cursor.checkEnd();
  // two items in a block of -2 with its size (4 bytes), then one item, then the end
  cursor.reset(Buffer.of(3, 8, 2, 2, 2, 4, 2, 2, 6, 0), 0);
  assert.deepEqual(read(cursor), [1, 2, 3]);
  cursor.checkEnd();
  cursor.reset(Buffer.of(8, 2, 2), 0); // 4 items announced, 1 there
  assert.throws(() => read(cursor), AvroReadError);
});

Deno.test("AvroCursor: truncation, trailing bytes and bad unions are read errors", () => {
  const bytes = compileAvro(RECORD).toBuffer(VALUE);
  const read = compileReader(RECORD, namedTypes(RECORD));
  const cursor = new AvroCursor();
  for (let end = 0; end < bytes.length; end++) {
    cursor.reset(bytes.subarray(0, end), 0);
    assert.throws(
      () => {
        read(cursor);
        cursor.checkEnd();
      },
      AvroReadError,
      `cut at ${end}`,
    );
  }
  cursor.reset(Buffer.concat([bytes, Buffer.of(0)]), 0);
  read(cursor);
  assert.throws(() => cursor.checkEnd(), /1 trailing bytes/);
  const optional = compileReader(["null", "int"], new Map());
  cursor.reset(Buffer.of(4), 0); // branch 2 of 2
  assert.throws(() => optional(cursor), /union branch 2 of 2/);
});

Deno.test("AvroCursor.readLong: every small value, each side of the one-byte fast path", () => {
  const long = compileAvro("long");
  const cursor = new AvroCursor();
  for (let n = -300; n <= 300; n++) {
    cursor.reset(long.toBuffer(n), 0);
    assert.equal(cursor.readLong(), n);
    cursor.checkEnd();
  }
});

Deno.test("compileReader: repeated strings come back equal when their bytes are, else decoded", () => {
  const schema: AvroSchema = {
    type: "record",
    name: "Source",
    fields: [{ name: "file", type: "string" }, { name: "gtid", type: ["null", "string"] }],
  };
  const type = compileAvro(schema);
  const values = [
    { file: "bin.000001", gtid: "0-1-1" },
    { file: "bin.000001", gtid: "0-1-2" },
    { file: "bin.000002", gtid: null },
    { file: "bin.000002", gtid: "0-1-2" },
    { file: "ünï", gtid: "" },
  ];
  const read = compileReader(schema, namedTypes(schema), { repeatedStrings: true });
  const cursor = new AvroCursor();
  for (const value of values) {
    cursor.reset(type.toBuffer(value), 0);
    assert.deepEqual(read(cursor), value);
  }
});
