import assert from "node:assert/strict";
import { GROUP_ID_MAX_LENGTH } from "../../sink/bookkeeping.ts";
import { CliError, EXIT } from "../errors.ts";
import { InvalidArgumentError } from "commander";
import {
  defaultGroupId,
  streamTarget,
  type StreamTargetOptions,
  tableRegex,
} from "./stream_target.ts";

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

Deno.test("streamTarget --table-regex: whole names of the database's topics; a group of its own", () => {
  const target = streamTarget({ ...options([]), tableRegex: tableRegex("t[0-9]+") });
  assert.deepEqual(target.tables, []);
  assert.equal(target.groupId, "cdc.inventory./t[0-9]+/");
  const found = target.matching!([
    "dbserver1.inventory.t2",
    "dbserver1.inventory.t10",
    "dbserver1.inventory.t1x", // not a whole match
    "dbserver1.other.t3", // another database
    "other.inventory.t4", // another connector
    "dbserver1.transaction",
  ]);
  assert.deepEqual(found, [
    { table: "t10", topic: "dbserver1.inventory.t10", cdcTable: "t10_cdc" },
    { table: "t2", topic: "dbserver1.inventory.t2", cdcTable: "t2_cdc" },
  ]);
  // with --table too: those named are not found again, and the group names both
  const both = streamTarget({ ...options(["t2"]), tableRegex: tableRegex("t.*") });
  assert.equal(both.groupId, "cdc.inventory./t.*/,t2");
  assert.deepEqual(both.matching!(["dbserver1.inventory.t2"]), []);
});

Deno.test("streamTarget: no --table and no --table-regex is a usage error; a bad regex too", () => {
  assert.throws(
    () => streamTarget(options([])),
    (e: unknown) =>
      e instanceof CliError && e.exitCode === EXIT.usage && /--table-regex/.test(e.message),
  );
  assert.throws(() => tableRegex("t[0-9"), InvalidArgumentError);
  assert.ok(!tableRegex("a|b").test("ab"), "alternatives are anchored as a whole");
});
