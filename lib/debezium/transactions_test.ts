import assert from "node:assert/strict";
import { BadInputError } from "../util/errors.ts";
import { Buffer } from "node:buffer";
import { compileAvro } from "../avro/decoder.ts";
import { compiled, MARKER_SCHEMA } from "./testing.ts";
import {
  compileMarkerReader,
  dataCollectionOf,
  eventsOf,
  transactionMarker,
  transactionTopic,
} from "./transactions.ts";

Deno.test("transactionMarker: BEGIN, and END with its events per data collection", () => {
  // as the stack's Debezium 3.5 writes them (decoded by cdc tail)
  assert.deepEqual(
    transactionMarker({
      status: "BEGIN",
      id: "0-1-4671",
      event_count: null,
      data_collections: null,
      ts_ms: 1,
    }),
    { status: "BEGIN", id: "0-1-4671" },
  );
  assert.deepEqual(
    transactionMarker({
      status: "END",
      id: "0-1-4671",
      event_count: 3n,
      data_collections: [
        { data_collection: "txprobe.a", event_count: 2n },
        { data_collection: "txprobe.b", event_count: 1 },
      ],
      ts_ms: 1,
    }),
    {
      status: "END",
      id: "0-1-4671",
      eventCount: 3,
      dataCollections: [
        { data_collection: "txprobe.a", event_count: 2n },
        { data_collection: "txprobe.b", event_count: 1 },
      ],
    },
  );
  const end = transactionMarker({
    status: "END",
    id: "x",
    event_count: 3,
    data_collections: [{ data_collection: "a", event_count: 2n }, {
      data_collection: "b",
      event_count: 1,
    }],
  });
  assert.ok(end.status === "END");
  assert.deepEqual([eventsOf(end, "a"), eventsOf(end, "b"), eventsOf(end, "c")], [2, 1, 0]);
  const uncounted = { status: "END", id: "x", data_collections: [{ data_collection: "a" }] };
  for (
    const bad of [
      null,
      { status: "END", id: "x" },
      { status: "COMMIT", id: "x" },
      { id: 1 },
      uncounted,
    ]
  ) {
    assert.throws(
      () => transactionMarker(bad),
      (e: unknown) =>
        e instanceof BadInputError && /not a Debezium transaction marker/.test(e.message),
    );
  }
});

Deno.test("compileMarkerReader: markers read from their bytes as the decoder's values give them", () => {
  const schema = compiled(MARKER_SCHEMA, 7);
  const read = compileMarkerReader(schema)!;
  const framed = (value: unknown) =>
    Buffer.concat([Buffer.of(0, 0, 0, 0, 7), compileAvro(MARKER_SCHEMA).toBuffer(value)]);
  const begin = { status: "BEGIN", id: "0-1-4671", event_count: null, data_collections: null };
  assert.deepEqual(read(framed({ ...begin, ts_ms: 1 })), { status: "BEGIN", id: "0-1-4671" });
  const end = {
    status: "END",
    id: "0-1-4671",
    event_count: 3,
    data_collections: [
      { data_collection: "txprobe.a", event_count: 2 },
      { data_collection: "txprobe.b", event_count: 1 },
    ],
    ts_ms: 2,
  };
  assert.deepEqual(read(framed(end)), transactionMarker(end));
  assert.throws(
    () => read(framed(end).subarray(0, 20)),
    (e: unknown) => e instanceof BadInputError && /schema id 7: truncated/.test(e.message),
  );
  // not a marker's schema (no status): the decoder's way, which tells what the value is
  assert.equal(compileMarkerReader(compiled({ type: "record", name: "R", fields: [] })), undefined);
});

Deno.test("transactionTopic and dataCollectionOf: the names Debezium uses", () => {
  assert.equal(transactionTopic("dbserver1"), "dbserver1.transaction");
  assert.equal(
    dataCollectionOf("dbserver1", "dbserver1.inventory.customers"),
    "inventory.customers",
  );
});
