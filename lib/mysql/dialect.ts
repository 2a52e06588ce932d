/**
 * The MySQL/MariaDB dialect: identifier quoting, table DDL and its evolution.
 * Pure functions; the sink runs the SQL. Column types are described in
 * `sql_types.ts`.
 *
 * @module
 */
import { parseSqlType, reconcileTypes, renderSqlType, type SqlType } from "./sql_types.ts";

/** Back-quotes an identifier; a backtick inside is doubled, so no name can inject SQL. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error("an empty identifier cannot be quoted");
  if (name.includes("\0")) throw new Error(`identifier ${JSON.stringify(name)} contains NUL`);
  return "`" + name.replaceAll("`", "``") + "`";
}

/** A column of a `_cdc` table. */
export interface ColumnDef {
  name: string;
  type: SqlType;
  nullable: boolean;
}

/** A qualified table name: `db`.`table`. */
export function qualifiedName(database: string, table: string): string {
  return `${quoteIdent(database)}.${quoteIdent(table)}`;
}

function columnDdl(column: ColumnDef): string {
  return `${quoteIdent(column.name)} ${renderSqlType(column.type)}${
    column.nullable ? " NULL" : " NOT NULL"
  }`;
}

const TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/** `CREATE TABLE IF NOT EXISTS` with `columns` in order and `primaryKey`. */
export function createTableDdl(
  database: string,
  table: string,
  columns: readonly ColumnDef[],
  primaryKey: readonly string[],
  indexes: readonly TableIndex[] = [],
): string {
  const parts = [
    ...columns.map(columnDdl),
    `PRIMARY KEY (${primaryKey.map(quoteIdent).join(", ")})`,
    ...indexes.map((i) => `KEY ${quoteIdent(i.name)} (${i.columns.map(quoteIdent).join(", ")})`),
  ];
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(database, table)} (\n  ${
    parts.join(",\n  ")
  }\n) ${TABLE_OPTIONS}`;
}

/**
 * `CREATE TEMPORARY TABLE` of a batch's staging table: a sequence in load order (`__seq`), then
 * `columns` with their server types (`COLUMN_TYPE` as the target shows it), every one nullable
 * (a truncate's line has no key), and a unique key on `unique` (LOAD DATA ... REPLACE then keeps
 * each key's last line). Temporary: private to the connection, and created or dropped without
 * committing the transaction, unlike other DDL.
 */
export function stageTableDdl(
  database: string,
  stage: string,
  columns: readonly ExistingColumn[],
  unique: readonly string[],
): string {
  const parts = [
    "`__seq` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
    ...columns.map((c) => `${quoteIdent(c.name)} ${c.columnType} NULL`),
    ...(unique.length ? [`UNIQUE KEY (${unique.map(quoteIdent).join(", ")})`] : []),
  ];
  return `CREATE TEMPORARY TABLE ${qualifiedName(database, stage)} (\n  ${
    parts.join(",\n  ")
  }\n) ${TABLE_OPTIONS}`;
}

/** A secondary index of a table: its name and columns. */
export interface TableIndex {
  name: string;
  columns: readonly string[];
}

/** `ALTER TABLE ... ADD COLUMN`, placed after `after` (or FIRST when undefined). */
export function addColumnDdl(
  database: string,
  table: string,
  column: ColumnDef,
  after: string | undefined,
): string {
  return `ALTER TABLE ${qualifiedName(database, table)} ADD COLUMN ${columnDdl(column)} ${
    after === undefined ? "FIRST" : `AFTER ${quoteIdent(after)}`
  }`;
}

/** `ALTER TABLE ... MODIFY COLUMN` widening a column. */
export function modifyColumnDdl(database: string, table: string, column: ColumnDef): string {
  return `ALTER TABLE ${qualifiedName(database, table)} MODIFY COLUMN ${columnDdl(column)}`;
}

/** A column as the sink reads it from `information_schema`. */
export interface ExistingColumn {
  name: string;
  /** `COLUMN_TYPE` as the server shows it. */
  columnType: string;
}

/** A schema change that would lose data: `cdc` stops rather than apply it. */
export class IncompatibleSchemaChangeError extends Error {
  constructor(
    readonly table: string,
    readonly column: string,
    readonly oldType: string,
    readonly newType: string,
  ) {
    super(
      `table ${table}, column ${quoteIdent(column)}: the source type changed from ${oldType} ` +
        `to ${newType}, which the existing column cannot hold without loss; ` +
        `migrate the _cdc column by hand (or rename the table to start a new history) and restart`,
    );
    this.name = "IncompatibleSchemaChangeError";
  }
}

/**
 * The DDL that lets an existing `_cdc` table hold rows of a new schema:
 * ADD COLUMN for new fields (placed after their predecessor), MODIFY for
 * lossless widenings. Columns no longer in the schema stay (NULL from now on).
 * Throws {@linkcode IncompatibleSchemaChangeError} for any other change.
 */
export function evolveTableDdl(
  database: string,
  table: string,
  existing: readonly ExistingColumn[],
  wanted: readonly ColumnDef[],
): string[] {
  const have = new Map(existing.map((c) => [c.name.toLowerCase(), c]));
  const statements: string[] = [];
  wanted.forEach((column, i) => {
    const current = have.get(column.name.toLowerCase());
    if (!current) {
      statements.push(
        addColumnDdl(database, table, column, i === 0 ? undefined : wanted[i - 1].name),
      );
      return;
    }
    const currentType = parseSqlType(current.columnType);
    const wantedSql = renderSqlType(column.type);
    const decision = currentType ? reconcileTypes(currentType, column.type) : undefined;
    if (decision?.action === "keep") return;
    if (decision?.action === "modify") {
      statements.push(modifyColumnDdl(database, table, { ...column, type: decision.type }));
      return;
    }
    if (!currentType && current.columnType.toUpperCase() === wantedSql.toUpperCase()) return;
    throw new IncompatibleSchemaChangeError(
      qualifiedName(database, table),
      column.name,
      current.columnType.toUpperCase(),
      wantedSql,
    );
  });
  return statements;
}
