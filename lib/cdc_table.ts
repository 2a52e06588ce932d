/**
 * The `_cdc` row contract (SPEC section 3): the source columns, then the
 * metadata columns, each declared with the function that computes it, keyed by
 * the Kafka position so that every write is idempotent.
 *
 * @module
 */
import { type ColumnDef, createTableDdl } from "./dialect.ts";
import { type Envelope, type KafkaPosition, sourcePosition } from "./debezium.ts";
import { formatDateTimeMillis, type SqlValue } from "./type_mapping.ts";

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
