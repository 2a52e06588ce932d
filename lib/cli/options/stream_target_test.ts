import assert from "node:assert/strict";
import { GROUP_ID_MAX_LENGTH } from "../../sink/bookkeeping.ts";
import { CliError, EXIT } from "../errors.ts";
import { defaultGroupId, streamTarget, type StreamTargetOptions } from "./stream_target.ts";

const options = (table: string[], groupId?: string): StreamTargetOptions => ({
  table,
  mode: "history",
  groupId,
  offsetsTable: "__cdc_offsets",
  database: "inventory",
  topicPrefix: "dbserver1",
});

Deno.test("defaultGroupId: the sorted table list while it fits, unchanged from earlier versions", () => {
  assert.equal(
    defaultGroupId("inventory", ["orders", "customers"]),
    "cdc.inventory.customers,orders",
  );
  assert.equal(streamTarget(options(["b", "a", "b"])).groupId, "cdc.inventory.a,b");
});

Deno.test("defaultGroupId: any number and length of tables fits group_id, stable for the same set", () => {
  const many = Array.from({ length: 200 }, (_, i) => `t${String(i).padStart(3, "0")}`);
  const id = defaultGroupId("inventory", many);
  assert.ok([...id].length <= GROUP_ID_MAX_LENGTH, id);
  assert.match(id, /^cdc\.inventory\.200-tables-[0-9a-f]{16}$/);
  assert.equal(defaultGroupId("inventory", [...many].reverse()), id, "order does not matter");
  assert.notEqual(defaultGroupId("inventory", many.slice(1)), id, "another set, another group");
  const long = ["ä".repeat(64), "ö".repeat(64), "ü".repeat(64), "é".repeat(64)];
  assert.ok([...defaultGroupId("d".repeat(64), long)].length <= GROUP_ID_MAX_LENGTH);
  // exactly at the limit it keeps the readable form
  const edge = "x".repeat(GROUP_ID_MAX_LENGTH - "cdc.inventory.".length);
  assert.equal(defaultGroupId("inventory", [edge]), `cdc.inventory.${edge}`);
});

Deno.test("streamTarget: a --group-id longer than group_id holds is a usage error naming the limit", () => {
  const ok = "g".repeat(GROUP_ID_MAX_LENGTH);
  assert.equal(streamTarget(options(["t"], ok)).groupId, ok);
  assert.throws(
    () => streamTarget(options(["t"], ok + "g")),
    (e: unknown) =>
      e instanceof CliError && e.exitCode === EXIT.usage &&
      /--group-id \(CDC_GROUP_ID\) must be 1 to 255 characters.*got 256/.test(e.message),
  );
});
