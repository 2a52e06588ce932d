/**
 * Buffering, kept apart from writing: rows, dead letters and positions
 * accumulate here until the stream decides to flush (by size or by age).
 *
 * @module
 */
import type { DeadLetter } from "./bookkeeping.ts";
import type { ColumnDef } from "../mysql/dialect.ts";
import { opOf, type RowLayout, rowLayout } from "../debezium/cdc_row.ts";
import {
  type DuplicateKeys,
  type LoadDataFormat,
  loadDataFormat,
  LoadDataText,
  textMarkLength,
} from "../mysql/load_data.ts";
import { type Positions, setPosition } from "../kafka/mod.ts";
import type { SqlValue } from "../mysql/values.ts";

/** Where rows go and what they hold: a table fed by one topic, its columns and key. */
export interface RowTarget {
  table: string;
  topic: string;
  /** The names of a row's values, in order: source columns, then the metadata. */
  columnNames: readonly string[];
  /** The source's primary key columns (empty where the mode needs none). */
  keyColumns: readonly string[];
  /** Where a row's metadata and key values sit. */
  layout: RowLayout;
  /** Set where the writer bulk-loads the table: rows are then encoded as they arrive. */
  loadData?: LoadDataFormat;
}

/**
 * The target of rows of `rowColumns` (source columns, then the metadata) in `table`; where
 * the writer bulk-loads (`bulkLoad` says what a duplicate key does), rows are encoded as LOAD
 * DATA text as they arrive.
 */
export function rowTarget(
  table: string,
  topic: string,
  rowColumns: readonly ColumnDef[],
  keyColumns: readonly string[],
  bulkLoad: DuplicateKeys | undefined,
): RowTarget {
  const columnNames = rowColumns.map((c) => c.name);
  const layout = rowLayout(columnNames, keyColumns);
  const target: RowTarget = { table, topic, columnNames, keyColumns, layout };
  if (bulkLoad) target.loadData = loadDataFormat(rowColumns, bulkLoad);
  return target;
}

/**
 * Rows for one table, all with the same column list, in offset order: as values, or
 * (for a target with `loadData`) as LOAD DATA text.
 */
export interface TableRows extends RowTarget {
  rows: SqlValue[][];
  text?: LoadDataText;
}

/** How many rows a table's share of a batch holds. */
export function rowCount(rows: TableRows): number {
  return rows.text?.rows ?? rows.rows.length;
}

/** One transaction's worth of work. */
export interface SinkBatch {
  tables: TableRows[];
  deadLetters: DeadLetter[];
  /** The positions this batch advances to (next offset per partition). */
  positions: Positions;
}

/**
 * Where a {@linkcode BatchBuffer} ended when marked (see {@linkcode BatchBuffer.absorb}): the
 * dead letters ever added, then each table's rows (or its text's mark), in the buffer's order
 * of tables; a table made after the mark has none.
 */
export type BufferMark = readonly number[];

/** A table's rows in a buffer, and how many were moved to another (see `absorb`). */
interface TableSlot {
  target: RowTarget;
  rows: TableRows;
  /** Rows held as values moved out (they stay at the array's start until it is compacted). */
  moved: number;
  skipped: number;
}

/** Accumulates one batch; `drain()` hands it over and starts the next. */
export class BatchBuffer {
  #tables = new Map<RowTarget, TableSlot>();
  /** The same, in the order made: walked for every held transaction, without iterators. */
  #slots: TableSlot[] = [];
  #deadLetters: DeadLetter[] = [];
  #deadLettersMoved = 0;
  #positions: Positions = new Map();
  #records = 0;
  #startedAt: number | undefined;
  readonly #now: () => number;

  /** `now` tells the time in milliseconds (a test passes its own clock). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Rows and dead letters held. */
  get size(): number {
    return this.#records;
  }

  /** True when anything (even only a position) waits to be written. */
  get pending(): boolean {
    return this.#startedAt !== undefined;
  }

  /** Milliseconds since the first item of this batch arrived. */
  ageMs(): number {
    return this.#startedAt === undefined ? 0 : this.#now() - this.#startedAt;
  }

  /**
   * Adds a row for a target; rows of another target (another table, or another column
   * list of the same table) go to their own statements. Targets are compared by identity:
   * the caller keeps one object per table and column list.
   */
  addRow(target: RowTarget, row: SqlValue[]): void {
    const { rows } = this.#slotOf(target);
    if (rows.text) rows.text.add(row, opOf(row, target.layout));
    else rows.rows.push(row);
    this.#records++;
    this.#touch();
  }

  /**
   * The LOAD DATA text of a bulk-loaded `target` in this batch, to append a row's line to;
   * {@linkcode added} counts it once it is complete. A line dropped unfinished (bad input)
   * leaves nothing behind.
   */
  textOf(target: RowTarget): LoadDataText {
    const { rows } = this.#slotOf(target);
    if (!rows.text) throw new Error(`rows of ${target.table} are not bulk-loaded`);
    return rows.text;
  }

  /** Counts a row appended through {@linkcode textOf}. */
  added(): void {
    this.#records++;
    this.#touch();
  }

  #slotOf(target: RowTarget): TableSlot {
    let slot = this.#tables.get(target);
    if (!slot) {
      const rows: TableRows = {
        ...target,
        rows: [],
        ...(target.loadData ? { text: new LoadDataText(target.loadData) } : {}),
      };
      slot = { target, rows, moved: 0, skipped: 0 };
      this.#tables.set(target, slot);
      this.#slots.push(slot);
    }
    return slot;
  }

  /** Where this buffer ends now: {@linkcode absorb} can move what comes before it elsewhere. */
  mark(): BufferMark {
    let length = 1;
    for (const { rows } of this.#slots) length += rows.text?.markLength ?? 1;
    // made at its length: one grown by pushes would take room for 17 numbers at least
    const mark = new Array<number>(length);
    mark[0] = this.#deadLettersMoved + this.#deadLetters.length;
    let at = 1;
    for (const slot of this.#slots) {
      if (slot.rows.text) at = slot.rows.text.markInto(mark, at);
      else mark[at++] = slot.moved + slot.rows.rows.length - slot.skipped;
    }
    return mark;
  }

  /**
   * Moves what `other` holds before `upTo` (a {@linkcode mark} of it; everything when not given)
   * into this batch, after what it holds already: rows, lines and dead letters (not positions:
   * the caller says how far they go). They leave `other`, which goes on holding the rest.
   */
  absorb(other: BatchBuffer, upTo?: BufferMark): void {
    let records = 0;
    let at = 1;
    for (const theirs of other.#slots) {
      const { target } = theirs;
      if (upTo && at >= upTo.length) break; // tables made after the mark: their rows came after
      const text = theirs.rows.text;
      if (text) {
        if (text.rows > 0) {
          const into = this.#slotOf(target).rows.text!;
          const before = into.rows;
          into.append(text, upTo, at);
          records += into.rows - before;
        }
        if (upTo) at += textMarkLength(upTo, at);
        continue;
      }
      const from = theirs.rows.rows;
      const n = (upTo ? upTo[at++] : theirs.moved + from.length - theirs.skipped) - theirs.moved;
      if (n === 0) continue;
      const into = this.#slotOf(target).rows.rows;
      for (let i = theirs.skipped; i < theirs.skipped + n; i++) into.push(from[i]);
      theirs.moved += n;
      theirs.skipped += n;
      // compacted once most of the array is moved: constant time per row
      if (theirs.skipped * 2 >= from.length) {
        from.splice(0, theirs.skipped);
        theirs.skipped = 0;
      }
      records += n;
    }
    const letters = (upTo ? upTo[0] : other.#deadLettersMoved + other.#deadLetters.length) -
      other.#deadLettersMoved;
    if (letters > 0) {
      for (const letter of other.#deadLetters.splice(0, letters)) this.#deadLetters.push(letter);
      other.#deadLettersMoved += letters;
      records += letters;
    }
    other.#records -= records;
    if (records > 0) {
      this.#records += records;
      this.#touch();
    }
  }

  /**
   * Gives every row held as values (after `since`, a {@linkcode mark} of this buffer, when
   * given) one source time: the latest among them, and not before `atLeast` (a `DATETIME(3)`
   * text, as the rows hold it). Returns that time, or `atLeast` when no row holds one. Rows
   * held as LOAD DATA text keep theirs.
   */
  alignSourceTimes(atLeast?: string, since?: BufferMark): string | undefined {
    // each table's rows held as values after the mark: the array, where they start, and where
    // a row's source time is
    const ranges: [SqlValue[][], number, number][] = [];
    let mark = 1;
    for (const slot of this.#slots) {
      const marked = since !== undefined && mark < since.length;
      if (slot.rows.text) {
        if (marked) mark += textMarkLength(since, mark);
        continue;
      }
      const first = marked ? since[mark++] : 0;
      const { rows, skipped, moved, target } = slot;
      ranges.push([rows.rows, skipped + first - moved, target.layout.sourceTs]);
    }
    let latest = atLeast;
    for (const [rows, from, at] of ranges) {
      for (let i = from; i < rows.length; i++) {
        const ts = rows[i][at];
        if (typeof ts === "string" && (latest === undefined || ts > latest)) latest = ts;
      }
    }
    if (latest === undefined) return undefined;
    for (const [rows, from, at] of ranges) {
      for (let i = from; i < rows.length; i++) rows[i][at] = latest;
    }
    return latest;
  }

  /** Bytes held, roughly: the LOAD DATA text's, and an estimate for rows held as values. */
  get approximateBytes(): number {
    let bytes = 0;
    for (const { rows, skipped } of this.#slots) {
      bytes += rows.text
        ? rows.text.byteLength
        : (rows.rows.length - skipped) * rows.columnNames.length * 24;
    }
    return bytes;
  }

  /** Keeps a record that could not be mapped, with its reason. */
  addDeadLetter(letter: DeadLetter): void {
    this.#deadLetters.push(letter);
    this.#records++;
    this.#touch();
  }

  /**
   * Records that everything before `nextOffset` of this partition is in the batch. A `quiet`
   * position is no reason to write a batch: it goes with the next one that has another.
   */
  advance(topic: string, partition: number, nextOffset: number, quiet = false): void {
    setPosition(this.#positions, topic, partition, nextOffset);
    if (!quiet) this.#touch();
  }

  /** Hands over the batch and empties the buffer. */
  drain(): SinkBatch {
    const tables: TableRows[] = [];
    for (const { rows, skipped } of this.#slots) {
      if (skipped > 0) rows.rows = rows.rows.slice(skipped);
      // a table whose only line was dropped (bad input) has nothing to write
      if (rowCount(rows) > 0) tables.push(rows);
    }
    const batch = { tables, deadLetters: this.#deadLetters, positions: this.#positions };
    this.#tables = new Map();
    this.#slots = [];
    this.#deadLetters = [];
    this.#deadLettersMoved = 0;
    this.#positions = new Map();
    this.#records = 0;
    this.#startedAt = undefined;
    return batch;
  }

  #touch(): void {
    this.#startedAt ??= this.#now();
  }
}
