/**
 * The Debezium change event as `cdc` reads it: the envelope's fields, its
 * operation codes and the parts of its `source` block that locate a change.
 *
 * @module
 */

import type { AvroField, AvroSchema } from "../avro/schema.ts";
import { BadInputError } from "../util/errors.ts";

/** Debezium's operation codes: create, update, delete, snapshot read, truncate. */
export type Op = "c" | "u" | "d" | "r" | "t";

const OPS: ReadonlySet<string> = new Set<Op>(["c", "u", "d", "r", "t"]);

/** True for one of Debezium's operation codes. */
export function isOp(op: string): op is Op {
  return OPS.has(op);
}

/** The fields of a Debezium envelope that `cdc` reads, as avsc decodes them. */
export interface Envelope {
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  source?: Record<string, unknown> | null;
  op: string;
  ts_ms?: number | bigint | null;
  /**
   * The source transaction the change belongs to, with `provide.transaction.metadata`
   * (null for snapshot reads and changes outside a transaction).
   */
  transaction?: TransactionBlock | null;
}

/** Debezium's `transaction` block of a change event. */
export interface TransactionBlock {
  id: string;
  /** The event's place among all of the transaction's events, from 1. */
  total_order: number | bigint;
  /** The event's place among the transaction's events of its table, from 1. */
  data_collection_order: number | bigint;
}

/** The row image an op carries: the state after it, or before a delete; truncate has none. */
const IMAGE_OF = { c: "after", u: "after", r: "after", d: "before", t: undefined } as const;

/**
 * The side of the envelope whose row image `op` writes, or undefined for none (truncate);
 * `has` tells whether the event carries an image on a side. Throws
 * {@linkcode BadInputError} for an unknown op, or an event without the image its op needs.
 */
export function imageSide(
  op: string,
  has: (side: "before" | "after") => boolean,
): "before" | "after" | undefined {
  if (!isOp(op)) throw new BadInputError("not-debezium-envelope", `unknown Debezium op "${op}"`);
  const side = IMAGE_OF[op];
  if (side && !has(side)) {
    throw new BadInputError(
      "missing-row-image",
      `a "${op}" event without its "${side}" image: there is no row to write`,
    );
  }
  return side;
}

/** Where a record sits in Kafka. */
export interface KafkaPosition {
  partition: number;
  offset: number;
}

/** `file:pos:row` of the binlog, and the GTID where present. */
export function sourcePosition(source: Record<string, unknown> | null | undefined): string | null {
  if (!source || source.file == null) return null;
  const position = `${source.file}:${source.pos ?? 0}:${source.row ?? 0}`;
  return source.gtid ? `${position} gtid=${source.gtid}` : position;
}

/**
 * Debezium marks the last read of a table's snapshot (`last_in_data_collection`)
 * and the last of the whole snapshot (`last`) in `source.snapshot`.
 */
export function isLastSnapshotRead(envelope: Envelope): boolean {
  const mark = envelope.source?.snapshot;
  return mark === "last" || mark === "last_in_data_collection";
}

/** The envelope fields `cdc stream` reads, and those of the `source` block. */
export const READ_FIELDS: ReadonlySet<string> = new Set([
  "before",
  "after",
  "source",
  "op",
  "ts_ms",
  "transaction",
]);
export const READ_SOURCE_FIELDS: ReadonlySet<string> = new Set([
  "ts_ms",
  "snapshot",
  "file",
  "pos",
  "row",
  "gtid",
]);

/**
 * The reader schema of a Debezium envelope for `cdc stream`: the writer's schema
 * without the fields it never reads (`ts_us`, `ts_ns`, most of the `source` block), so
 * that decoding skips them instead of building their strings.
 * Undefined for a schema that is not an envelope.
 */
export function envelopeReaderSchema(schema: AvroSchema): AvroSchema | undefined {
  if (typeof schema !== "object" || Array.isArray(schema) || schema.type !== "record") {
    return undefined;
  }
  const fields = schema.fields ?? [];
  const has = (name: string) => fields.some((f) => f.name === name);
  if (!has("op") || !(has("before") || has("after")) || !has("source")) return undefined;
  const keep = (field: AvroField): AvroField => {
    if (field.name !== "source") return field;
    const source = field.type;
    if (typeof source !== "object" || Array.isArray(source) || !source.fields) return field;
    return {
      ...field,
      type: { ...source, fields: source.fields.filter((f) => READ_SOURCE_FIELDS.has(f.name)) },
    };
  };
  return { ...schema, fields: fields.filter((f) => READ_FIELDS.has(f.name)).map(keep) };
}
