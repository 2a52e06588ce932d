/**
 * Sink modes: what a target table holds and how a batch of change rows lands
 * in it. Every mode receives the same rows (source columns in source order,
 * then the metadata of `cdc_table.ts`) and writes them inside the batch's
 * transaction, beside the stored positions.
 *
 * - `history` (`{table}_cdc`): one row per change event.
 * - `mirror` (`{table}_mirror`): one row per source key, equal to the source row.
 * - `scd2` (`{table}_scd2`): every version of every row with its validity interval.
 *
 * @module
 */
import mysql from "mysql2/promise";
import { Buffer } from "node:buffer";
import type { TableRows } from "../batch.ts";
import type { DuplicateKeys, LoadDataText } from "../../mysql/load_data.ts";
import type { ColumnDef } from "../../mysql/dialect.ts";
import type { SqlValue } from "../../mysql/values.ts";
import { opOf, type RowLayout } from "../../debezium/cdc_row.ts";

/** The names of the modes. */
export type ModeName = "history" | "mirror" | "scd2";

/** Runs one statement inside the batch's transaction and returns its result rows. */
export type SqlRunner = (sql: string, values?: unknown[]) => Promise<unknown>;

/**
 * Runs a `LOAD DATA LOCAL INFILE` of `text` inside the batch's transaction, then the statements
 * `after` in the same round trip, and returns their results; rejects when the server would have
 * stored a value other than the one sent, or refuses the statement. `table` names the target in
 * messages.
 */
export type LoadRunner = (
  table: string,
  statement: string,
  text: LoadDataText,
  after?: readonly string[],
) => Promise<unknown[]>;

/** A staging table's columns (the target's, by name) and its unique key (none when empty). */
export interface StageSpec {
  columns: readonly string[];
  unique: readonly string[];
}

/**
 * Per partition of a table's topic, the next offset another process of the group stored: the
 * table's rows below it were applied already and must be dropped. Given only for rows held as
 * LOAD DATA text (rows held as values are filtered by the sink).
 */
export type Fence = ReadonlyMap<number, number>;

/** Where a mode writes, and how large one statement may be. */
export interface WriteTarget {
  database: string;
  /**
   * The longest statement, in characters: a third of the server's packet limit, since a
   * UTF-16 character is at most 3 bytes of UTF-8.
   */
  maxStatementLength: number;
  /** Bulk loading, for rows buffered as LOAD DATA text. */
  load: LoadRunner;
  /**
   * The name (unqualified, in `database`) of `table`'s staging table on this connection, for a
   * mode with {@linkcode SinkMode.stageOf}: empty at the start of each batch, with the columns it
   * asked for and a `__seq` in load order.
   */
  stage(rows: TableRows): string;
}

/** A sink mode. */
export interface SinkMode {
  name: ModeName;
  /** The target table's name when `--table-template` is not given. */
  defaultTemplate: string;
  /** True when every table needs the source's primary key (from the Kafka key). */
  needsKey: boolean;
  /**
   * Set when the mode's rows can be bulk-loaded (LOAD DATA), with what a row whose key
   * is in the table already does.
   */
  bulkLoad?: DuplicateKeys;
  /**
   * True when a replayed change would change the result (an upsert, a version): the
   * batch then drops changes below the positions stored by any process of the group,
   * read under a lock in the same transaction.
   */
  fenced: boolean;
  /**
   * The staging table a table's rows may go through (a temporary table, see
   * {@linkcode WriteTarget.stage}), or undefined for none: the sink creates it before each
   * batch's transaction where it is missing.
   */
  stageOf?(rows: TableRows): StageSpec | undefined;
  /** The source columns as the target holds them (which may be NULL). */
  sourceColumns(columns: readonly ColumnDef[], key: readonly string[]): ColumnDef[];
  /** `CREATE TABLE IF NOT EXISTS` for the target, from its {@linkcode sourceColumns}. */
  createTableDdl(
    database: string,
    table: string,
    columns: readonly ColumnDef[],
    key: readonly string[],
  ): string;
  /**
   * Writes one table's rows of a batch, in offset order, through `run`; for rows held as text
   * in a fenced mode, `fence` tells which of them were applied already.
   */
  write(run: SqlRunner, target: WriteTarget, rows: TableRows, fence?: Fence): Promise<void>;
}

/** Every source column nullable: deletes and truncates leave them empty, keys included. */
export function allNullable(columns: readonly ColumnDef[]): ColumnDef[] {
  return columns.map((c) => ({ ...c, nullable: true }));
}

/**
 * Splits rows at truncates: each segment is the rows before a truncate (or the
 * end), and whether a truncate follows them.
 */
export function segmentsAtTruncates(
  rows: readonly SqlValue[][],
  layout: RowLayout,
): { rows: SqlValue[][]; truncate?: SqlValue[] }[] {
  const segments: { rows: SqlValue[][]; truncate?: SqlValue[] }[] = [];
  let current: SqlValue[][] = [];
  for (const row of rows) {
    if (opOf(row, layout) === "t") {
      segments.push({ rows: current, truncate: row });
      current = [];
    } else current.push(row);
  }
  if (current.length) segments.push({ rows: current });
  return segments;
}

/** A row's key as text, the same for the same key values: groups changes by key. */
export function keyText(row: readonly SqlValue[], layout: RowLayout): string {
  return mysql.format("?", [layout.key.map((i) => row[i])]);
}

/** Splits preformatted items into chunks whose text stays under `maxBytes` (at least one each). */
export function packItems(
  items: readonly string[],
  overhead: number,
  maxBytes: number,
): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let size = overhead;
  for (const item of items) {
    if (chunk.length > 0 && size + item.length + 1 > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      size = overhead;
    }
    chunk.push(item);
    size += item.length + 1;
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}

/**
 * A value as a SQL literal: numbers as they are, strings escaped by the driver's
 * escaper, bytes as hex, fragments `cdc` built itself (geometry) as their SQL.
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return "NULL";
  switch (typeof value) {
    case "number":
    case "bigint":
      return String(value);
    case "string":
      return mysql.escape(value);
    default:
      return Buffer.isBuffer(value) ? `X'${value.toString("hex")}'` : value.toSqlString();
  }
}

/**
 * A tuple as SQL, `(1, 'a', NULL)`. Built value by value: formatting `?` through the
 * driver per row scanned the placeholder text each time (a tenth of the stream's CPU).
 */
export function sqlTuple(values: readonly SqlValue[]): string {
  let sql = "(";
  for (let i = 0; i < values.length; i++) sql += (i ? ", " : "") + sqlLiteral(values[i]);
  return sql + ")";
}

/**
 * Multi-row statements `head (tuple),(tuple)... tail`, as few as fit under
 * `maxLength` characters (at least one tuple each), built by appending.
 */
export function multiRowStatements(
  head: string,
  tuples: readonly (readonly SqlValue[])[],
  tail: string,
  maxLength: number,
): string[] {
  const statements: string[] = [];
  let sql = "";
  for (const tuple of tuples) {
    const text = sqlTuple(tuple);
    if (sql && sql.length + text.length + 1 + tail.length > maxLength) {
      statements.push(sql + tail);
      sql = "";
    }
    sql = sql ? `${sql},${text}` : head + text;
  }
  if (sql) statements.push(sql + tail);
  return statements;
}

/** Runs each statement in order. */
export async function runAll(run: SqlRunner, statements: readonly string[]): Promise<void> {
  for (const statement of statements) await run(statement);
}
