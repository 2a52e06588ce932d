/**
 * LOAD DATA text read back: where each line of a {@linkcode LoadDataText} is, and where the
 * fields of a few chosen columns are in it, without decoding the rest. A mode that computes from
 * a few columns (scd2: the key, the op, the instants) reads those and copies each line's bytes
 * as they are into the text it loads ({@linkcode LoadDataText.encoded}).
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import type { LoadDataText } from "./load_data.ts";

const TAB = 0x09;
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
const CAPITAL_N = 0x4e;
const MINUS = 0x2d;

/** Fields this short become strings character by character; longer ones in one call. */
const SHORT_FIELD = 8;

/** The lines of a text and, in each, the fields of chosen columns. */
export class LoadDataLines {
  /** Lines read: the text's rows. */
  readonly count: number;
  readonly #chunks: readonly Buffer[];
  /** Per line: its chunk's index, where it starts, where it ends (at its newline). */
  readonly #lines: Int32Array;
  /** Per line, per chosen column: where its field starts and ends. */
  readonly #spans: Int32Array;
  readonly #width: number;

  /**
   * Reads every line of `text`, locating the fields of `columns` (indexes into its format's
   * columns, each chosen once; a geometry column's two fields, WKB and SRID, are one range).
   * A line with another number of fields than the format's is a bug, and throws.
   */
  constructor(text: LoadDataText, columns: readonly number[]) {
    const { kinds } = text.format;
    // where each column's fields are: a geometry takes two
    const firstField: number[] = [];
    let fields = 0;
    for (const kind of kinds) {
      firstField.push(fields);
      fields += kind === "geometry" ? 2 : 1;
    }
    const starts = new Int16Array(fields).fill(-1);
    const ends = new Int16Array(fields).fill(-1);
    columns.forEach((c, j) => {
      if (c < 0 || c >= kinds.length || starts[firstField[c]] >= 0) {
        throw new Error(`column ${c} cannot be chosen (of ${kinds.length}, each once)`);
      }
      starts[firstField[c]] = j;
      ends[firstField[c] + (kinds[c] === "geometry" ? 1 : 0)] = j;
    });
    this.count = text.rows;
    this.#chunks = text.chunks();
    this.#width = columns.length;
    this.#lines = new Int32Array(this.count * 3);
    this.#spans = new Int32Array(this.count * columns.length * 2);
    const spans = this.#spans;
    let line = 0;
    for (let k = 0; k < this.#chunks.length; k++) {
      const bytes = this.#chunks[k];
      let pos = 0;
      while (pos < bytes.length) {
        if (line === this.count) throw new Error(`the text holds more than its ${line} rows`);
        const base = line * this.#width * 2;
        this.#lines[line * 3] = k;
        this.#lines[line * 3 + 1] = pos;
        let field = 0;
        if (starts[0] >= 0) spans[base + starts[0] * 2] = pos;
        for (;; pos++) {
          if (pos === bytes.length) throw new Error(`line ${line + 1} does not end in its chunk`);
          const b = bytes[pos];
          if (b !== TAB && b !== NEWLINE) continue;
          if (ends[field] >= 0) spans[base + ends[field] * 2 + 1] = pos;
          if (b === NEWLINE) break;
          if (++field === fields) throw new Error(`line ${line + 1} has over ${fields} fields`);
          if (starts[field] >= 0) spans[base + starts[field] * 2] = pos + 1;
        }
        if (field !== fields - 1) {
          throw new Error(`line ${line + 1} has ${field + 1} fields, not ${fields}`);
        }
        this.#lines[line * 3 + 2] = pos++;
        line++;
      }
    }
    if (line !== this.count) throw new Error(`the text holds ${line} lines, not ${this.count}`);
  }

  /** The bytes line `line` is in. */
  bytes(line: number): Buffer {
    return this.#chunks[this.#lines[line * 3]];
  }

  /** Where line `line` starts in its {@linkcode bytes}. */
  start(line: number): number {
    return this.#lines[line * 3 + 1];
  }

  /** Where line `line` ends in its {@linkcode bytes}: at its newline. */
  end(line: number): number {
    return this.#lines[line * 3 + 2];
  }

  /** Where the field of chosen column `j` starts in line `line`'s {@linkcode bytes}. */
  fieldStart(line: number, j: number): number {
    return this.#spans[(line * this.#width + j) * 2];
  }

  /** Where the field of chosen column `j` ends in line `line`'s {@linkcode bytes}. */
  fieldEnd(line: number, j: number): number {
    return this.#spans[(line * this.#width + j) * 2 + 1];
  }

  /** Whether the field of chosen column `j` in line `line` is NULL (`\N`). */
  isNull(line: number, j: number): boolean {
    const start = this.fieldStart(line, j);
    const bytes = this.bytes(line);
    return this.fieldEnd(line, j) - start === 2 && bytes[start] === BACKSLASH &&
      bytes[start + 1] === CAPITAL_N;
  }

  /**
   * The field of chosen column `j` in line `line` as a string of one character per byte: an
   * ASCII field (a number, a date, an op) reads as itself, and any two fields of a column are
   * equal strings exactly when their bytes are equal (a key to group by).
   */
  fieldText(line: number, j: number): string {
    const start = this.fieldStart(line, j);
    const end = this.fieldEnd(line, j);
    const bytes = this.bytes(line);
    if (end - start > SHORT_FIELD) return bytes.toString("latin1", start, end);
    let text = "";
    for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
    return text;
  }

  /**
   * The field of chosen column `j` in line `line` as a whole number; a field of anything but
   * digits (and a sign) throws.
   */
  fieldInteger(line: number, j: number): number {
    const n = this.fieldNumber(line, j);
    if (Number.isNaN(n)) {
      throw new Error(`line ${line + 1}: "${this.fieldText(line, j)}" is not a whole number`);
    }
    return n;
  }

  /**
   * The field of chosen column `j` in line `line` as a whole number, or NaN when it is anything
   * but digits (and a sign) or too long to be exact.
   */
  fieldNumber(line: number, j: number): number {
    const start = this.fieldStart(line, j);
    const end = this.fieldEnd(line, j);
    const bytes = this.bytes(line);
    const first = bytes[start] === MINUS ? start + 1 : start;
    if (first === end || end - first > 15) return NaN;
    let n = 0;
    for (let i = first; i < end; i++) {
      const digit = bytes[i] - 0x30;
      if (digit < 0 || digit > 9) return NaN;
      n = n * 10 + digit;
    }
    return first > start ? -n : n;
  }
}
