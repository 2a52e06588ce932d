/**
 * The MySQL/MariaDB dialect: identifier quoting, column types, and the DDL of
 * `_cdc` tables and their evolution. Pure functions; the sink runs the SQL.
 *
 * @module
 */

/** The base names of the column types `cdc` creates. */
export type SqlTypeName =
  | "TINYINT"
  | "SMALLINT"
  | "MEDIUMINT"
  | "INT"
  | "BIGINT"
  | "DECIMAL"
  | "FLOAT"
  | "DOUBLE"
  | "CHAR"
  | "VARCHAR"
  | "TINYTEXT"
  | "TEXT"
  | "MEDIUMTEXT"
  | "LONGTEXT"
  | "BINARY"
  | "VARBINARY"
  | "TINYBLOB"
  | "BLOB"
  | "MEDIUMBLOB"
  | "LONGBLOB"
  | "DATE"
  | "TIME"
  | "DATETIME"
  | "TIMESTAMP"
  | "YEAR"
  | "JSON"
  | "ENUM"
  | "SET"
  | "BIT"
  | "GEOMETRY"
  | "POINT"
  | "LINESTRING"
  | "POLYGON"
  | "MULTIPOINT"
  | "MULTILINESTRING"
  | "MULTIPOLYGON"
  | "GEOMETRYCOLLECTION";

/** A column type, structured so that two can be compared for widening. */
export interface SqlType {
  name: SqlTypeName;
  unsigned?: boolean;
  /** CHAR/VARCHAR/BINARY/VARBINARY length, BIT width. */
  length?: number;
  /** DECIMAL precision and scale. */
  precision?: number;
  scale?: number;
  /** Fractional seconds of TIME/DATETIME/TIMESTAMP. */
  fsp?: number;
  /** ENUM/SET members. */
  values?: readonly string[];
}

/** Back-quotes an identifier; a backtick inside is doubled, so no name can inject SQL. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error("an empty identifier cannot be quoted");
  if (name.includes("\0")) throw new Error(`identifier ${JSON.stringify(name)} contains NUL`);
  return "`" + name.replaceAll("`", "``") + "`";
}

/** A string literal, for ENUM/SET members: quotes and backslashes escaped. */
export function quoteString(value: string): string {
  return "'" + value.replaceAll("\\", "\\\\").replaceAll("'", "''") + "'";
}

/** The SQL spelling of a type, e.g. `DECIMAL(10,2)`, `BIGINT UNSIGNED`, `ENUM('a','b')`. */
export function renderSqlType(type: SqlType): string {
  let sql: string = type.name;
  if (type.name === "DECIMAL") sql += `(${type.precision ?? 10},${type.scale ?? 0})`;
  else if (type.values) sql += `(${type.values.map(quoteString).join(",")})`;
  else if (type.length !== undefined) sql += `(${type.length})`;
  else if (type.fsp) sql += `(${type.fsp})`;
  if (type.unsigned) sql += " UNSIGNED";
  return sql;
}

/** The spatial types: MySQL's GEOMETRY family. */
export const GEOMETRY_TYPES: ReadonlySet<SqlTypeName> = new Set<SqlTypeName>([
  "GEOMETRY",
  "POINT",
  "LINESTRING",
  "POLYGON",
  "MULTIPOINT",
  "MULTILINESTRING",
  "MULTIPOLYGON",
  "GEOMETRYCOLLECTION",
]);

const NAMES = new Set<string>([
  "TINYINT",
  "SMALLINT",
  "MEDIUMINT",
  "INT",
  "BIGINT",
  "DECIMAL",
  "FLOAT",
  "DOUBLE",
  "CHAR",
  "VARCHAR",
  "TINYTEXT",
  "TEXT",
  "MEDIUMTEXT",
  "LONGTEXT",
  "BINARY",
  "VARBINARY",
  "TINYBLOB",
  "BLOB",
  "MEDIUMBLOB",
  "LONGBLOB",
  "DATE",
  "TIME",
  "DATETIME",
  "TIMESTAMP",
  "YEAR",
  "JSON",
  "ENUM",
  "SET",
  "BIT",
  ...GEOMETRY_TYPES,
]); // deno-fmt-ignore

const ALIASES: Record<string, SqlTypeName> = {
  INTEGER: "INT",
  BOOL: "TINYINT",
  BOOLEAN: "TINYINT",
  NUMERIC: "DECIMAL",
  REAL: "DOUBLE",
  "DOUBLE PRECISION": "DOUBLE",
  GEOMCOLLECTION: "GEOMETRYCOLLECTION",
};

/**
 * Parses a column type as `information_schema.COLUMNS.COLUMN_TYPE` shows it
 * (`int(11)`, `bigint(20) unsigned`, `enum('a','b')`, `datetime(3)`).
 * Returns undefined for types `cdc` never creates.
 */
export function parseSqlType(columnType: string): SqlType | undefined {
  const match = /^\s*([a-z ]+?)\s*(?:\((.*)\))?\s*(unsigned)?\s*(zerofill)?\s*$/is.exec(columnType);
  if (!match) return undefined;
  const raw = match[1].toUpperCase();
  const name = (ALIASES[raw] ?? raw) as SqlTypeName;
  if (!NAMES.has(name)) return undefined;
  const args = match[2];
  const type: SqlType = { name };
  if (match[3]) type.unsigned = true;
  if (args === undefined) return type;
  if (name === "ENUM" || name === "SET") {
    type.values = [...args.matchAll(/'((?:[^'\\]|''|\\.)*)'/g)].map((m) =>
      m[1].replaceAll("''", "'").replace(/\\(.)/g, "$1")
    );
  } else if (name === "DECIMAL") {
    const [p, s] = args.split(",").map(Number);
    type.precision = p;
    type.scale = s ?? 0;
  } else if (name === "TIME" || name === "DATETIME" || name === "TIMESTAMP") {
    if (Number(args) > 0) type.fsp = Number(args);
  } else if (["CHAR", "VARCHAR", "BINARY", "VARBINARY", "BIT"].includes(name)) {
    type.length = Number(args);
  } // integer display widths carry no meaning: dropped
  return type;
}

const INTEGER_BITS: Partial<Record<SqlTypeName, number>> = {
  TINYINT: 8,
  SMALLINT: 16,
  MEDIUMINT: 24,
  INT: 32,
  BIGINT: 64,
};

/** The inclusive range of an integer type. */
function integerRange(type: SqlType): [bigint, bigint] {
  const bits = BigInt(INTEGER_BITS[type.name]!);
  return type.unsigned ? [0n, 2n ** bits - 1n] : [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n];
}

const STRING_CAPACITY: Partial<Record<SqlTypeName, number>> = {
  TINYTEXT: 255,
  TEXT: 65_535,
  MEDIUMTEXT: 16_777_215,
  LONGTEXT: 4_294_967_295,
  TINYBLOB: 255,
  BLOB: 65_535,
  MEDIUMBLOB: 16_777_215,
  LONGBLOB: 4_294_967_295,
};

type Family =
  | "integer"
  | "decimal"
  | "float"
  | "text"
  | "binary"
  | "date"
  | "time"
  | "datetime"
  | "year"
  | "json"
  | "enum"
  | "set"
  | "bit"
  | "geometry";

function family(type: SqlType): Family {
  const n = type.name;
  if (n in INTEGER_BITS) return "integer";
  if (n === "DECIMAL") return "decimal";
  if (n === "FLOAT" || n === "DOUBLE") return "float";
  if (n === "CHAR" || n === "VARCHAR" || n.endsWith("TEXT")) return "text";
  if (n === "BINARY" || n === "VARBINARY" || n.endsWith("BLOB")) return "binary";
  if (n === "DATETIME" || n === "TIMESTAMP") return "datetime";
  if (n === "DATE") return "date";
  if (n === "TIME") return "time";
  if (n === "YEAR") return "year";
  if (n === "JSON") return "json";
  if (n === "ENUM") return "enum";
  if (n === "SET") return "set";
  if (n === "BIT") return "bit";
  return "geometry";
}

/** Characters (text) or bytes (binary) a string-like type holds. */
function capacity(type: SqlType): number {
  return type.length ?? STRING_CAPACITY[type.name] ?? 0;
}

/** Characters in the longest value of an ENUM (one member) or a SET (all members). */
function longestValue(type: SqlType): number {
  const lengths = (type.values ?? []).map((v) => [...v].length);
  return type.name === "SET"
    ? lengths.reduce((sum, n) => sum + n, Math.max(0, lengths.length - 1))
    : Math.max(0, ...lengths);
}

/**
 * What to do when a column of type `existing` must now hold values of type
 * `wanted`:
 * - `{ action: "keep" }`: every value of `wanted` fits already;
 * - `{ action: "modify", type }`: widen the column to `type`, losslessly;
 * - `{ action: "incompatible" }`: no lossless column holds both.
 */
export function reconcileTypes(
  existing: SqlType,
  wanted: SqlType,
): { action: "keep" } | { action: "modify"; type: SqlType } | { action: "incompatible" } {
  const keep = { action: "keep" } as const;
  const incompatible = { action: "incompatible" } as const;
  const modify = (type: SqlType) => ({ action: "modify", type }) as const;
  const fam = family(existing);
  // MariaDB reports JSON as LONGTEXT: a JSON value fits any LONGTEXT.
  if (fam === "text" && existing.name === "LONGTEXT" && wanted.name === "JSON") return keep;
  // ENUM/SET values are text: they fit a VARCHAR or TEXT column as long as their longest value.
  const wantedFam = family(wanted);
  if ((fam === "enum" || fam === "set") && wantedFam === "text" && wanted.name !== "CHAR") {
    return capacity(wanted) >= longestValue(existing) ? modify(wanted) : incompatible;
  }
  if (fam === "text" && existing.name !== "CHAR" && (wantedFam === "enum" || wantedFam === "set")) {
    return capacity(existing) >= longestValue(wanted) ? keep : incompatible;
  }
  if (fam !== wantedFam) return incompatible;
  switch (fam) {
    case "integer": {
      const [emin, emax] = integerRange(existing);
      const [wmin, wmax] = integerRange(wanted);
      if (wmin >= emin && wmax <= emax) return keep;
      const lo = wmin < emin ? wmin : emin;
      const hi = wmax > emax ? wmax : emax;
      for (const name of ["TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT"] as const) {
        for (const unsigned of [false, true]) {
          const [min, max] = integerRange({ name, unsigned });
          if (min <= lo && max >= hi) return modify(unsigned ? { name, unsigned } : { name });
        }
      }
      return incompatible; // BIGINT and BIGINT UNSIGNED: no integer type holds both
    }
    case "decimal": {
      const es = existing.scale ?? 0, ws = wanted.scale ?? 0;
      const ei = (existing.precision ?? 10) - es, wi = (wanted.precision ?? 10) - ws;
      if (ws <= es && wi <= ei) return keep;
      const scale = Math.max(es, ws), precision = Math.max(ei, wi) + scale;
      return precision <= 65 && scale <= 30
        ? modify({ name: "DECIMAL", precision, scale })
        : incompatible;
    }
    case "float":
      return existing.name === "DOUBLE" || wanted.name === "FLOAT" ? keep : modify(wanted);
    case "text":
    case "binary": {
      if (capacity(wanted) <= capacity(existing)) return keep;
      // CHAR pads and strips trailing spaces: widen within VARCHAR, never into CHAR.
      const fixed = existing.name === "CHAR" || existing.name === "BINARY";
      if (fixed && (wanted.name === "CHAR" || wanted.name === "BINARY")) {
        return capacity(wanted) <= 255 ? modify(wanted) : incompatible;
      }
      if (fixed) return incompatible;
      return modify(wanted);
    }
    case "time":
    case "datetime":
      if ((wanted.fsp ?? 0) <= (existing.fsp ?? 0)) return keep;
      return modify({ ...existing, fsp: wanted.fsp });
    case "enum":
    case "set": {
      const have = new Set(existing.values);
      const added = (wanted.values ?? []).filter((v) => !have.has(v));
      if (added.length === 0) return keep;
      return modify({ name: existing.name, values: [...(existing.values ?? []), ...added] });
    }
    case "bit":
      return (wanted.length ?? 1) <= (existing.length ?? 1) ? keep : modify(wanted);
    case "geometry":
      if (existing.name === wanted.name || existing.name === "GEOMETRY") return keep;
      return modify({ name: "GEOMETRY" });
    default: // date, year, json: one type each
      return keep;
  }
}

/** A column of a `_cdc` table. */
export interface ColumnDef {
  name: string;
  type: SqlType;
  nullable: boolean;
}

/** The metadata columns every `_cdc` table ends with (SPEC section 3). */
export const METADATA_COLUMNS: readonly ColumnDef[] = [
  { name: "__op", type: { name: "CHAR", length: 1 }, nullable: false },
  { name: "__ts", type: { name: "DATETIME", fsp: 3 }, nullable: true },
  { name: "__source_ts", type: { name: "DATETIME", fsp: 3 }, nullable: true },
  { name: "__source_pos", type: { name: "VARCHAR", length: 512 }, nullable: true },
  { name: "__partition", type: { name: "INT" }, nullable: false },
  { name: "__offset", type: { name: "BIGINT" }, nullable: false },
];

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

/**
 * `CREATE TABLE IF NOT EXISTS` for a `_cdc` table: the source columns (all
 * nullable: deletes and truncates leave them empty), then the metadata, keyed
 * by the Kafka position so that every write is idempotent.
 */
export function cdcTableDdl(
  database: string,
  table: string,
  columns: readonly ColumnDef[],
): string {
  const all = [...columns.map((c) => ({ ...c, nullable: true })), ...METADATA_COLUMNS];
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(database, table)} (\n  ${
    all.map(columnDdl).join(",\n  ")
  },\n  PRIMARY KEY (\`__partition\`, \`__offset\`)\n) ${TABLE_OPTIONS}`;
}

/** `ALTER TABLE ... ADD COLUMN`, placed after `after` (or FIRST when undefined). */
export function addColumnDdl(
  database: string,
  table: string,
  column: ColumnDef,
  after: string | undefined,
): string {
  return `ALTER TABLE ${qualifiedName(database, table)} ADD COLUMN ${
    columnDdl({ ...column, nullable: true })
  } ${after === undefined ? "FIRST" : `AFTER ${quoteIdent(after)}`}`;
}

/** `ALTER TABLE ... MODIFY COLUMN` widening a column. */
export function modifyColumnDdl(database: string, table: string, column: ColumnDef): string {
  return `ALTER TABLE ${qualifiedName(database, table)} MODIFY COLUMN ${
    columnDdl({ ...column, nullable: true })
  }`;
}

/** The table of stored positions, written in the same transaction as the rows. */
export function offsetsTableDdl(database: string, table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(database, table)} (
  \`group_id\` VARCHAR(255) NOT NULL,
  \`topic\` VARCHAR(249) NOT NULL,
  \`partition\` INT NOT NULL,
  \`next_offset\` BIGINT NOT NULL,
  \`updated_at\` DATETIME(3) NOT NULL,
  PRIMARY KEY (\`group_id\`, \`topic\`, \`partition\`)
) ${TABLE_OPTIONS}`;
}

/** The dead-letter table: raw records that could not be decoded or mapped, and why. */
export function deadLetterTableDdl(database: string, table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(database, table)} (
  \`group_id\` VARCHAR(255) NOT NULL,
  \`topic\` VARCHAR(249) NOT NULL,
  \`partition\` INT NOT NULL,
  \`offset\` BIGINT NOT NULL,
  \`key\` LONGBLOB NULL,
  \`value\` LONGBLOB NULL,
  \`reason\` VARCHAR(64) NOT NULL,
  \`error\` TEXT NOT NULL,
  \`failed_at\` DATETIME(3) NOT NULL,
  PRIMARY KEY (\`group_id\`, \`topic\`, \`partition\`, \`offset\`)
) ${TABLE_OPTIONS}`;
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
