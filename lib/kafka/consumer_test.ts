import assert from "node:assert/strict";
import { assignmentSummary } from "./consumer.ts";

Deno.test("assignmentSummary: the partitions a process holds after a rebalance", () => {
  assert.equal(assignmentSummary({ b: [1, 0], a: [0], c: [] }), "assigned a[0], b[0,1]");
  assert.match(assignmentSummary({ a: [] }), /^no partitions assigned/);
});
