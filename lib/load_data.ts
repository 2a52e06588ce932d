/**
 * Bulk loading: one table's rows of a batch as the tab-separated text that
 * `LOAD DATA LOCAL INFILE` reads, and the statement reading it. The server
 * parses this text at about twice the rate of multi-row INSERTs (BENCHMARKS.md),
 * and every value keeps its exact text, as in an INSERT. The batch buffer
 * encodes rows as they arrive (lib/batch.ts); the sink sends the bytes
 * (lib/sink.ts).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type ColumnDef, qualifiedName, quoteIdent } from "./dialect.ts";
import { METADATA_COLUMNS } from "./cdc_table.ts";
import { type Family, familyOf, type SqlType } from "./sql_types.ts";
import { GeometryValue, type SqlValue } from "./type_mapping.ts";

/** What the server does with a row whose key is already in the table. */
export type DuplicateKeys = "ignore" | "replace";

/**
 * How a column's values travel: as escaped text; as plain text (numbers, and text `cdc`
 * formats from numbers: nothing to escape); or through variables the statement converts.
 */
export type ColumnKind = "text" | "plain" | "bytes" | "geometry";

/** How a target's rows are bulk-loaded: each column's kind, and what a duplicate key does. */
export interface LoadDataFormat {
  kinds: readonly ColumnKind[];
  duplicates: DuplicateKeys;
}

/** What the file name in the statement says: the sink streams the text, no file is read. */
const FILE_NAME = "cdc-batch";

/** Text is turned into bytes in pieces of about this many characters (at most 3 bytes each). */
const CHUNK_CHARACTERS = 32 * 1024;

const UTF8 = new TextEncoder();

/** The escape of a character code that needs one in a field, else undefined. */
function fieldEscape(code: number): string | undefined {
  switch (code) {
    case 0x5c:
      return "\\\\";
    case 0x09:
      return "\\t";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x00:
      return "\\0";
  }
}

/** A string as one field: the field and line separators and the escape character escaped. */
export function escapeField(text: string): string {
  // a scan by character code: a regular expression test and replace cost a third more
  let escaped = "";
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x5c || (code > 0x0d && code !== 0x5c)) continue;
    const escape = fieldEscape(code);
    if (escape === undefined) continue;
    escaped += text.slice(copied, i) + escape;
    copied = i + 1;
  }
  return copied === 0 ? text : escaped + text.slice(copied);
}

/**
 * Families whose values are numbers, or text `cdc` formats from numbers or checks digit by
 * digit (lib/type_mapping.ts: dates, times, decimals): never a character to escape. Escaping
 * them anyway cost a scan (and a copy of each formatted string) per value.
 */
const PLAIN_FAMILIES: ReadonlySet<Family> = new Set([
  "integer",
  "float",
  "decimal",
  "date",
  "time",
  "datetime",
  "year",
]);

/** The kind of a column of type `type`. */
function kindOf(type: SqlType): ColumnKind {
  const family = familyOf(type.name);
  if (family === "binary" || family === "bit") return "bytes";
  if (family === "geometry") return "geometry";
  return PLAIN_FAMILIES.has(family) ? "plain" : "text";
}

/**
 * The format of rows with `columnNames` (source `columns`, then the metadata columns of
 * cdc_table.ts), each column by its type: bytes (BINARY, BLOB, BIT) as hex, since raw bytes
 * would be read in the file's character set; geometries as hex WKB and SRID; numbers, dates
 * and times plain; other text escaped.
 */
export function loadDataFormat(
  columns: readonly ColumnDef[],
  columnNames: readonly string[],
  duplicates: DuplicateKeys,
): LoadDataFormat {
  const types = new Map([...METADATA_COLUMNS, ...columns].map((c) => [c.name, c.type]));
  const kinds = columnNames.map((name): ColumnKind => {
    const type = types.get(name);
    return type ? kindOf(type) : "text";
  });
  return { kinds, duplicates };
}

/**
 * The `LOAD DATA LOCAL INFILE` of rows in `format` into `database`.`table`. The caller must
 * check its warnings: with LOCAL the server turns data errors into warnings (lib/sink.ts).
 */
export function loadDataStatement(
  database: string,
  table: string,
  columnNames: readonly string[],
  format: LoadDataFormat,
): string {
  const columns = columnNames.map((name, c) => columnTarget(name, c, format.kinds[c]));
  const conversions = columns.flatMap(([, conversion]) => conversion ?? []);
  return [
    `LOAD DATA LOCAL INFILE '${FILE_NAME}' ${format.duplicates.toUpperCase()} INTO TABLE ${
      qualifiedName(database, table)
    }`,
    `CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'`,
    `(${columns.map(([target]) => target).join(", ")})`,
    ...(conversions.length ? [`SET ${conversions.join(", ")}`] : []),
  ].join(" ");
}

/** The statement's column list entry and conversion for column `c`. */
function columnTarget(name: string, c: number, kind: ColumnKind): [string, string | undefined] {
  const column = quoteIdent(name);
  switch (kind) {
    case "text":
    case "plain":
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

const NULL_FIELD = "\\N";

/** A value as its field(s) by its column's kind; a value the kind cannot carry is a bug. */
function fields(value: SqlValue, kind: ColumnKind, column: number): string {
  if (value === null) return kind === "geometry" ? `${NULL_FIELD}\t${NULL_FIELD}` : NULL_FIELD;
  switch (kind) {
    case "text":
      if (typeof value === "string") return escapeField(value);
      if (typeof value === "number" || typeof value === "bigint") return String(value);
      break;
    case "plain":
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "bigint") return String(value);
      break;
    case "bytes":
      // text in a bytes column: its UTF-8 bytes, as an INSERT of the string would store
      return (Buffer.isBuffer(value) ? value : Buffer.from(String(value))).toString("hex");
    case "geometry":
      if (value instanceof GeometryValue) {
        return `${value.wkb.toString("hex")}\t${value.srid ?? NULL_FIELD}`;
      }
  }
  throw new Error(`column ${column + 1} is loaded as ${kind}, but a value is ${typeof value}`);
}

/**
 * One target's rows as LOAD DATA text, turned into bytes as they are added: a batch is held
 * as a few byte chunks, not as thousands of values the garbage collector has to trace.
 */
export class LoadDataText {
  readonly format: LoadDataFormat;
  #rows = 0;
  #pending = "";
  readonly #chunks: Buffer[] = [];

  constructor(format: LoadDataFormat) {
    this.format = format;
  }

  /** Rows added. */
  get rows(): number {
    return this.#rows;
  }

  /** Appends a row: one line, fields separated by tabs. */
  add(row: readonly SqlValue[]): void {
    const { kinds } = this.format;
    let line = "";
    for (let c = 0; c < kinds.length; c++) {
      line += (c ? "\t" : "") + fields(row[c], kinds[c], c);
    }
    this.#pending += line + "\n";
    this.#rows++;
    if (this.#pending.length >= CHUNK_CHARACTERS) this.#encodePending();
  }

  /** The text as bytes, in order, in chunks of at most about 96 KiB. */
  chunks(): readonly Buffer[] {
    this.#encodePending();
    return this.#chunks;
  }

  #encodePending(): void {
    if (!this.#pending) return;
    // one encoding call (Buffer.from measures the UTF-8 length first, then encodes)
    const bytes = UTF8.encode(this.#pending);
    this.#chunks.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.#pending = "";
  }
}
