/**
 * Bulk loading: one table's rows of a batch as the tab-separated text that
 * `LOAD DATA LOCAL INFILE` reads, and the statement reading it. The server
 * parses this text at about twice the rate of multi-row INSERTs (BENCHMARKS.md),
 * and every value keeps its exact text, as in an INSERT. The batch buffer
 * encodes rows as they arrive (lib/sink/batch.ts); the sink sends the bytes
 * (lib/sink/mysql_sink.ts).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type ColumnDef, qualifiedName, quoteIdent } from "./dialect.ts";
import { type Family, familyOf, type SqlType } from "./sql_types.ts";
import { GeometryValue, type SqlValue } from "./values.ts";
import { InvalidUtf8Error, utf8SequenceLength } from "../util/utf8.ts";

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

/**
 * A batch's text is handed over in chunks of at least this many bytes, each filling most of its
 * buffer: a chunk cut at 64 KiB of a buffer grown to 128 KiB left half of each unused, and
 * buffers are memory V8 collects in full collections.
 */
const CHUNK_BYTES = 64 * 1024;

/** A text's first buffer; it doubles as lines need room (a batch of a small table's few). */
const FIRST_BUFFER_BYTES = 512;

const UTF8 = new TextEncoder();

/** A string as one field: the field and line separators and the escape character escaped. */
export function escapeField(text: string): string {
  // a scan by character code: a regular expression test and replace cost a third more
  let escaped = "";
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x5c || (code > 0x0d && code !== 0x5c)) continue;
    const escape = escapeByte(code);
    if (escape === 0) continue;
    escaped += text.slice(copied, i) + "\\" + String.fromCharCode(escape);
    copied = i + 1;
  }
  return copied === 0 ? text : escaped + text.slice(copied);
}

/**
 * Families whose values are numbers, or text `cdc` formats from numbers or checks digit by
 * digit (lib/debezium/type_mapping.ts: dates, times, decimals): never a character to escape. Escaping
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
export function kindOf(type: SqlType): ColumnKind {
  const family = familyOf(type.name);
  if (family === "binary" || family === "bit") return "bytes";
  if (family === "geometry") return "geometry";
  return PLAIN_FAMILIES.has(family) ? "plain" : "text";
}

/**
 * The format of rows of `columns` (every column of a row, in value order), each column by its
 * type: bytes (BINARY, BLOB, BIT) as hex, since raw bytes would be read in the file's
 * character set; geometries as hex WKB and SRID; numbers, dates and times plain; other text
 * escaped.
 */
export function loadDataFormat(
  columns: readonly ColumnDef[],
  duplicates: DuplicateKeys,
): LoadDataFormat {
  return { kinds: columns.map((c) => kindOf(c.type)), duplicates };
}

/**
 * The `LOAD DATA LOCAL INFILE` of rows in `format` into `database`.`table`. The caller must
 * check its warnings: with LOCAL the server turns data errors into warnings (lib/sink/mysql_sink.ts).
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

/** A value as its field(s) by its column's kind; a value the kind cannot carry is a bug. */
function asciiFields(value: SqlValue, kind: ColumnKind, column: number): string {
  switch (kind) {
    case "text":
    case "plain":
      if (typeof value === "number" || typeof value === "bigint") return String(value);
      if (kind === "plain" && typeof value === "string") return value;
      break;
    case "bytes":
      // text in a bytes column: its UTF-8 bytes, as an INSERT of the string would store
      return (Buffer.isBuffer(value) ? value : Buffer.from(String(value))).toString("hex");
    case "geometry":
      if (value instanceof GeometryValue) {
        return `${value.wkb.toString("hex")}\t${value.srid ?? "\\N"}`;
      }
  }
  throw new Error(`column ${column + 1} is loaded as ${kind}, but a value is ${typeof value}`);
}

/** The byte of the escape sequence of byte `b` in a field (`\` + it), or 0 for none. */
function escapeByte(b: number): number {
  switch (b) {
    case 0x5c:
      return 0x5c;
    case 0x09:
      return 0x74; // t
    case 0x0a:
      return 0x6e; // n
    case 0x0d:
      return 0x72; // r
    case 0x00:
      return 0x30; // 0
  }
  return 0;
}

/** How many numbers the mark of a text at `mark[at]` takes (see `LoadDataText.markInto`). */
export function textMarkLength(mark: readonly number[], at: number): number {
  return 3 + mark[at + 2];
}

/**
 * One target's rows as LOAD DATA text, written as bytes as they arrive: a batch is held as a
 * few byte chunks, not as thousands of values the garbage collector has to trace. Rows come
 * whole ({@linkcode add}) or field by field, from a record's own bytes (lib/debezium/load_lines.ts).
 */
export class LoadDataText {
  readonly format: LoadDataFormat;
  readonly #chunks: Buffer[] = [];
  /** Where the first chunk's lines start: those before were moved to another text. */
  #chunkStart = 0;
  /** Bytes of the chunks' lines (from `#chunkStart` in the first). */
  #chunkBytes = 0;
  #buffer = new Uint8Array(FIRST_BUFFER_BYTES);
  /** Where the buffer's lines start: those before it were moved to another text. */
  #start = 0;
  #pos = 0;
  #lineStart = 0;
  #firstField = true;
  /** Rows, bytes and lines of each tag ever added, and how many of them were moved out. */
  #rowsAdded = 0;
  #rowsMoved = 0;
  #bytesMoved = 0;
  readonly #tagNames: string[] = [];
  readonly #tagsAdded: number[] = [];
  readonly #tagsMoved: number[] = [];

  constructor(format: LoadDataFormat) {
    this.format = format;
  }

  /** Rows held. */
  get rows(): number {
    return this.#rowsAdded - this.#rowsMoved;
  }

  /**
   * Rows held whose line was ended with `tag` (a change event's op): a writer tells from these
   * counts, without reading the text, whether a statement can take the rows as they are.
   */
  tagged(tag: string): number {
    const i = this.#tagNames.indexOf(tag);
    return i < 0 ? 0 : this.#tagsAdded[i] - this.#tagsMoved[i];
  }

  /** Appends a row: one line, fields separated by tabs; `tag` as in {@linkcode endLine}. */
  add(row: readonly SqlValue[], tag?: string): void {
    const { kinds } = this.format;
    for (let c = 0; c < kinds.length; c++) this.value(row[c], kinds[c], c);
    this.endLine(tag);
  }

  /** Appends column `column`'s `value`, of its column's `kind`. */
  value(value: SqlValue, kind: ColumnKind, column: number): void {
    if (value === null) this.null(kind);
    else if (kind === "text" && typeof value === "string") this.text(value);
    else if (kind !== "bytes" && typeof value === "number" && Number.isSafeInteger(value)) {
      this.integer(value);
    } else this.ascii(asciiFields(value, kind, column));
  }

  /** Appends NULL (both fields of a geometry). */
  null(kind: ColumnKind): void {
    this.ascii(kind === "geometry" ? "\\N\t\\N" : "\\N");
  }

  /** Appends a field of text that has nothing to escape and only ASCII (numbers, dates). */
  ascii(text: string): void {
    this.#reserve(text.length + 1);
    const buffer = this.#buffer;
    let pos = this.#separate();
    for (let i = 0; i < text.length; i++) buffer[pos++] = text.charCodeAt(i);
    this.#pos = pos;
  }

  /** Appends a field of a whole number's digits (no string made for a safe integer). */
  integer(n: number | bigint): void {
    if (typeof n === "bigint" || !Number.isSafeInteger(n)) return this.ascii(String(n));
    this.#reserve(18); // a sign and 16 digits
    const buffer = this.#buffer;
    let pos = this.#separate();
    if (n < 0) {
      buffer[pos++] = 0x2d; // -
      n = -n;
    }
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    for (let i = pos + digits - 1; i >= pos; i--, n = Math.floor(n / 10)) buffer[i] = 0x30 + n % 10;
    this.#pos = pos + digits;
  }

  /** Appends a field of any text, escaped. */
  text(text: string): void {
    this.#reserve(text.length * 2 + 1);
    const buffer = this.#buffer;
    let pos = this.#separate();
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) {
        // beyond ASCII: the rest escaped as a string, then encoded natively
        const rest = escapeField(text.slice(i));
        this.#pos = pos;
        this.#reserve(rest.length * 3);
        this.#pos += UTF8.encodeInto(rest, this.#buffer.subarray(this.#pos)).written;
        return;
      }
      const escape = escapeByte(code);
      if (escape) buffer[pos++] = 0x5c, buffer[pos++] = escape;
      else buffer[pos++] = code;
    }
    this.#pos = pos;
  }

  /**
   * Appends a field of UTF-8 text taken from `bytes[start]` up to `end`, escaped. Throws
   * {@linkcode InvalidUtf8Error} when the bytes are not UTF-8 (the line is then unfinished:
   * {@linkcode dropLine}).
   */
  utf8(bytes: Uint8Array, start: number, end: number): void {
    this.#reserve((end - start) * 2 + 1);
    const buffer = this.#buffer;
    let pos = this.#separate();
    for (let i = start; i < end; i++) {
      const b = bytes[i];
      if (b < 0x80) {
        const escape = escapeByte(b);
        if (escape) buffer[pos++] = 0x5c, buffer[pos++] = escape;
        else buffer[pos++] = b;
        continue;
      }
      const n = utf8SequenceLength(bytes, i, end);
      if (n === 0) throw new InvalidUtf8Error(i - start);
      for (let k = 0; k < n; k++) buffer[pos++] = bytes[i + k];
      i += n - 1;
    }
    this.#pos = pos;
  }

  /**
   * Appends fields encoded already, `bytes[start]` up to `end` (one field, or several with
   * their tabs): another text's fields in this text's format, copied as they are
   * (lib/mysql/load_data_lines.ts finds them).
   */
  encoded(bytes: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.#reserve(n + 1);
    const buffer = this.#buffer;
    const pos = this.#separate();
    // a line's few fields copied by hand: a view to copy from with `set` was an object each
    if (n < 256) { for (let i = 0; i < n; i++) buffer[pos + i] = bytes[start + i]; }
    else buffer.set(bytes.subarray(start, end), pos);
    this.#pos = pos + n;
  }

  /**
   * Makes the next value appended continue the field appended last, without a separator: a
   * field written in parts (each escaped as its kind needs), with no string of the whole made.
   */
  joinNext(): void {
    this.#firstField = true;
  }

  /** Ends the row being appended, counting it under `tag` when given ({@linkcode tagged}). */
  endLine(tag?: string): void {
    this.#reserve(1);
    this.#buffer[this.#pos++] = 0x0a;
    this.#rowsAdded++;
    if (tag !== undefined) this.#tagsAdded[this.#tagIndex(tag)]++;
    this.#firstField = true;
    this.#lineStart = this.#pos;
    this.#handOverWhenFull();
  }

  /** Forgets the row being appended (its record turned out to be bad input). */
  dropLine(): void {
    this.#pos = this.#lineStart;
    this.#firstField = true;
  }

  /**
   * Writes where this text ends now into `mark` from `at`, for {@linkcode append}: lines added
   * later are not before it, and it stays where it is while lines before it are moved out. It
   * takes {@linkcode markLength} numbers (the bytes, rows and each tag's lines ever added): a
   * held source transaction's end is marked in every partition it has changes in, and one
   * array for all of a buffer's tables cost less than objects (lib/sink/batch.ts). Returns the
   * index after it.
   */
  markInto(mark: number[], at: number): number {
    mark[at++] = this.#bytesMoved + this.byteLength;
    mark[at++] = this.#rowsAdded;
    mark[at++] = this.#tagsAdded.length;
    for (const n of this.#tagsAdded) mark[at++] = n;
    return at;
  }

  /** How many numbers {@linkcode markInto} writes now. */
  get markLength(): number {
    return 3 + this.#tagsAdded.length;
  }

  /**
   * Moves the complete lines of `other` (of the same format) before the mark at `upTo[at]`
   * (see {@linkcode markInto}; every line when not given), as they are, with their tags, after
   * this text's: they leave `other`. Its chunks of a good size join this text's as they are;
   * smaller pieces (a held source transaction's few lines) are copied into this text's buffer,
   * so that a batch of many such texts is still a few large chunks. `other`'s buffer, once
   * emptied, is written again from its start.
   */
  append(other: LoadDataText, upTo?: readonly number[], at = 0): void {
    if (this.#pos > this.#lineStart) throw new Error("a line is being written");
    let bytes = upTo ? upTo[at] - other.#bytesMoved : other.byteLength;
    other.#bytesMoved += bytes;
    while (bytes > 0) {
      const chunk = other.#chunks[0];
      if (!chunk) break;
      const from = other.#chunkStart;
      const left = chunk.length - from;
      if (left > bytes) {
        this.#copyLines(chunk, from, from + bytes);
        other.#chunkStart += bytes;
        other.#chunkBytes -= bytes;
        bytes = 0;
        break;
      }
      other.#chunks.shift();
      other.#chunkStart = 0;
      other.#chunkBytes -= left;
      bytes -= left;
      if (from > 0 || chunk.length < CHUNK_BYTES / 2) this.#copyLines(chunk, from, chunk.length);
      else {
        this.#handOver();
        this.#chunks.push(chunk);
        this.#chunkBytes += chunk.length;
      }
    }
    if (bytes > 0) {
      // copied, since `other` goes on writing into its buffer
      this.#copyLines(other.#buffer, other.#start, other.#start + bytes);
      other.#start += bytes;
      if (other.#start === other.#pos) other.#start = other.#pos = other.#lineStart = 0;
    }
    const rows = (upTo ? upTo[at + 1] : other.#rowsAdded) - other.#rowsMoved;
    other.#rowsMoved += rows;
    this.#rowsAdded += rows;
    const tagsMarked = upTo ? upTo[at + 2] : other.#tagNames.length;
    for (let i = 0; i < tagsMarked; i++) {
      const n = (upTo ? upTo[at + 3 + i] : other.#tagsAdded[i]) - other.#tagsMoved[i];
      other.#tagsMoved[i] += n;
      this.#tagsAdded[this.#tagIndex(other.#tagNames[i])] += n;
    }
  }

  /** Bytes of the complete lines held. */
  get byteLength(): number {
    return this.#chunkBytes + this.#lineStart - this.#start;
  }

  /** The text as bytes, in order, in chunks of about 64 KiB. */
  chunks(): readonly Buffer[] {
    this.#handOver();
    if (this.#chunkStart > 0) {
      this.#chunks[0] = this.#chunks[0].subarray(this.#chunkStart);
      this.#chunkStart = 0;
    }
    return this.#chunks;
  }

  #tagIndex(tag: string): number {
    let i = this.#tagNames.indexOf(tag);
    if (i < 0) {
      i = this.#tagNames.push(tag) - 1;
      this.#tagsAdded.push(0);
      this.#tagsMoved.push(0);
    }
    return i;
  }

  /** Appends complete lines' bytes, `from[start]` up to `end`, into the buffer. */
  #copyLines(from: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n === 0) return;
    this.#reserve(n);
    // a held transaction's few lines are copied by hand: a view of them to copy from with
    // `set` was an object for each
    if (n < 256) { for (let i = 0; i < n; i++) this.#buffer[this.#pos + i] = from[start + i]; }
    else this.#buffer.set(from.subarray(start, end), this.#pos);
    this.#pos += n;
    this.#lineStart = this.#pos;
    this.#handOverWhenFull();
  }

  /** Hands the lines over as a chunk once they are a chunk's size and fill 7/8 of the buffer. */
  #handOverWhenFull(): void {
    if (this.#pos >= CHUNK_BYTES && this.#pos >= this.#buffer.length - (this.#buffer.length >> 3)) {
      this.#handOver();
    }
  }

  /** Writes the tab before a field but the first; the position to write the field at. */
  #separate(): number {
    if (this.#firstField) {
      this.#firstField = false;
      return this.#pos;
    }
    this.#buffer[this.#pos] = 0x09;
    return ++this.#pos;
  }

  /** Room for `n` more bytes (and a separator), moving what is held to the buffer's start. */
  #reserve(n: number): void {
    if (this.#pos + n + 1 <= this.#buffer.length) return;
    const start = this.#start;
    const held = this.#pos - start;
    if (held + n + 1 <= this.#buffer.length) this.#buffer.copyWithin(0, start, this.#pos);
    else {
      const grown = new Uint8Array(Math.max(this.#buffer.length * 2, held + n + 1));
      grown.set(this.#buffer.subarray(start, this.#pos));
      this.#buffer = grown;
    }
    this.#start = 0;
    this.#pos -= start;
    this.#lineStart -= start;
  }

  /** Keeps the complete lines written as a chunk; the next lines go to a new buffer. */
  #handOver(): void {
    const complete = this.#lineStart;
    if (complete === this.#start) return;
    const rest = this.#buffer.subarray(complete, this.#pos);
    this.#chunks.push(Buffer.from(this.#buffer.buffer, this.#start, complete - this.#start));
    this.#chunkBytes += complete - this.#start;
    const next = new Uint8Array(this.#buffer.length);
    next.set(rest);
    this.#buffer = next;
    this.#start = 0;
    this.#pos = rest.length;
    this.#lineStart = 0;
  }
}
