import assert from "node:assert/strict";
import { assignmentSummary, partitionsToRead } from "./consumer.ts";

Deno.test("assignmentSummary: the partitions a process holds after a rebalance", () => {
  assert.equal(assignmentSummary({ b: [1, 0], a: [0], c: [] }), "assigned a[0], b[0,1]");
  assert.match(assignmentSummary({ a: [] }), /^no partitions assigned/);
});

Deno.test("partitionsToRead: the tables' partitions first, in the order given, then the markers", () => {
  assert.deepEqual(
    partitionsToRead({ "db.transaction": [0], b: [1, 0], a: [0], found_elsewhere: [0] }, [
      "a",
      "b",
      "db.transaction",
    ]),
    [
      { topic: "a", partition: 0 },
      { topic: "b", partition: 0 },
      { topic: "b", partition: 1 },
      { topic: "db.transaction", partition: 0 },
    ],
  );
  assert.deepEqual(partitionsToRead({}, ["a"]), []);
});
