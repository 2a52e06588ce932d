/**
 * scd2's versions, computed: which interval each change's version gets and which stored versions
 * it closes. Pure: the mode (scd2.ts) reads the keys' open versions and writes the result, from
 * rows held as values or as LOAD DATA lines alike.
 *
 * @module
 */
import type { SqlValue } from "../../mysql/values.ts";
import { opOf, type RowLayout } from "../../debezium/cdc_row.ts";

/** A key's open version as stored: its position and when it became valid. */
export interface OpenVersion {
  partition: number;
  offset: number;
  /** `YYYY-MM-DD HH:MM:SS.fff`, as the server shows DATETIME(3). */
  validFrom: string;
}

/** Changes of one table in offset order, no truncate among them, as versioning sees them. */
export interface KeyedChanges {
  /** Each change's key as a number: the keys in the order they first appear, from 0. */
  keys: ArrayLike<number>;
  /** When each became true in the source (`YYYY-MM-DD HH:MM:SS.fff`). */
  instants: readonly string[];
  /** Whether change `change` is a delete. */
  deleted: (change: number) => boolean;
}

/** Each change's version interval, and the stored versions the changes close. */
export interface VersionIntervals {
  /** Valid from, per change. */
  from: string[];
  /** Valid to per change: null while it is its key's open version. */
  to: (string | null)[];
  /** Stored versions to close: partition, offset, valid to. */
  closes: [number, number, string][];
}

const later = (a: string, b: string) => (a > b ? a : b);

/** What opened a key's open version: a stored version, none, or else the change of that index. */
const STORED = -1, NONE = -2;

/**
 * The intervals of the versions `changes` open, given the open version in the table of each
 * key (by its number). A change opens a version valid from its instant
 * and closes its key's open version then; a delete's version is closed at once (an empty
 * interval). An instant earlier than the version it replaces is raised to it: intervals never
 * run backwards.
 */
export function versionIntervals(
  changes: KeyedChanges,
  open: readonly (OpenVersion | undefined)[],
): VersionIntervals {
  const { keys, instants, deleted } = changes;
  const intervals: VersionIntervals = { from: [], to: [], closes: [] };
  // per key: what opened its open version, and when that became valid
  const opener: number[] = [];
  const validFrom: string[] = [];
  open.forEach((version, key) => {
    if (version) opener[key] = STORED, validFrom[key] = version.validFrom;
  });
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const by = opener[key] ?? NONE;
    const at = by === NONE ? instants[i] : later(instants[i], validFrom[key]);
    if (by === STORED) {
      const stored = open[key]!;
      intervals.closes.push([stored.partition, stored.offset, at]);
    } else if (by !== NONE) intervals.to[by] = at;
    intervals.from.push(at);
    if (deleted(i)) {
      intervals.to.push(at);
      opener[key] = NONE;
    } else {
      intervals.to.push(null);
      opener[key] = i;
      validFrom[key] = at;
    }
  }
  return intervals;
}

/** Numbers keys in the order they first appear: {@linkcode KeyedChanges.keys}. */
export class KeyNumbers {
  readonly #numbers = new Map<string | number, number>();

  /** How many keys are numbered. */
  get count(): number {
    return this.#numbers.size;
  }

  /**
   * The number of key `key` (its text, or its one whole number where that is the same key): the
   * next one, {@linkcode count}, for a new key.
   */
  numberOf(key: string | number): number {
    let n = this.#numbers.get(key);
    if (n === undefined) this.#numbers.set(key, n = this.#numbers.size);
    return n;
  }
}

/** The instant a change became true in the source: its commit time, else when Debezium saw it. */
export function instantOf(row: readonly SqlValue[], layout: RowLayout): string {
  return String(row[layout.sourceTs] ?? row[layout.ts]);
}

/** What a run of changes held as values does to the table. */
export interface VersionChanges {
  /** New rows: source columns, the validity columns, the metadata. */
  inserts: SqlValue[][];
  /** Stored versions to close: partition, offset, valid to. */
  closes: [number, number, string][];
}

/**
 * The versions that changes (in offset order, no truncate among them) open and close, given
 * each change's key by number ({@linkcode KeyNumbers}) and the open version in the table of
 * each key, as rows to insert.
 */
export function versionChanges(
  rows: readonly SqlValue[][],
  layout: RowLayout,
  sourceWidth: number,
  keys: readonly number[],
  open: readonly (OpenVersion | undefined)[],
): VersionChanges {
  const deleted = (i: number) => opOf(rows[i], layout) === "d";
  const { from, to, closes } = versionIntervals({
    keys,
    instants: rows.map((row) => instantOf(row, layout)),
    deleted,
  }, open);
  const inserts = rows.map((row, i) => [
    ...row.slice(0, sourceWidth),
    ...validity(from[i], to[i], deleted(i)),
    ...row.slice(sourceWidth),
  ]);
  return { inserts, closes };
}

/** The validity columns' values of a version: valid from, to, current, deleted. */
export function validity(from: string, to: string | null, deleted: boolean): SqlValue[] {
  return [from, to, to === null ? 1 : 0, deleted ? 1 : 0];
}
