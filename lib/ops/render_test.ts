import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { envelopeSchema, optional, sourceValue } from "../debezium/testing.ts";
import { DEFAULT_MAPPING_OPTIONS } from "../debezium/type_mapping.ts";
import { compileRenderer, plainJson } from "./render.ts";

Deno.test("plainJson: exact longs, bytes as hex, nesting kept", () => {
  assert.deepEqual(
    plainJson({ a: 2n ** 63n - 1n, b: 7n, c: Buffer.from([0, 255]), d: [1, null], e: NaN }),
    { a: "9223372036854775807", b: 7, c: "0x00ff", d: [1, null], e: "NaN" },
  );
});

Deno.test("compileRenderer: an envelope's images rendered as they land in _cdc", () => {
  const schema = envelopeSchema("dbserver1", "inventory", "t", [
    { name: "id", type: "int" },
    optional("price", {
      type: "bytes",
      logicalType: "decimal",
      precision: 10,
      scale: 2,
      "connect.name": "org.apache.kafka.connect.data.Decimal",
      "connect.parameters": { scale: "2", "connect.decimal.precision": "10" },
    }),
    optional("born", { type: "int", "connect.name": "io.debezium.time.Date" }),
    optional("blob", "bytes"),
  ]);
  const render = compileRenderer(schema, DEFAULT_MAPPING_OPTIONS);
  const event = render({
    before: null,
    after: { id: 1, price: Buffer.from([0x30, 0x39]), born: 0, blob: Buffer.from("hi") },
    source: sourceValue("t", 4, 1_700_000_000_000),
    op: "c",
    ts_ms: 1_700_000_000_001,
  }) as Record<string, unknown>;
  assert.deepEqual(event.after, { id: 1, price: "123.45", born: "1970-01-01", blob: "0x6869" });
  assert.equal(event.before, null);
  assert.equal(event.op, "c");
  assert.equal((event.source as Record<string, unknown>).pos, 4);
});

Deno.test("compileRenderer: a key record column by column; null stays null", () => {
  const render = compileRenderer(
    { type: "record", name: "Key", fields: [{ name: "id", type: "long" }] },
    DEFAULT_MAPPING_OPTIONS,
  );
  assert.deepEqual(render({ id: 2n ** 60n }), { id: "1152921504606846976" });
  assert.equal(render(null), null);
});

Deno.test("compileRenderer: columns under their source names, as in _cdc", () => {
  const render = compileRenderer(
    {
      type: "record",
      name: "Key",
      fields: [{
        name: "line_no",
        type: {
          type: "int",
          "connect.parameters": {
            "__debezium.source.column.type": "INT",
            "__debezium.source.column.name": "line no",
          },
        },
      }],
    },
    DEFAULT_MAPPING_OPTIONS,
  );
  assert.deepEqual(render({ line_no: 3 }), { "line no": 3 });
});
