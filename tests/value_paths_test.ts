/**
 * The event plan's two outputs load the same values: for a case of every rule of the
 * type-mapping tables (each logical type, each Avro primitive, each source-type refinement),
 * with edge values, the rows made from decoded envelopes (written as INSERTs) and the LOAD
 * DATA lines made from the events' bytes (written with LOAD DATA LOCAL INFILE) are loaded by
 * the real sink into two tables of the stack's MariaDB and compared there, column by column.
 * A rule added to lib/debezium/type_mapping.ts without a case here fails the first test.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { AvroField, AvroSchema } from "../lib/avro/schema.ts";
import { decodeAvroPayload } from "../lib/avro/decoder.ts";
import type { Envelope } from "../lib/debezium/envelope.ts";
import { compileEventPlan } from "../lib/debezium/event_plan.ts";
import { compiled, envelopeSchema, optional, sourceValue } from "../lib/debezium/testing.ts";
import { type MappingOptions, mappingRules } from "../lib/debezium/type_mapping.ts";
import { quoteIdent } from "../lib/mysql/dialect.ts";
import { BatchBuffer } from "../lib/sink/batch.ts";
import { HISTORY } from "../lib/sink/modes/history.ts";
import { MysqlSink } from "../lib/sink/mysql_sink.ts";
import { targetOf } from "../lib/sink/testing.ts";
import { connectMysql, query, STACK, uniqueSuffix } from "./helpers.ts";

/** One column: its Avro type as Debezium writes it, and values in Avro's form. */
interface Case {
  type: AvroSchema;
  values: unknown[];
}

const params = (p: Record<string, string>) => ({ "connect.parameters": p });
const source = (type: string, length?: number, scale?: number) =>
  params({
    "__debezium.source.column.type": type,
    ...(length === undefined ? {} : { "__debezium.source.column.length": String(length) }),
    ...(scale === undefined ? {} : { "__debezium.source.column.scale": String(scale) }),
  });
const logical = (type: string, name: string, extra: Record<string, unknown> = {}) => ({
  type,
  "connect.name": name,
  ...extra,
});
/** A big-endian two's-complement integer, as Connect writes a Decimal's unscaled value. */
const twos = (n: bigint) => {
  const hex = (n < 0n ? (1n << 64n) + n : n).toString(16).padStart(16, "0");
  return Buffer.from(hex, "hex");
};
const POINT_WKB = Buffer.from("0101000000000000000000f03f0000000000000040", "hex");
const geometryRecord = (name: string, extraFields: AvroField[] = []) => ({
  type: "record",
  name,
  namespace: "io.debezium.data.geometry",
  fields: [...extraFields, { name: "wkb", type: "bytes" }, optional("srid", "int")],
  "connect.name": `io.debezium.data.geometry.${name}`,
});

/** Cases by the rule they exercise (several rules may share a column). */
const CASES: Case[] = [
  {
    type: logical(
      "bytes",
      "org.apache.kafka.connect.data.Decimal",
      params({
        scale: "2",
        "connect.decimal.precision": "20",
      }),
    ),
    values: [twos(12345n), twos(-1n), twos(0n), twos(99999999999999999n)],
  },
  {
    type: {
      type: "record",
      name: "VariableScaleDecimal",
      namespace: "io.debezium.data",
      fields: [{ name: "scale", type: "int" }, { name: "value", type: "bytes" }],
      "connect.name": "io.debezium.data.VariableScaleDecimal",
    },
    values: [{ scale: 3, value: twos(12345n) }, { scale: 0, value: twos(-7n) }],
  },
  {
    type: logical("int", "org.apache.kafka.connect.data.Date"),
    values: [0, 19000, -719162, 2932896],
  },
  { type: logical("int", "io.debezium.time.Date"), values: [19000, -1] },
  { type: logical("int", "org.apache.kafka.connect.data.Time"), values: [0, 3_723_001] },
  { type: logical("int", "io.debezium.time.Time"), values: [86_399_999, 1] },
  {
    type: logical("long", "io.debezium.time.MicroTime"),
    values: [3_723_000_001, -3_020_399_000_000, 3_020_399_000_000],
  },
  { type: logical("long", "io.debezium.time.NanoTime"), values: [3_723_000_001_000] },
  { type: logical("string", "io.debezium.time.ZonedTime"), values: ["10:15:30.123456Z"] },
  {
    type: logical("long", "org.apache.kafka.connect.data.Timestamp"),
    values: [1_700_000_000_123, -1, 0],
  },
  { type: logical("long", "io.debezium.time.Timestamp"), values: [253402300799999] },
  {
    type: logical("long", "io.debezium.time.MicroTimestamp"),
    values: [1_700_000_000_123_456, -62135596800000000],
  },
  { type: logical("long", "io.debezium.time.NanoTimestamp"), values: [1_700_000_000_123_456_789] },
  {
    type: logical("string", "io.debezium.time.ZonedTimestamp"),
    values: ["2024-03-01T01:30:00.123456+02:00", "1970-01-01T00:00:01Z"],
  },
  { type: logical("int", "io.debezium.time.Year"), values: [2024, 1901, 2155] },
  {
    type: logical("string", "io.debezium.data.Json"),
    values: ['{"a": [1, "x\\ty"], "b": null}', "[]", '"ünï 😀"'],
  },
  {
    // Debezium sends a member as its DDL has it, escapes included (x\\y for x\y)
    type: logical("string", "io.debezium.data.Enum", params({ allowed: "S,M,x\\\\y" })),
    values: ["S", "x\\\\y"],
  },
  {
    type: logical("string", "io.debezium.data.EnumSet", params({ allowed: "a,b,c" })),
    values: ["a,c", ""],
  },
  {
    type: logical("bytes", "io.debezium.data.Bits", params({ length: "16" })),
    values: [Buffer.from([0x01, 0x80]), Buffer.from([0, 0])],
  },
  {
    type: geometryRecord("Geometry"),
    values: [{ wkb: POINT_WKB, srid: 4326 }, { wkb: POINT_WKB, srid: null }],
  },
  {
    type: geometryRecord("Point", [{ name: "x", type: "double" }, { name: "y", type: "double" }]),
    values: [{ x: 1, y: 2, wkb: POINT_WKB, srid: null }],
  },
  { type: "boolean", values: [true, false] },
  { type: { type: "int", "connect.type": "int16" }, values: [-32768, 32767] },
  { type: "int", values: [-2147483648, 2147483647, 0] },
  { type: "long", values: [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER] },
  { type: "float", values: [1.5, -0.25, 3.4e38] },
  { type: "double", values: [Math.PI, -1e-300, 1.7976931348623157e308] },
  {
    type: "string",
    values: ["plain", "tab\tnewline\nreturn\rback\\slash", "\\N", "", "ünï 😀", "nul\0byte"],
  },
  { type: "bytes", values: [Buffer.from([0, 0x5c, 0x09, 0x0a, 0xff]), Buffer.alloc(0)] },
  { type: { type: "boolean", ...source("BIT", 1) }, values: [true, false] },
  {
    type: { type: "long", ...source("BIGINT UNSIGNED", 20) },
    values: [-1, 0, Number.MAX_SAFE_INTEGER],
  },
  { type: { type: "int", ...source("TINYINT", 1) }, values: [1, 0, -128] },
  {
    type: { type: "string", ...source("DECIMAL", 65, 30) },
    values: ["12.50", "-0.000000000000000000000000000001"],
  },
  { type: { type: "string", ...source("VARCHAR", 20) }, values: ["a\tb", "x".repeat(20)] },
  { type: { type: "string", ...source("VARBINARY", 16) }, values: ["AQL/", ""] },
];

/** base64, so that the VARBINARY case takes the source rule's decoding. */
const MAPPING: MappingOptions = { binaryHandlingMode: "base64" };

const fields = CASES.map((c, i) => optional(`c${i}`, c.type));
const SCHEMA = envelopeSchema("p", "db", "t", fields);

Deno.test("value paths: every rule of the type-mapping tables has a case here", () => {
  const plan = compileEventPlan(compiled(SCHEMA), MAPPING);
  const covered = new Set(plan.mappings.flatMap((m) => m.rules));
  assert.deepEqual(mappingRules().filter((rule) => !covered.has(rule)), []);
});

Deno.test({
  name: "value paths: INSERTed rows and LOAD DATA lines of the same events load equal",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const schema = compiled(SCHEMA, 42);
    const plan = compileEventPlan(schema, MAPPING);
    assert.ok(plan.line, "the schema is read in place");
    const database = `paths_${uniqueSuffix()}`;
    const sink = new MysqlSink({
      ...STACK.mysql,
      database,
      mode: HISTORY,
      groupId: "g",
      offsetsTable: "__cdc_offsets",
      deadLetterTable: "__cdc_dead_letter",
      retryTimeoutMs: 10_000,
      bulkLoad: true,
    });
    const db = await connectMysql();
    try {
      await sink.open(10_000);
      assert.equal(sink.bulkLoad, "ignore", "the stack's MariaDB allows LOAD DATA LOCAL");
      const rows = Math.max(...CASES.map((c) => c.values.length));
      const inserted = targetOf("rows_cdc", "t", plan.columns);
      const loaded = targetOf("lines_cdc", "t", plan.columns, [], sink.bulkLoad);
      for (const target of [inserted, loaded]) {
        await sink.ensureTable(target.table, plan.columns, []);
      }
      const buffer = new BatchBuffer();
      for (let r = 0; r < rows; r++) {
        const after = Object.fromEntries(
          CASES.map((c, i) => [`c${i}`, r < c.values.length ? c.values[r] : null]),
        );
        const event = {
          before: null,
          after,
          source: sourceValue("t", r, 1_700_000_000_000 + r),
          op: r % 2 ? "u" : "c",
          ts_ms: 1_700_000_000_500 + r,
          transaction: null,
        };
        const bytes = Buffer.concat([Buffer.from([0, 0, 0, 0, 42]), schema.type.toBuffer(event)]);
        const position = { partition: 0, offset: r };
        const envelope = decodeAvroPayload(schema, bytes.subarray(5)) as Envelope;
        buffer.addRow(inserted, plan.row(envelope, position));
        plan.line!(bytes, position, () => buffer.textOf(loaded));
        buffer.added();
      }
      buffer.advance("t", 0, rows);
      await sink.write(buffer.drain());

      const names = plan.rowColumns.map((c) => c.name);
      const a = `${quoteIdent(database)}.rows_cdc`, b = `${quoteIdent(database)}.lines_cdc`;
      const [{ n }] = await query<{ n: string }>(
        db,
        `SELECT (SELECT COUNT(*) FROM ${a}) + (SELECT COUNT(*) FROM ${b}) AS n`,
      );
      assert.equal(Number(n), 2 * rows);
      const differing: string[] = [];
      for (const [i, name] of names.entries()) {
        const column = quoteIdent(name);
        const [{ d }] = await query<{ d: string }>(
          db,
          `SELECT COUNT(*) AS d FROM ${a} x JOIN ${b} y USING (__partition, __offset)
            WHERE NOT (x.${column} <=> y.${column})`,
        );
        if (Number(d) > 0) {
          const rule = i < CASES.length ? plan.mappings[i].rules.join("+") : "metadata";
          differing.push(`${name} (${rule}): ${d} rows`);
        }
      }
      assert.deepEqual(differing, [], "columns whose two paths differ once loaded");
    } finally {
      await sink.close();
      await db.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`);
      await db.end();
    }
  },
});
