/**
 * The MySQL/MariaDB column types `cdc` creates, described once: {@linkcode SQL_TYPES}
 * gives each type's family, its parameters and their limits, its width. Parsing what
 * `information_schema` shows, rendering DDL, validating parameters and deciding
 * lossless widenings all read that table, so adding a type is one entry.
 *
 * @module
 */

/** Types that hold the same kind of value; widening happens within a family. */
export type Family =
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

/** What a type takes in parentheses. */
type Parameters = "none" | "length" | "decimal" | "fsp" | "members";

/** One row of the table. */
interface SqlTypeSpec {
  family: Family;
  parameters: Parameters;
  /** Integer types: bits of storage. */
  bits?: number;
  /** TEXT/BLOB types: characters or bytes they hold. */
  capacity?: number;
  /** Types with a length: the largest the server accepts. */
  maxLength?: number;
  /** CHAR and BINARY pad their values: never widened into or out of. */
  fixed?: boolean;
}

/** Every column type `cdc` creates or reads back. */
export const SQL_TYPES = {
  TINYINT: { family: "integer", parameters: "none", bits: 8 },
  SMALLINT: { family: "integer", parameters: "none", bits: 16 },
  MEDIUMINT: { family: "integer", parameters: "none", bits: 24 },
  INT: { family: "integer", parameters: "none", bits: 32 },
  BIGINT: { family: "integer", parameters: "none", bits: 64 },
  DECIMAL: { family: "decimal", parameters: "decimal" },
  FLOAT: { family: "float", parameters: "none" },
  DOUBLE: { family: "float", parameters: "none" },
  CHAR: { family: "text", parameters: "length", maxLength: 255, fixed: true },
  VARCHAR: { family: "text", parameters: "length", maxLength: 65_535 },
  TINYTEXT: { family: "text", parameters: "none", capacity: 255 },
  TEXT: { family: "text", parameters: "none", capacity: 65_535 },
  MEDIUMTEXT: { family: "text", parameters: "none", capacity: 16_777_215 },
  LONGTEXT: { family: "text", parameters: "none", capacity: 4_294_967_295 },
  BINARY: { family: "binary", parameters: "length", maxLength: 255, fixed: true },
  VARBINARY: { family: "binary", parameters: "length", maxLength: 65_535 },
  TINYBLOB: { family: "binary", parameters: "none", capacity: 255 },
  BLOB: { family: "binary", parameters: "none", capacity: 65_535 },
  MEDIUMBLOB: { family: "binary", parameters: "none", capacity: 16_777_215 },
  LONGBLOB: { family: "binary", parameters: "none", capacity: 4_294_967_295 },
  DATE: { family: "date", parameters: "none" },
  TIME: { family: "time", parameters: "fsp" },
  DATETIME: { family: "datetime", parameters: "fsp" },
  TIMESTAMP: { family: "datetime", parameters: "fsp" },
  YEAR: { family: "year", parameters: "none" },
  JSON: { family: "json", parameters: "none" },
  ENUM: { family: "enum", parameters: "members" },
  SET: { family: "set", parameters: "members" },
  BIT: { family: "bit", parameters: "length", maxLength: 64 },
  GEOMETRY: { family: "geometry", parameters: "none" },
  POINT: { family: "geometry", parameters: "none" },
  LINESTRING: { family: "geometry", parameters: "none" },
  POLYGON: { family: "geometry", parameters: "none" },
  MULTIPOINT: { family: "geometry", parameters: "none" },
  MULTILINESTRING: { family: "geometry", parameters: "none" },
  MULTIPOLYGON: { family: "geometry", parameters: "none" },
  GEOMETRYCOLLECTION: { family: "geometry", parameters: "none" },
} as const satisfies Record<string, SqlTypeSpec>;

/** The base names of the column types `cdc` creates. */
export type SqlTypeName = keyof typeof SQL_TYPES;

/** Other spellings the server or Debezium use for the same types. */
const ALIASES: Record<string, SqlTypeName> = {
  INTEGER: "INT",
  BOOL: "TINYINT",
  BOOLEAN: "TINYINT",
  NUMERIC: "DECIMAL",
  REAL: "DOUBLE",
  "DOUBLE PRECISION": "DOUBLE",
  GEOMCOLLECTION: "GEOMETRYCOLLECTION",
};

/** DECIMAL limits of MySQL and MariaDB. */
const MAX_DECIMAL_PRECISION = 65;
const MAX_DECIMAL_SCALE = 30;
/** Fractional seconds: 0 to 6 digits. */
const MAX_FSP = 6;

/** A column type, structured so that two can be compared for widening. */
export interface SqlType {
  name: SqlTypeName;
  unsigned?: boolean;
  /** CHAR/VARCHAR/BINARY/VARBINARY length, BIT width; TINYINT(1) keeps its display width. */
  length?: number;
  /** DECIMAL precision and scale. */
  precision?: number;
  scale?: number;
  /** Fractional seconds of TIME/DATETIME/TIMESTAMP. */
  fsp?: number;
  /** ENUM/SET members. */
  values?: readonly string[];
}

/** The spec of a type name. */
function spec(name: SqlTypeName): SqlTypeSpec {
  return SQL_TYPES[name];
}

/** The family of a type. */
export function familyOf(type: SqlType | SqlTypeName): Family {
  return spec(typeof type === "string" ? type : type.name).family;
}

/** True for a name in {@linkcode SQL_TYPES}. */
export function isSqlTypeName(name: string): name is SqlTypeName {
  return Object.hasOwn(SQL_TYPES, name);
}

/** The name behind a spelling (`integer` → `INT`), or undefined for types `cdc` does not know. */
export function sqlTypeName(spelling: string): SqlTypeName | undefined {
  const upper = spelling.trim().toUpperCase();
  const name = ALIASES[upper] ?? upper;
  return isSqlTypeName(name) ? name : undefined;
}

/** A parameter as a message shows it (NaN and Infinity included). */
const show = (n: unknown) => typeof n === "number" ? String(n) : JSON.stringify(n);

const isCount = (n: unknown, min: number, max: number): n is number =>
  typeof n === "number" && Number.isSafeInteger(n) && n >= min && n <= max;

/**
 * Why `type` cannot become valid DDL, or undefined when it can. Schema parameters
 * (Debezium's `scale`, `length`, ...) reach DDL through here, so nothing but checked
 * integers and quoted members ever lands in a statement.
 */
export function sqlTypeProblem(type: SqlType): string | undefined {
  if (!isSqlTypeName(type.name)) return `unknown column type ${JSON.stringify(type.name)}`;
  const s = spec(type.name);
  if (type.unsigned && s.family !== "integer" && s.family !== "decimal") {
    return `${type.name} cannot be UNSIGNED`;
  }
  switch (s.parameters) {
    case "decimal": {
      const precision = type.precision ?? 10, scale = type.scale ?? 0;
      if (!isCount(precision, 1, MAX_DECIMAL_PRECISION)) {
        return `DECIMAL precision ${
          show(type.precision)
        } is not a whole number from 1 to ${MAX_DECIMAL_PRECISION}`;
      }
      if (!isCount(scale, 0, Math.min(MAX_DECIMAL_SCALE, precision))) {
        return `DECIMAL scale ${show(type.scale)} is not a whole number from 0 to ${
          Math.min(MAX_DECIMAL_SCALE, precision)
        } (precision ${precision})`;
      }
      return undefined;
    }
    case "fsp":
      return type.fsp === undefined || isCount(type.fsp, 0, MAX_FSP)
        ? undefined
        : `${type.name} fractional seconds ${show(type.fsp)} are not 0 to ${MAX_FSP}`;
    case "length": {
      const min = type.name === "BIT" ? 1 : 0;
      return type.length === undefined || isCount(type.length, min, s.maxLength!)
        ? undefined
        : `${type.name} length ${
          show(type.length)
        } is not a whole number from ${min} to ${s.maxLength}`;
    }
    case "members":
      return type.values?.length && type.values.every((v) => typeof v === "string")
        ? undefined
        : `${type.name} needs at least one member, as strings`;
    default:
      // TINYINT(1) (BOOLEAN) keeps its display width; no other type without parameters takes one
      if (type.name === "TINYINT" && (type.length === undefined || type.length === 1)) {
        return undefined;
      }
      return type.length === undefined && type.precision === undefined &&
          type.scale === undefined && type.fsp === undefined && type.values === undefined
        ? undefined
        : `${type.name} takes no parameters`;
  }
}

/**
 * Why a column of `type` cannot be (part of) a primary key, or undefined when it can:
 * MySQL indexes TEXT/BLOB only by a prefix, which would merge keys that differ after it.
 */
export function keyTypeProblem(type: SqlType): string | undefined {
  const s = spec(type.name);
  if ((s.family === "text" || s.family === "binary") && s.parameters === "none") {
    return "MySQL cannot index it whole; register the connector with " +
      "column.propagate.source.type=.* (cdc connector register does) so that the column keeps " +
      "its CHAR/VARCHAR/BINARY type";
  }
  if (s.family === "json" || s.family === "geometry") return "MySQL cannot make it a key";
  return undefined;
}

/** A string literal, for ENUM/SET members: quotes and backslashes escaped. */
export function quoteString(value: string): string {
  return "'" + value.replaceAll("\\", "\\\\").replaceAll("'", "''") + "'";
}

/**
 * The SQL spelling of a type, e.g. `DECIMAL(10,2)`, `BIGINT UNSIGNED`, `ENUM('a','b')`.
 * Throws for a type that {@linkcode sqlTypeProblem} rejects: callers validate first, so
 * this is the last line of defence, never a user-facing message.
 */
export function renderSqlType(type: SqlType): string {
  const problem = sqlTypeProblem(type);
  if (problem) throw new Error(`invalid column type: ${problem}`);
  let sql: string = type.name;
  switch (spec(type.name).parameters) {
    case "decimal":
      sql += `(${type.precision ?? 10},${type.scale ?? 0})`;
      break;
    case "members":
      sql += `(${type.values!.map(quoteString).join(",")})`;
      break;
    case "fsp":
      if (type.fsp) sql += `(${type.fsp})`;
      break;
    default:
      if (type.length !== undefined) sql += `(${type.length})`;
  }
  if (type.unsigned) sql += " UNSIGNED";
  return sql;
}

/**
 * Parses a column type as `information_schema.COLUMNS.COLUMN_TYPE` shows it
 * (`int(11)`, `bigint(20) unsigned`, `enum('a','b')`, `datetime(3)`).
 * Returns undefined for types `cdc` never creates.
 */
export function parseSqlType(columnType: string): SqlType | undefined {
  const match = /^\s*([a-z ]+?)\s*(?:\((.*)\))?\s*(unsigned)?\s*(zerofill)?\s*$/is.exec(columnType);
  if (!match) return undefined;
  const name = sqlTypeName(match[1]);
  if (!name) return undefined;
  const args = match[2];
  const type: SqlType = { name };
  if (match[3]) type.unsigned = true;
  if (args === undefined) return type;
  switch (spec(name).parameters) {
    case "members":
      type.values = [...args.matchAll(/'((?:[^'\\]|''|\\.)*)'/g)].map((m) =>
        m[1].replaceAll("''", "'").replace(/\\(.)/g, "$1")
      );
      break;
    case "decimal": {
      const [p, s] = args.split(",").map(Number);
      type.precision = p;
      type.scale = s ?? 0;
      break;
    }
    case "fsp":
      if (Number(args) > 0) type.fsp = Number(args);
      break;
    case "length":
      type.length = Number(args);
      break;
      // integer display widths carry no meaning: dropped
  }
  return type;
}

/** The inclusive range of an integer type. */
function integerRange(type: SqlType): [bigint, bigint] {
  const bits = BigInt(spec(type.name).bits!);
  return type.unsigned ? [0n, 2n ** bits - 1n] : [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n];
}

/** The integer types, narrowest first. */
const INTEGER_TYPES = (Object.keys(SQL_TYPES) as SqlTypeName[])
  .filter((name) => familyOf(name) === "integer")
  .sort((a, b) => spec(a).bits! - spec(b).bits!);

/** Characters (text) or bytes (binary) a string-like type holds. */
function capacity(type: SqlType): number {
  return type.length ?? spec(type.name).capacity ?? 0;
}

/** Characters in the longest value of an ENUM (one member) or a SET (all members). */
function longestValue(type: SqlType): number {
  const lengths = (type.values ?? []).map((v) => [...v].length);
  return type.name === "SET"
    ? lengths.reduce((sum, n) => sum + n, Math.max(0, lengths.length - 1))
    : Math.max(0, ...lengths);
}

/** The outcome of {@linkcode reconcileTypes}. */
export type Reconciliation =
  | { action: "keep" }
  | { action: "modify"; type: SqlType }
  | { action: "incompatible" };

/**
 * What to do when a column of type `existing` must now hold values of type
 * `wanted`:
 * - `{ action: "keep" }`: every value of `wanted` fits already;
 * - `{ action: "modify", type }`: widen the column to `type`, losslessly;
 * - `{ action: "incompatible" }`: no lossless column holds both.
 */
export function reconcileTypes(existing: SqlType, wanted: SqlType): Reconciliation {
  const keep = { action: "keep" } as const;
  const incompatible = { action: "incompatible" } as const;
  const modify = (type: SqlType) => ({ action: "modify", type }) as const;
  const fam = familyOf(existing);
  const wantedFam = familyOf(wanted);
  // MariaDB reports JSON as LONGTEXT: a JSON value fits any LONGTEXT.
  if (existing.name === "LONGTEXT" && wanted.name === "JSON") return keep;
  // ENUM/SET values are text: they fit a VARCHAR or TEXT column as long as their longest value.
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
      for (const name of INTEGER_TYPES) {
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
      return precision <= MAX_DECIMAL_PRECISION && scale <= MAX_DECIMAL_SCALE
        ? modify({ name: "DECIMAL", precision, scale })
        : incompatible;
    }
    case "float":
      return existing.name === "DOUBLE" || wanted.name === "FLOAT" ? keep : modify(wanted);
    case "text":
    case "binary": {
      if (capacity(wanted) <= capacity(existing)) return keep;
      // CHAR pads and strips trailing spaces: widen within VARCHAR, never into CHAR.
      const fixed = spec(existing.name).fixed;
      if (fixed && spec(wanted.name).fixed) {
        return capacity(wanted) <= spec(wanted.name).maxLength! ? modify(wanted) : incompatible;
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
