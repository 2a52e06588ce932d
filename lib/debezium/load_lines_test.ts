import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { compiled, envelopeSchema, optional, sourceValue } from "./testing.ts";
import type { AvroComplexSchema, AvroField } from "../avro/schema.ts";
import { compileAvro, type CompiledSchema, decodeAvroPayload } from "../avro/decoder.ts";
import { BadInputError } from "../util/errors.ts";
import type { Envelope } from "./envelope.ts";
import { compileEventPlan } from "./event_plan.ts";
import { compileLoadLineWriter } from "./load_lines.ts";
import { loadDataFormat, LoadDataText } from "../mysql/load_data.ts";

/** A row of most of the shapes Debezium writes, nullable or not. */
const FIELDS: AvroField[] = [
  { name: "id", type: "int" },
  optional("name", {
    type: "string",
    "connect.parameters": {
      "__debezium.source.column.type": "VARCHAR",
      "__debezium.source.column.length": "64",
    },
  }),
  optional("big", "long"),
  optional("price", {
    type: "bytes",
    "connect.name": "org.apache.kafka.connect.data.Decimal",
    "connect.parameters": { scale: "2", "connect.decimal.precision": "10" },
  }),
  optional("created", { type: "long", "connect.name": "io.debezium.time.Timestamp" }),
  optional("zoned", { type: "string", "connect.name": "io.debezium.time.ZonedTimestamp" }),
  optional("day", { type: "int", "connect.name": "io.debezium.time.Date" }),
  optional("flag", "boolean"),
  optional("score", "double"),
  optional("ratio", "float"),
  optional("raw", "bytes"),
  optional("color", {
    type: "string",
    "connect.name": "io.debezium.data.Enum",
    "connect.parameters": { allowed: "red,green" },
  }),
  optional("place", {
    type: "record",
    name: "Geometry",
    namespace: "io.debezium.data.geometry",
    fields: [{ name: "wkb", type: "bytes" }, optional("srid", "int")],
    "connect.name": "io.debezium.data.geometry.Geometry",
  }),
  optional("other_place", "io.debezium.data.geometry.Geometry"),
  { name: "note", type: "string" },
];

const SCHEMA = envelopeSchema("dbserver1", "inventory", "shapes", FIELDS);
const COMPILED: CompiledSchema = { id: 7, schema: SCHEMA, type: compileAvro(SCHEMA) };

const FULL_ROW = {
  id: 1,
  name: "tab\there, newline\nthere, back\\slash, NUL\0, ünïcödé 😀 'q' \"dq\" \\N",
  big: 2n ** 60n + 3n,
  price: Buffer.from([0xff, 0x85]), // -123 → -1.23
  created: 1_700_000_000_123,
  zoned: "2024-02-29T23:59:59.123456Z",
  day: 19_000,
  flag: true,
  score: 0.1 + 0.2,
  ratio: 1.5,
  raw: Buffer.from([0, 9, 10, 92, 255]),
  color: "green",
  place: { wkb: Buffer.from("0101000000000000000000f03f0000000000000040", "hex"), srid: 4326 },
  other_place: {
    wkb: Buffer.from("0101000000000000000000f03f0000000000000040", "hex"),
    srid: null,
  },
  note: "",
};
const EMPTY_ROW = Object.fromEntries(FIELDS.map((f) => [f.name, null]));
Object.assign(EMPTY_ROW, { id: -2_147_483_648, note: "\\" });

function event(op: string, before: unknown, after: unknown) {
  return {
    before,
    after,
    source: sourceValue("shapes", 154, 1_700_000_000_000, "0-1-42"),
    op,
    ts_ms: 1_700_000_000_500,
    transaction: { id: "tx", total_order: 1, data_collection_order: 1 },
  };
}

/** The event as the Avro converter frames it: magic byte, schema id, Avro. */
function framed(value: unknown): Buffer {
  return Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), COMPILED.type.toBuffer(value)]);
}

const plan = compileEventPlan(compiled(SCHEMA));
const format = loadDataFormat(plan.rowColumns, "ignore");
const bytesOf = (text: LoadDataText) => Buffer.concat(text.chunks());

Deno.test("compileLoadLineWriter: the same bytes as decoding, mapping and encoding each row", () => {
  const write = compileLoadLineWriter(COMPILED, plan.mappings);
  assert.ok(write, "the fixture's shapes are all read in place");
  const events = [
    event("c", null, FULL_ROW),
    event("u", EMPTY_ROW, FULL_ROW),
    event("r", null, EMPTY_ROW),
    event("d", FULL_ROW, null),
    event("t", null, null),
    // a zone other than Z: the TIMESTAMP column's value goes the string way
    event("u", FULL_ROW, { ...FULL_ROW, zoned: "2024-03-01T01:30:00.5+02:00" }),
  ];
  const direct = new LoadDataText(format);
  const decoded = new LoadDataText(format);
  events.forEach((e, offset) => {
    const bytes = framed(e);
    const envelope = write(bytes, { partition: 3, offset }, () => direct);
    assert.deepEqual(
      [envelope.op, envelope.ts_ms, envelope.source?.file, envelope.source?.gtid],
      [e.op, e.ts_ms, "mysql-bin.000003", "0-1-42"],
    );
    const value = decodeAvroPayload(COMPILED, bytes.subarray(5)) as Envelope;
    decoded.add(plan.row(value, { partition: 3, offset }));
  });
  assert.equal(direct.rows, 6);
  const text = bytesOf(direct).toString("utf8");
  assert.equal(text, bytesOf(decoded).toString("utf8"));
  assert.deepEqual(bytesOf(direct), bytesOf(decoded));
  // a spot check of what both wrote, so that a shared mistake shows too
  const first = text.split("\n")[0].split("\t");
  assert.deepEqual(first.slice(0, 11), [
    "1",
    "tab\\there, newline\\nthere, back\\\\slash, NUL\\0, ünïcödé 😀 'q' \"dq\" \\\\N",
    "1152921504606846979",
    "-1.23",
    "2023-11-14 22:13:20.123",
    "2024-02-29 23:59:59.123456",
    "2022-01-08",
    "1",
    "0.30000000000000004",
    "1.5",
    "00090a5cff",
  ]);
  assert.equal(text.split("\n")[5].split("\t")[5], "2024-02-29 23:30:00.500000");
});

Deno.test("compileLoadLineWriter: bad bytes are bad input, and leave the text as it was", () => {
  const write = compileLoadLineWriter(COMPILED, plan.mappings)!;
  const text = new LoadDataText(format);
  write(framed(event("c", null, FULL_ROW)), { partition: 0, offset: 0 }, () => text);
  const before = bytesOf(text);
  const good = framed(event("c", null, { ...FULL_ROW, name: "abc" }));
  const invalidUtf8 = Buffer.from(good);
  invalidUtf8[invalidUtf8.indexOf("abc")] = 0xc3; // a lead byte followed by "bc"
  const cases: [string, Buffer, RegExp][] = [
    ["truncated", good.subarray(0, good.length - 3), /truncated buffer/],
    ["trailing bytes", Buffer.concat([good, Buffer.from([0])]), /1 trailing bytes/],
    ["invalid UTF-8", invalidUtf8, /not valid UTF-8/],
  ];
  for (const [what, bytes, message] of cases) {
    const again = new LoadDataText(format);
    write(framed(event("c", null, FULL_ROW)), { partition: 0, offset: 0 }, () => again);
    assert.throws(
      () => write(bytes, { partition: 0, offset: 1 }, () => again),
      (e: unknown) =>
        e instanceof BadInputError && e.reason === "undecodable-avro" &&
        /with schema id 7/.test(e.message) && message.test(e.message),
      what,
    );
    assert.equal(again.rows, 1, what);
    assert.deepEqual(bytesOf(again), before, what);
  }
  assert.throws(
    () => write(framed(event("d", null, null)), { partition: 0, offset: 2 }, () => text),
    (e: unknown) => e instanceof BadInputError && e.reason === "missing-row-image",
  );
  assert.deepEqual(bytesOf(text), before);
});

Deno.test("compileLoadLineWriter: a union of several types takes the decoded path", () => {
  const schema = envelopeSchema("dbserver1", "inventory", "odd", [{ name: "id", type: "int" }]);
  const source = schema.fields!.find((f) => f.name === "source")!;
  source.type = {
    ...(source.type as AvroComplexSchema),
    fields: (source.type as AvroComplexSchema).fields!.map((f) =>
      f.name === "gtid" ? { ...f, type: ["null", "string", "long"] } : f
    ),
  };
  const odd = compiled(schema, 8);
  assert.equal(compileLoadLineWriter(odd, compileEventPlan(odd).mappings), undefined);
});
