import assert from "node:assert/strict";
import { isLastSnapshotRead, statusLine, type StreamStats } from "./stream.ts";

const stats: StreamStats = {
  consumed: 1200,
  snapshotRows: 1000,
  rowsWritten: 1150,
  tombstones: 3,
  skipped: 1,
  deadLettered: 0,
  alreadyWritten: 40,
  batches: 2,
};

Deno.test("statusLine: counters, and the time a backlog takes to drain at the current rate", () => {
  assert.equal(
    statusLine(stats, 100, 30_000),
    "1200 events (100.0/s), 1150 rows written in 2 batches, lag 30000 (~5 min to drain at this rate), " +
      "1000 snapshot reads, 3 tombstones, 1 skipped, 0 dead-lettered, 40 already written",
  );
  assert.match(statusLine(stats, 100, 50), /lag 50 \(~1 s to drain/);
  assert.match(statusLine(stats, 1, 100_000), /lag 100000 \(~27\.8 h to drain/);
  assert.match(
    statusLine(stats, 0, 50),
    /lag 50, 1000 snapshot reads/,
    "no estimate without a rate",
  );
  assert.match(statusLine(stats, 100, 0), /lag 0, /);
});

Deno.test("isLastSnapshotRead: Debezium's markers for a table's and the whole snapshot's end", () => {
  const read = (snapshot: string | null) => ({ op: "r", source: { snapshot } });
  assert.ok(isLastSnapshotRead(read("last_in_data_collection")));
  assert.ok(isLastSnapshotRead(read("last")));
  for (const mark of ["true", "first", "first_in_data_collection", "false", null]) {
    assert.ok(!isLastSnapshotRead(read(mark)), String(mark));
  }
  assert.ok(!isLastSnapshotRead({ op: "c" }));
});
