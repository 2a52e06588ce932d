/**
 * The `_cdc` row contract (SPEC section 3): the source columns, then the
 * metadata columns, each declared with the function that computes it, keyed by
 * the Kafka position so that every write is idempotent.
 *
 * @module
 */
import { type ColumnDef, createTableDdl } from "../mysql/dialect.ts";
import { type Envelope, type KafkaPosition, type Op, sourcePosition } from "./envelope.ts";
import { formatDateTimeMillis } from "./type_mapping.ts";
import type { SqlValue } from "../mysql/values.ts";

/** A metadata column and how its value comes from an event. */
export interface MetadataColumn extends ColumnDef {
  value(envelope: Envelope, position: KafkaPosition): SqlValue;
}

function millisToDateTime(ms: unknown): string | null {
  return ms === null || ms === undefined ? null : formatDateTimeMillis(ms as number | bigint);
}

/** The metadata columns every `_cdc` table ends with, in this order. */
export const METADATA_COLUMNS: readonly MetadataColumn[] = [
  {
    name: "__op",
    type: { name: "CHAR", length: 1 },
    nullable: false,
    value: (e) => e.op,
  },
  {
    name: "__ts",
    type: { name: "DATETIME", fsp: 3 },
    nullable: true,
    value: (e) => millisToDateTime(e.ts_ms),
  },
  {
    name: "__source_ts",
    type: { name: "DATETIME", fsp: 3 },
    nullable: true,
    value: (e) => millisToDateTime(e.source?.ts_ms),
  },
  {
    name: "__source_pos",
    type: { name: "VARCHAR", length: 512 },
    nullable: true,
    value: (e) => sourcePosition(e.source),
  },
  {
    name: "__partition",
    type: { name: "INT" },
    nullable: false,
    value: (_, p) => p.partition,
  },
  {
    name: "__offset",
    type: { name: "BIGINT" },
    nullable: false,
    value: (_, p) => p.offset,
  },
];

/** The key of a `_cdc` table: the Kafka position. */
export const CDC_PRIMARY_KEY: readonly string[] = ["__partition", "__offset"];

/** True when a source column would take a metadata column's name (case-insensitively). */
export function isMetadataColumn(name: string): boolean {
  const lower = name.toLowerCase();
  return METADATA_COLUMNS.some((c) => c.name === lower);
}

/**
 * `CREATE TABLE IF NOT EXISTS` for a `_cdc` table: the source columns (all
 * nullable: deletes and truncates leave them empty), then the metadata.
 */
export function cdcTableDdl(
  database: string,
  table: string,
  columns: readonly ColumnDef[],
): string {
  return createTableDdl(
    database,
    table,
    [...columns.map((c) => ({ ...c, nullable: true })), ...METADATA_COLUMNS],
    CDC_PRIMARY_KEY,
  );
}

/** Where the metadata values sit in a row of `columnNames`. */
export interface RowLayout {
  op: number;
  sourceTs: number;
  ts: number;
  partition: number;
  offset: number;
  /** The key columns' indexes, in key order. */
  key: number[];
}

/** The layout of rows with `columnNames`, keyed by `keyColumns`. */
export function rowLayout(
  columnNames: readonly string[],
  keyColumns: readonly string[],
): RowLayout {
  const at = (name: string) => {
    const i = columnNames.indexOf(name);
    if (i < 0) throw new Error(`no column ${name} in the row`);
    return i;
  };
  return {
    op: at("__op"),
    sourceTs: at("__source_ts"),
    ts: at("__ts"),
    partition: at("__partition"),
    offset: at("__offset"),
    key: keyColumns.map(at),
  };
}

/** The op of a row. */
export function opOf(row: readonly SqlValue[], layout: RowLayout): Op {
  return row[layout.op] as Op;
}
