import assert from "node:assert/strict";
import { compiled, envelopeSchema, optional, sourceValue } from "./testing.ts";
import { BadInputError } from "../util/errors.ts";
import { compileEventPlan } from "./event_plan.ts";

const schema = envelopeSchema("dbserver1", "inventory", "customers", [
  { name: "id", type: "int" },
  optional("first_name", "string"),
  optional("email", "string"),
]);

Deno.test("compileEventPlan: columns in source order, then metadata", () => {
  const plan = compileEventPlan(compiled(schema));
  assert.deepEqual(plan.columns.map((c) => c.name), ["id", "first_name", "email"]);
  assert.deepEqual(plan.rowColumns.map((c) => c.name), [
    "id",
    "first_name",
    "email",
    "__op",
    "__ts",
    "__source_ts",
    "__source_pos",
    "__partition",
    "__offset",
  ]); // deno-fmt-ignore
});

Deno.test("EventPlan.row: after for create/update/read, before for delete, nothing for truncate", () => {
  const plan = compileEventPlan(compiled(schema));
  const before = { id: 1, first_name: "Anne", email: "a@x" };
  const after = { id: 1, first_name: "Anne Marie", email: "a@x" };
  const event = (op: string) => ({
    before,
    after: op === "d" ? null : after,
    source: sourceValue("customers", 154, 1_700_000_000_000, "0-1-42"),
    op,
    ts_ms: 1_700_000_000_500,
  });
  const position = { partition: 0, offset: 7 };
  assert.deepEqual(plan.row(event("u"), position), [
    1,
    "Anne Marie",
    "a@x",
    "u",
    "2023-11-14 22:13:20.500",
    "2023-11-14 22:13:20.000",
    "mysql-bin.000003:154:0 gtid=0-1-42",
    0,
    7,
  ]); // deno-fmt-ignore
  assert.deepEqual(plan.row(event("d"), position).slice(0, 4), [1, "Anne", "a@x", "d"]);
  assert.deepEqual(plan.row({ ...event("t"), before: null, after: null }, position).slice(0, 4), [
    null,
    null,
    null,
    "t",
  ]);
  assert.throws(
    () => plan.row(event("x"), position),
    (e: unknown) => e instanceof BadInputError && /unknown Debezium op "x"/.test(e.message),
  );
});

Deno.test("a schema that is not an envelope, or whose column clashes with metadata, is bad input", () => {
  assert.throws(
    () =>
      compileEventPlan(
        compiled({ type: "record", name: "Plain", fields: [{ name: "id", type: "int" }] }),
      ),
    (e: unknown) => e instanceof BadInputError && e.reason === "not-debezium-envelope",
  );
  assert.throws(
    () =>
      compileEventPlan(compiled(envelopeSchema("p", "d", "t", [{ name: "__op", type: "string" }]))),
    (e: unknown) => e instanceof BadInputError && /metadata column/.test(e.message),
  );
});

Deno.test("a create, update or read without its after image, or a delete without before, is bad input", () => {
  const plan = compileEventPlan(compiled(schema));
  const position = { partition: 0, offset: 1 };
  const source = sourceValue("customers", 4, 1_700_000_000_000);
  for (const op of ["c", "u", "r"]) {
    assert.throws(
      () => plan.row({ op, before: { id: 1 }, after: null, source }, position),
      (e: unknown) =>
        e instanceof BadInputError && e.reason === "missing-row-image" && /"after"/.test(e.message),
      op,
    );
  }
  assert.throws(
    () => plan.row({ op: "d", before: null, after: null, source }, position),
    (e: unknown) => e instanceof BadInputError && e.reason === "missing-row-image",
  );
  assert.equal(plan.row({ op: "t", source }, position)[0], null);
});

Deno.test("columns take their source names; two that would share a _cdc column are bad input", () => {
  const named = (field: string, column: string) =>
    optional(field, {
      type: "int",
      "connect.parameters": {
        "__debezium.source.column.type": "INT",
        "__debezium.source.column.name": column,
      },
    });
  const plan = compileEventPlan(
    compiled(envelopeSchema("p", "db", "t", [named("line_no", "line no"), named("a_b", "a.b")])),
  );
  assert.deepEqual(plan.columns.map((c) => c.name), ["line no", "a.b"]);
  const row = plan.row({
    op: "c",
    after: { line_no: 3, a_b: 4 },
    source: sourceValue("t", 1, 0),
  }, { partition: 0, offset: 0 });
  assert.deepEqual(row.slice(0, 2), [3, 4]);
  assert.throws(
    () =>
      compileEventPlan(
        compiled(envelopeSchema("p", "db", "t", [named("x", "Name"), named("y", "NAME")])),
      ),
    (e: unknown) =>
      e instanceof BadInputError && e.reason === "unmappable-type" &&
      /"Name" \(field x\) and "NAME" \(field y\)/.test(e.message),
  );
});

Deno.test("compileEventPlan: key fields match the row's columns by Avro name, not source name", () => {
  // Debezium names value fields with __debezium.source.column.name, key fields without it
  const valueField = (field: string, column: string, type: string) =>
    optional(field, {
      type: type === "INT" ? "int" : "string",
      "connect.parameters": {
        "__debezium.source.column.type": type,
        ...(type === "VARCHAR" ? { "__debezium.source.column.length": "10" } : {}),
        "__debezium.source.column.name": column,
      },
    });
  const value = envelopeSchema("p", "db", "t", [
    valueField("k_d", "kód", "VARCHAR"),
    valueField("line_no", "line no", "INT"),
    valueField("v", "v", "INT"),
  ]);
  const key = (...fields: string[]) => ({
    type: "record" as const,
    name: "Key",
    fields: fields.map((name) => ({ name, type: name === "k_d" ? "string" : "int" })),
  });
  assert.deepEqual(compileEventPlan(compiled(value), undefined, key("line_no")).keyColumns, [
    "line no",
  ]);
  assert.deepEqual(
    compileEventPlan(compiled(value), undefined, key("k_d", "line_no")).keyColumns,
    ["kód", "line no"],
  );
  assert.throws(
    () => compileEventPlan(compiled(value), undefined, key("nope")),
    (e: unknown) =>
      e instanceof BadInputError && e.reason === "not-debezium-envelope" &&
      /key field "nope" is not a field of the row \(fields: k_d, line_no, v\)/.test(e.message),
  );
});
