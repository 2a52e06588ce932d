/**
 * Bulk loading: one table's rows of a batch as the tab-separated text that
 * `LOAD DATA LOCAL INFILE` reads, and the statement reading it. The server
 * parses this text at about twice the rate of multi-row INSERTs (BENCHMARKS.md),
 * and every value keeps its exact text, as in an INSERT. Pure: the sink sends
 * the text (lib/sink.ts).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { qualifiedName, quoteIdent } from "./dialect.ts";
import { GeometryValue, type SqlValue } from "./type_mapping.ts";

/** What the server does with a row whose key is already in the table. */
export type DuplicateKeys = "ignore" | "replace";

/** A `LOAD DATA` statement and the text it reads. */
export interface LoadData {
  /** The target, `db`.`table`, for messages. */
  table: string;
  duplicates: DuplicateKeys;
  statement: string;
  /** One line per row, fields separated by tabs, in the rows' order. */
  text: string;
}

/** What the file name in the statement says: the sink streams the text, no file is read. */
const FILE_NAME = "cdc-batch";

const FIELD_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
  "\0": "\\0",
};
const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const ESCAPED = /[\\\t\n\r\0]/g;

/** A string as one field: the field and line separators and the escape character escaped. */
export function escapeField(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPED, (c) => FIELD_ESCAPES[c]) : text;
}

/** How a column's values travel: as text, or through variables the statement converts. */
type ColumnKind = "text" | "bytes" | "geometry";

/**
 * Each column's kind, from its values: bytes go as hex (raw bytes would be read in the
 * file's character set), geometries as hex WKB and SRID. Undefined when a column holds
 * values of two kinds (a mapping never makes them; an INSERT carries anything).
 */
function columnKinds(
  columnCount: number,
  rows: readonly (readonly SqlValue[])[],
): ColumnKind[] | undefined {
  const kinds = new Array<ColumnKind | undefined>(columnCount).fill(undefined);
  for (const row of rows) {
    for (let c = 0; c < columnCount; c++) {
      const value = row[c];
      if (value === null) continue;
      const kind = Buffer.isBuffer(value)
        ? "bytes"
        : value instanceof GeometryValue
        ? "geometry"
        : "text";
      if (kinds[c] === undefined) kinds[c] = kind;
      else if (kinds[c] !== kind) return undefined;
    }
  }
  return kinds.map((k) => k ?? "text");
}

const NULL_FIELD = "\\N";

/** A value as its field(s), by its column's kind. */
function fields(value: SqlValue, kind: ColumnKind): string {
  if (value === null) return kind === "geometry" ? `${NULL_FIELD}\t${NULL_FIELD}` : NULL_FIELD;
  if (kind === "geometry") {
    const { wkb, srid } = value as GeometryValue;
    return `${wkb.toString("hex")}\t${srid ?? NULL_FIELD}`;
  }
  if (kind === "bytes") return (value as Buffer).toString("hex");
  return typeof value === "string" ? escapeField(value) : String(value);
}

/** The statement's column list entry and conversion for column `c`. */
function columnTarget(name: string, c: number, kind: ColumnKind): [string, string | undefined] {
  const column = quoteIdent(name);
  switch (kind) {
    case "text":
      return [column, undefined];
    case "bytes":
      return [`@b${c}`, `${column} = UNHEX(@b${c})`];
    case "geometry":
      return [
        `@g${c}, @s${c}`,
        `${column} = IF(@s${c} IS NULL, ST_GeomFromWKB(UNHEX(@g${c})), ` +
        `ST_GeomFromWKB(UNHEX(@g${c}), @s${c}))`,
      ];
  }
}

/**
 * `rows` (values in `columnNames` order) as a `LOAD DATA LOCAL INFILE` into
 * `database`.`table`; undefined when a column mixes kinds of values (see
 * {@linkcode columnKinds}).
 * `duplicates` says what a row whose key exists does: `ignore` keeps the row
 * in the table (LOCAL implies it), `replace` puts the new one in its place.
 * The caller must check the statement's warnings: with LOCAL the server turns
 * data errors into warnings (see lib/sink.ts).
 */
export function loadDataOf(
  database: string,
  table: string,
  columnNames: readonly string[],
  rows: readonly (readonly SqlValue[])[],
  duplicates: DuplicateKeys,
): LoadData | undefined {
  const kinds = columnKinds(columnNames.length, rows);
  if (!kinds) return undefined;
  const columns = columnNames.map((name, c) => columnTarget(name, c, kinds[c]));
  const conversions = columns.flatMap(([, conversion]) => conversion ?? []);
  let text = "";
  for (const row of rows) {
    for (let c = 0; c < row.length; c++) text += (c ? "\t" : "") + fields(row[c], kinds[c]);
    text += "\n";
  }
  const target = qualifiedName(database, table);
  const statement = [
    `LOAD DATA LOCAL INFILE '${FILE_NAME}' ${duplicates.toUpperCase()} INTO TABLE ${target}`,
    `CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'`,
    `(${columns.map(([target]) => target).join(", ")})`,
    ...(conversions.length ? [`SET ${conversions.join(", ")}`] : []),
  ].join(" ");
  return { table: target, duplicates, statement, text };
}
