import assert from "node:assert/strict";
import { sourceValue } from "../tests/fixtures/debezium_schema.ts";
import { isLastSnapshotRead, sourcePosition } from "./debezium.ts";

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
