/**
 * Fixtures for the sink's tests (not part of the program): targets as the pipeline makes them,
 * and change rows as it hands them to a sink mode: an `id` key and a `v` column, then the
 * metadata, with offsets counting up across the rows made.
 *
 * @module
 */
import { METADATA_COLUMNS, rowLayout } from "../debezium/cdc_row.ts";
import type { ColumnDef } from "../mysql/dialect.ts";
import type { DuplicateKeys } from "../mysql/load_data.ts";
import type { SqlValue } from "../mysql/values.ts";
import { type RowTarget, rowTarget } from "./batch.ts";

/**
 * The target of rows of source columns named `names` (TEXT, or the types of `columns`) then
 * the metadata, in `table` fed by `topic`.
 */
export function targetOf(
  table: string,
  topic: string,
  columns: readonly (string | ColumnDef)[],
  key: readonly string[] = [],
  bulkLoad?: DuplicateKeys,
): RowTarget {
  const defs = columns.map((c): ColumnDef =>
    typeof c === "string" ? { name: c, type: { name: "TEXT" }, nullable: true } : c
  );
  return rowTarget(table, topic, [...defs, ...METADATA_COLUMNS], key, bulkLoad);
}

/** The row's column names: source columns, then the metadata of `cdc_table.ts`. */
export const CHANGE_COLUMNS: readonly string[] = [
  "id",
  "v",
  "__op",
  "__ts",
  "__source_ts",
  "__source_pos",
  "__partition",
  "__offset",
];

/** Where `CHANGE_COLUMNS` rows keep their values, keyed by `id`. */
export const CHANGE_LAYOUT = rowLayout(CHANGE_COLUMNS, ["id"]);

let nextOffset = 0;

/** A change of key `id` (null for a truncate) committed at second `at` of 2026-01-01 00:00. */
export function change(
  op: string,
  id: number | null,
  v: string | null = null,
  at = "00",
): SqlValue[] {
  return [id, v, op, null, `2026-01-01 00:00:${at}.000`, null, 0, nextOffset++];
}
