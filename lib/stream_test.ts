import assert from "node:assert/strict";
import { statusLine, type StreamStats } from "./stream.ts";

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
