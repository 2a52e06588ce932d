import assert from "node:assert/strict";
import type { AvroSchema } from "./schema.ts";
import { inlineReferences, namedTypes } from "./schema.ts";

Deno.test("inlineReferences defines each referenced type at its first use only", () => {
  // As Apicurio's converter registers Debezium envelopes: Value and Source by reference.
  const envelope: AvroSchema = {
    type: "record",
    name: "Envelope",
    namespace: "dbserver1.inventory.customers",
    fields: [
      { name: "before", type: ["null", "Value"], default: null },
      { name: "after", type: ["null", "Value"], default: null },
      { name: "source", type: "io.debezium.connector.mariadb.Source" },
      { name: "op", type: "string" },
    ],
  };
  const value: AvroSchema = {
    type: "record",
    name: "Value",
    namespace: "dbserver1.inventory.customers",
    fields: [{ name: "id", type: "int" }],
  };
  const source: AvroSchema = {
    type: "record",
    name: "Source",
    namespace: "io.debezium.connector.mariadb",
    fields: [{ name: "file", type: "string" }],
  };
  const inlined = inlineReferences(
    envelope,
    new Map([["dbserver1.inventory.customers.Value", value], [
      "io.debezium.connector.mariadb.Source",
      source,
    ]]),
  ) as { fields: { type: AvroSchema }[] };
  assert.deepEqual(inlined.fields[0].type, ["null", value]);
  assert.deepEqual(inlined.fields[1].type, ["null", "Value"]);
  assert.deepEqual(inlined.fields[2].type, source);
  assert.deepEqual(
    [...namedTypes(inlined as AvroSchema).keys()].filter((k) => k.includes(".")),
    [
      "dbserver1.inventory.customers.Envelope",
      "dbserver1.inventory.customers.Value",
      "io.debezium.connector.mariadb.Source",
    ],
  );
});
