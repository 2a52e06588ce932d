import assert from "node:assert/strict";
import { envelopeSchema, sourceValue } from "./testing.ts";
import type { AvroRecordSchema } from "../avro/schema.ts";
import { envelopeReaderSchema, isLastSnapshotRead, sourcePosition } from "./envelope.ts";
import { compileAvro } from "../avro/decoder.ts";

Deno.test("isLastSnapshotRead: Debezium's markers for a table's and the whole snapshot's end", () => {
  const read = (snapshot: string | null) => ({ op: "r", source: { snapshot } });
  assert.ok(isLastSnapshotRead(read("last_in_data_collection")));
  assert.ok(isLastSnapshotRead(read("last")));
  for (const mark of ["true", "first", "first_in_data_collection", "false", null]) {
    assert.ok(!isLastSnapshotRead(read(mark)), String(mark));
  }
  assert.ok(!isLastSnapshotRead({ op: "c" }));
});
Deno.test("sourcePosition without a GTID, and without a source", () => {
  assert.equal(sourcePosition(sourceValue("t", 9, 0)), "mysql-bin.000003:9:0");
  assert.equal(sourcePosition(null), null);
});

Deno.test("envelopeReaderSchema keeps what the stream reads, and decodes real envelopes with it", () => {
  const writer = envelopeSchema("p", "db", "t", [{ name: "id", type: "int" }]);
  const reader = envelopeReaderSchema(writer) as AvroRecordSchema;
  assert.deepEqual(reader.fields.map((f) => f.name), [
    "before",
    "after",
    "source",
    "op",
    "ts_ms",
    "transaction",
  ]);
  const source = reader.fields[2].type as AvroRecordSchema;
  assert.deepEqual(source.fields.map((f) => f.name), [
    "ts_ms",
    "snapshot",
    "gtid",
    "file",
    "pos",
    "row",
  ]);
  const event = {
    before: null,
    after: { id: 7 },
    source: sourceValue("t", 42, 1_700_000_000_000, "0-1-2"),
    op: "c",
    ts_ms: 1_700_000_000_500,
    transaction: { id: "x", total_order: 1, data_collection_order: 1 },
  };
  const writerType = compileAvro(writer);
  const readerType = compileAvro(reader);
  const { value } = readerType.decode(
    writerType.toBuffer(event),
    0,
    readerType.createResolver(writerType),
  );
  assert.deepEqual(JSON.parse(JSON.stringify(value)), {
    before: null,
    after: { id: 7 },
    source: {
      ts_ms: 1_700_000_000_000,
      snapshot: "false",
      gtid: "0-1-2",
      file: "mysql-bin.000003",
      pos: 42,
      row: 0,
    },
    op: "c",
    ts_ms: 1_700_000_000_500,
    transaction: { id: "x", total_order: 1, data_collection_order: 1 },
  });
  assert.equal(envelopeReaderSchema({ type: "record", name: "Key", fields: [] }), undefined);
  assert.equal(envelopeReaderSchema("string"), undefined);
});
