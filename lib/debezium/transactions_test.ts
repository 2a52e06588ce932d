import assert from "node:assert/strict";
import { BadInputError } from "../util/errors.ts";
import { dataCollectionOf, transactionMarker, transactionTopic } from "./transactions.ts";

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
      eventsByCollection: new Map([["txprobe.a", 2], ["txprobe.b", 1]]),
    },
  );
  for (const bad of [null, { status: "END", id: "x" }, { status: "COMMIT", id: "x" }, { id: 1 }]) {
    assert.throws(
      () => transactionMarker(bad),
      (e: unknown) =>
        e instanceof BadInputError && /not a Debezium transaction marker/.test(e.message),
    );
  }
});

Deno.test("transactionTopic and dataCollectionOf: the names Debezium uses", () => {
  assert.equal(transactionTopic("dbserver1"), "dbserver1.transaction");
  assert.equal(
    dataCollectionOf("dbserver1", "dbserver1.inventory.customers"),
    "inventory.customers",
  );
});
