/**
 * Pure parts of the benchmark (tests/bench/stream_bench.ts): statistics, the text forms of the
 * ceiling's input (SQL literals, `LOAD DATA` fields) and the report table.
 *
 * @module
 */

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/**
 * The `p`th percentile of `values` by the nearest-rank method (the smallest value with at least
 * p% of the values at or below it; for p = 50 with an even count, the mean of the middle two).
 * NaN when empty.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  if (p === 50 && sorted.length % 2 === 0) {
    const mid = sorted.length / 2;
    return (sorted[mid - 1] + sorted[mid]) / 2;
  }
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

const BACKSLASH = 0x5c;

/** Bytes MariaDB's string literal syntax needs escaped, and the letter after the backslash. */
const SQL_ESCAPES = new Map<number, number>([
  [0x00, 0x30], // \0
  [0x0a, 0x6e], // \n
  [0x0d, 0x72], // \r
  [0x1a, 0x5a], // \Z
  [0x27, 0x27], // \'
  [BACKSLASH, BACKSLASH],
]);

/** Bytes `LOAD DATA`'s default field format (tab-separated, `ESCAPED BY '\\'`) needs escaped. */
const TSV_ESCAPES = new Map<number, number>([
  [0x00, 0x30], // \0
  [0x09, 0x74], // \t
  [0x0a, 0x6e], // \n
  [0x0d, 0x72], // \r
  [BACKSLASH, BACKSLASH],
]);

function escapeBytes(value: Uint8Array, escapes: Map<number, number>): number[] {
  const out: number[] = [];
  for (const byte of value) {
    const letter = escapes.get(byte);
    if (letter === undefined) out.push(byte);
    else out.push(BACKSLASH, letter);
  }
  return out;
}

const NULL_SQL = [...new TextEncoder().encode("NULL")];
const NULL_TSV = [BACKSLASH, 0x4e]; // \N

/**
 * A column value (its text-protocol bytes, null for NULL) as a MariaDB SQL literal: numbers as
 * they are when `numeric`, anything else quoted with the bytes that need it escaped.
 */
export function sqlLiteral(value: Uint8Array | null, numeric: boolean): number[] {
  if (value === null) return NULL_SQL;
  if (numeric) return [...value];
  return [0x27, ...escapeBytes(value, SQL_ESCAPES), 0x27];
}

/** A column value (text-protocol bytes, null for NULL) as a field of `LOAD DATA`'s default format. */
export function tsvField(value: Uint8Array | null): number[] {
  return value === null ? NULL_TSV : escapeBytes(value, TSV_ESCAPES);
}

/** One contender's measurements in one round. */
export interface RoundResult {
  round: number;
  /** The load average (1, 5, 15 min) when the round started. */
  load?: string;
  /** Seconds from the contender's start to all N rows visible. */
  seconds: number;
  eventsPerSecond: number;
  /** Seconds from the contender's start to its first visible row (its start-up). */
  firstRowSeconds?: number;
  /** Events per second from the first visible row to the last (a sink's start-up left out). */
  afterFirstRowPerSecond?: number;
  /** Peak resident set in MiB, when the contender has a process of its own to sample. */
  peakRssMiB?: number;
  /** Peak RSS growth over the round in MiB (the shared Connect worker). */
  rssDeltaMiB?: number;
}

/** A contender's rounds and their medians. */
export interface ContenderResult {
  name: string;
  /** What its RSS figure is. */
  rssNote: string;
  rounds: RoundResult[];
}

/** Latency percentiles of one contender at a steady source rate, in milliseconds. */
export interface LatencyResult {
  name: string;
  round: number;
  /** The load average (1, 5, 15 min) when the round started. */
  load?: string;
  samples: number;
  /** Changes per second the source actually made. */
  achievedRate: number;
  p50: number;
  p99: number;
  max: number;
}

/** The percentiles of `latencies` (ms) as one line of the latency table. */
export function latencyResult(
  name: string,
  round: number,
  load: string,
  achievedRate: number,
  latencies: readonly number[],
): LatencyResult {
  return {
    name,
    round,
    load,
    samples: latencies.length,
    achievedRate,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.reduce((a, b) => Math.max(a, b), -Infinity),
  };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const mib = (n: number | undefined) => n === undefined ? "n/a" : `${Math.round(n)} MiB`;

/** The drain table: medians first, then every round, each contender with its RSS meaning. */
export function drainTable(results: readonly ContenderResult[]): string {
  const lines = [
    "| contender | drain events/s (median) | rounds (events/s) | first row after (median) | after first row (median) | peak RSS (median) | RSS is |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    const rates = r.rounds.map((x) => x.eventsPerSecond);
    const rss = r.rounds.map((x) => x.peakRssMiB).filter((x) => x !== undefined);
    const delta = r.rounds.map((x) => x.rssDeltaMiB).filter((x) => x !== undefined);
    const rssText = rss.length === 0
      ? "n/a"
      : `${mib(median(rss))}${delta.length ? ` (+${mib(median(delta))} in the round)` : ""}`;
    const afterFirst = r.rounds.map((x) => x.afterFirstRowPerSecond).filter((x) => x !== undefined);
    const afterText = afterFirst.length === 0 ? "n/a" : int(median(afterFirst));
    const firstRow = r.rounds.map((x) => x.firstRowSeconds).filter((x) => x !== undefined);
    const firstText = firstRow.length === 0
      ? "n/a"
      : `${median(firstRow).toFixed(2)} s (${firstRow.map((x) => x.toFixed(2)).join(", ")})`;
    lines.push(
      `| ${r.name} | ${int(median(rates))} | ${
        rates.map(int).join(", ")
      } | ${firstText} | ${afterText} | ${rssText} | ${r.rssNote} |`,
    );
  }
  return lines.join("\n");
}

/** The latency table: the medians over rounds of each contender's p50 and p99, then every round. */
export function latencyTable(results: readonly LatencyResult[]): string {
  const ms = (n: number) => `${Math.round(n)} ms`;
  const names = [...new Set(results.map((r) => r.name))];
  return [
    "| contender | rounds | median p50 | median p99 |",
    "| --- | --- | --- | --- |",
    ...names.map((name) => {
      const rounds = results.filter((r) => r.name === name);
      return `| ${name} | ${rounds.length} | ${ms(median(rounds.map((r) => r.p50)))} | ${
        ms(median(rounds.map((r) => r.p99)))
      } |`;
    }),
    "",
    "| contender | round | source rate | rows | p50 | p99 | max |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...results.map((r) =>
      `| ${r.name} | ${r.round} | ${int(r.achievedRate)}/s | ${int(r.samples)} | ${ms(r.p50)} | ${
        ms(r.p99)
      } | ${ms(r.max)} |`
    ),
  ].join("\n");
}

/**
 * Each contender's median drain rate as a share of `base`'s (e.g. each codec against the
 * uncompressed topic), with each round's ratio against the base's rate in that round.
 */
export function ratioTable(results: readonly ContenderResult[], base: ContenderResult): string {
  const baseMedian = median(base.rounds.map((r) => r.eventsPerSecond));
  const lines = [
    `| contender | median events/s | share of ${base.name}'s median | per round |`,
    "| --- | --- | --- | --- |",
  ];
  for (const r of results) {
    const rates = r.rounds.map((x) => x.eventsPerSecond);
    const perRound = r.rounds.map((x) => {
      const same = base.rounds.find((b) => b.round === x.round);
      return same ? (x.eventsPerSecond / same.eventsPerSecond).toFixed(2) : "n/a";
    });
    lines.push(
      `| ${r.name} | ${int(median(rates))} | ${(median(rates) / baseMedian).toFixed(2)} | ${
        perRound.join(", ")
      } |`,
    );
  }
  return lines.join("\n");
}

/** Partition of a record key among `partitions`: a hash of its bytes, as a keyed producer's. */
export function partitionOf(key: Uint8Array | null, partitions: number): number {
  if (key === null) return 0;
  let hash = 0x811c9dc5; // FNV-1a
  for (const byte of key) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % partitions;
}

/** Each contender's time to its first visible row and its peak RSS: medians, then every round. */
export function firstRowTable(results: readonly ContenderResult[]): string {
  const seconds = (n: number) => `${n.toFixed(2)} s`;
  const lines = [
    "| contender | first row (median) | rounds | peak RSS (median) | rounds |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    const first = r.rounds.map((x) => x.firstRowSeconds).filter((x) => x !== undefined);
    const rss = r.rounds.map((x) => x.peakRssMiB).filter((x) => x !== undefined);
    lines.push(
      `| ${r.name} | ${first.length ? seconds(median(first)) : "n/a"} | ${
        first.map(seconds).join(", ")
      } | ${mib(rss.length ? median(rss) : undefined)} | ${rss.map(mib).join(", ")} |`,
    );
  }
  return lines.join("\n");
}

/**
 * The changes a unit of a source makes (one row of the one-table source, one source
 * transaction of the orders source): the sum of what it makes in each table, `perUnit`.
 */
export function unitSize(perUnit: readonly number[]): number {
  return perUnit.reduce((a, b) => a + b, 0);
}

/**
 * The change (numbered from 0 in the order the source makes them: unit by unit, in each unit
 * table by table) that offset `offset` of table `table`'s topic carries, when every unit makes
 * `perUnit[t]` changes in table `t` and each topic holds only the source's changes, from offset 0.
 */
export function changeOf(perUnit: readonly number[], table: number, offset: number): number {
  const before = unitSize(perUnit.slice(0, table));
  const per = perUnit[table];
  return Math.floor(offset / per) * unitSize(perUnit) + before + offset % per;
}
