import assert from "node:assert/strict";
import {
  changeOf,
  drainTable,
  firstRowTable,
  latencyTable,
  median,
  partitionOf,
  percentile,
  ratioTable,
  sqlLiteral,
  tsvField,
  unitSize,
} from "./stats.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (codes: number[]) => new TextDecoder().decode(new Uint8Array(codes));

Deno.test("median: middle value, mean of the middle two, NaN when empty", () => {
  assert.deepEqual(median([3, 1, 2]), 2);
  assert.deepEqual(median([4, 1, 3, 2]), 2.5);
  assert.deepEqual(median([]), NaN);
});

Deno.test("percentile: nearest rank", () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 .. 1, unsorted
  assert.deepEqual(percentile(values, 99), 99);
  assert.deepEqual(percentile(values, 100), 100);
  assert.deepEqual(percentile(values, 1), 1);
  assert.deepEqual(percentile([7], 99), 7);
});

Deno.test("sqlLiteral: quotes and escapes what a MariaDB string literal needs, numbers bare", () => {
  assert.deepEqual(text(sqlLiteral(bytes(`it's "q" \\ ü😀`), false)), `'it\\'s "q" \\\\ ü😀'`);
  assert.deepEqual(text(sqlLiteral(bytes("a\nb\rc\0d\x1ae"), false)), `'a\\nb\\rc\\0d\\Ze'`);
  assert.deepEqual(text(sqlLiteral(bytes("12.50"), true)), "12.50");
  assert.deepEqual(text(sqlLiteral(null, false)), "NULL");
});

Deno.test("tsvField: LOAD DATA's default escapes; NULL is \\N", () => {
  assert.deepEqual(text(tsvField(bytes("a\tb\nc\\d\0e\rf 😀'"))), "a\\tb\\nc\\\\d\\0e\\rf 😀'");
  assert.deepEqual(text(tsvField(null)), "\\N");
  assert.deepEqual(text(tsvField(bytes("NULL"))), "NULL");
});

Deno.test("drainTable: medians, every round, RSS growth only where measured", () => {
  const table = drainTable([
    {
      name: "cdc",
      rssNote: "process",
      rounds: [
        {
          round: 1,
          seconds: 1,
          eventsPerSecond: 30000,
          firstRowSeconds: 0.5,
          afterFirstRowPerSecond: 40000,
          peakRssMiB: 300,
        },
        {
          round: 2,
          seconds: 1,
          eventsPerSecond: 10000,
          firstRowSeconds: 0.25,
          afterFirstRowPerSecond: 20000,
          peakRssMiB: 100,
        },
        {
          round: 3,
          seconds: 1,
          eventsPerSecond: 20000,
          firstRowSeconds: 0.75,
          afterFirstRowPerSecond: 30000,
          peakRssMiB: 200,
        },
      ],
    },
    {
      name: "ceiling",
      rssNote: "n/a",
      rounds: [{ round: 1, seconds: 1, eventsPerSecond: 76543.4 }],
    },
    {
      name: "jdbc",
      rssNote: "worker",
      rounds: [{ round: 1, seconds: 1, eventsPerSecond: 5, peakRssMiB: 800, rssDeltaMiB: 70 }],
    },
  ]).split("\n");
  assert.deepEqual(lines(table[2]), [
    "cdc",
    "20,000",
    "30,000, 10,000, 20,000",
    "0.50 s (0.50, 0.25, 0.75)",
    "30,000",
    "200 MiB",
    "process",
  ]);
  assert.deepEqual(lines(table[3]), ["ceiling", "76,543", "76,543", "n/a", "n/a", "n/a", "n/a"]);
  assert.ok(table[4].includes("| 800 MiB (+70 MiB in the round) |"));
});

Deno.test("latencyTable: medians of p50 and p99 per contender, then every round in ms", () => {
  const round = (name: string, round: number, p50: number, p99: number) => ({
    name,
    round,
    samples: 300000,
    achievedRate: 4999.6,
    p50,
    p99,
    max: 900,
  });
  const table = latencyTable([
    round("cdc", 1, 120.4, 480.6),
    round("jdbc", 1, 50, 70),
    round("cdc", 2, 300, 900),
    round("cdc", 3, 200, 500),
  ]).split("\n");
  assert.deepEqual(lines(table[2]), ["cdc", "3", "200 ms", "500 ms"]);
  assert.deepEqual(lines(table[3]), ["jdbc", "1", "50 ms", "70 ms"]);
  assert.deepEqual(lines(table[7]), [
    "cdc",
    "1",
    "5,000/s",
    "300,000",
    "120 ms",
    "481 ms",
    "900 ms",
  ]);
  assert.equal(table.length, 11);
});

function lines(row: string): string[] {
  return row.split("|").slice(1, -1).map((cell) => cell.trim());
}

Deno.test("ratioTable: each median against the base's, and each round against the base's round", () => {
  const result = (name: string, rates: number[]) => ({
    name,
    rssNote: "",
    rounds: rates.map((eventsPerSecond, i) => ({
      round: i + 1,
      load: "0",
      seconds: 1,
      eventsPerSecond,
    })),
  });
  const base = result("none", [100, 120, 110]);
  const table = ratioTable([base, result("lz4", [90, 60, 99])], base);
  assert.equal(
    table.split("\n").slice(2).join("\n"),
    ["| none | 110 | 1.00 | 1.00, 1.00, 1.00 |", "| lz4 | 90 | 0.82 | 0.90, 0.50, 0.90 |"].join(
      "\n",
    ),
  );
});

Deno.test("firstRowTable: medians of the first row and peak RSS, then each round", () => {
  const table = firstRowTable([{
    name: "many",
    rssNote: "",
    rounds: [0.4, 0.6, 0.5].map((firstRowSeconds, i) => ({
      round: i + 1,
      seconds: 1,
      eventsPerSecond: 1,
      firstRowSeconds,
      peakRssMiB: 100 + i,
    })),
  }]);
  assert.equal(
    table.split("\n")[2],
    "| many | 0.50 s | 0.40 s, 0.60 s, 0.50 s | 101 MiB | 100 MiB, 101 MiB, 102 MiB |",
  );
});

Deno.test("partitionOf: one partition takes every key; a key always goes to the same one", () => {
  const key = new TextEncoder().encode("key 1");
  assert.equal(partitionOf(key, 1), 0);
  assert.equal(partitionOf(null, 12), 0);
  assert.equal(partitionOf(key, 12), partitionOf(new TextEncoder().encode("key 1"), 12));
  const spread = new Set(
    Array.from({ length: 200 }, (_, i) => partitionOf(new TextEncoder().encode(`k${i}`), 12)),
  );
  assert.equal(spread.size, 12);
});

Deno.test("unitSize and changeOf: a unit's changes, table by table, unit by unit", () => {
  // one table, one change a unit: the offset is the change
  assert.equal(unitSize([1]), 1);
  assert.deepEqual([0, 1, 7].map((offset) => changeOf([1], 0, offset)), [0, 1, 7]);
  // an order (1 change) and its 4 lines a unit: unit u is changes 5u (order) .. 5u + 4 (lines)
  const orders = [1, 4];
  assert.equal(unitSize(orders), 5);
  assert.deepEqual([0, 1, 2].map((offset) => changeOf(orders, 0, offset)), [0, 5, 10]);
  assert.deepEqual(
    Array.from({ length: 8 }, (_, offset) => changeOf(orders, 1, offset)),
    [1, 2, 3, 4, 6, 7, 8, 9],
  );
  // every change of the first 3 units is some table's offset, once
  const all = [
    ...Array.from({ length: 3 }, (_, o) => changeOf(orders, 0, o)),
    ...Array.from({ length: 12 }, (_, o) => changeOf(orders, 1, o)),
  ].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 15 }, (_, i) => i));
});
