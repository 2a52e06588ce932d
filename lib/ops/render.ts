/**
 * Decoded Avro values as readable JSON for `cdc tail`: row columns rendered
 * as they land in `_cdc` (decimals as exact text, dates and times as text,
 * bytes as `0x` hex), longs beyond 2^53 as strings so they stay exact.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { AvroRecordSchema, AvroSchema, NamedTypes } from "../avro/schema.ts";
import { isRecord, namedTypes, unwrapOptional } from "../avro/schema.ts";
import type { MappingOptions } from "../debezium/type_mapping.ts";
import type { SqlValue } from "../mysql/values.ts";
import { mapField, UnmappableTypeError } from "../debezium/type_mapping.ts";

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | {
  [key: string]: JsonValue;
};

/** Renders one decoded value of a known schema. */
export type Renderer = (value: unknown) => JsonValue;

/** Any decoded Avro value without its schema: bigints, bytes and nesting made JSON. */
export function plainJson(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return exactNumber(value);
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (value instanceof Uint8Array) return hex(value);
  if (Array.isArray(value)) return value.map(plainJson);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainJson(v)]));
  }
  return String(value);
}

/** A `_cdc` column value as JSON. */
export function sqlValueJson(value: SqlValue): JsonValue {
  if (value === null) return null;
  if (typeof value === "object" && !(value instanceof Uint8Array)) return value.toSqlString();
  return plainJson(value);
}

function exactNumber(n: bigint): number | string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(n)
    : n.toString();
}

function hex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")}`;
}

/** Renders a record column by column with the `_cdc` type mapping. */
function recordRenderer(
  record: AvroRecordSchema,
  names: NamedTypes,
  options: MappingOptions,
): Renderer {
  const columns = record.fields.map((field) => {
    try {
      // shown under the source's column name, as in `_cdc`
      const { name, convert } = mapField(field, names, options);
      return { name, field: field.name, render: (v: unknown) => sqlValueJson(convert(v)) };
    } catch (error) {
      // a column cdc could not store is still worth seeing
      if (!(error instanceof UnmappableTypeError)) throw error;
      return { name: field.name, field: field.name, render: plainJson };
    }
  });
  return (value) => {
    if (value === null || value === undefined) return null;
    const row = value as Record<string, unknown>;
    return Object.fromEntries(columns.map((c) => [c.name, c.render(row[c.field])]));
  };
}

/**
 * Compiles the renderer for values of `schema`: a Debezium envelope's
 * `before`/`after` and a key record column by column, everything else plainly.
 */
export function compileRenderer(schema: AvroSchema, options: MappingOptions): Renderer {
  const names = namedTypes(schema);
  if (!isRecord(schema)) return plainJson;
  const isEnvelope = schema.fields.some((f) => f.name === "op") &&
    schema.fields.some((f) => f.name === "before" || f.name === "after");
  if (!isEnvelope) return recordRenderer(schema, names, options);
  const fields = schema.fields.map((field) => {
    const image = unwrapOptional(field.type, names).schema;
    const render = (field.name === "before" || field.name === "after") && isRecord(image)
      ? recordRenderer(image, names, options)
      : plainJson;
    return { name: field.name, render };
  });
  return (value) => {
    if (value === null || value === undefined) return null;
    const event = value as Record<string, unknown>;
    return Object.fromEntries(fields.map((f) => [f.name, f.render(event[f.name])]));
  };
}
