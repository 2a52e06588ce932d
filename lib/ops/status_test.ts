import assert from "node:assert/strict";
import {
  exceededThresholds,
  formatAge,
  renderStatus,
  type StatusReport,
  type TableStatus,
  tableStatus,
} from "./status.ts";

const NOW = new Date("2026-01-01T12:00:00Z");
const T = { table: "customers", topic: "p.inventory.customers", cdcTable: "customers_cdc" };

function customers(stored: [number, number][], newest: [number, number, string | null][]) {
  return tableStatus({
    ...T,
    stored: new Map(stored),
    kafka: [
      { partition: 0, committed: 10, earliest: 0, end: 10 },
      { partition: 1, earliest: 5, end: 8 },
    ],
    newest: newest.map(([partition, offset, ts]) => ({
      partition,
      offset,
      sourceTs: ts === null ? null : new Date(ts),
    })),
  }, NOW);
}

Deno.test("lag is end minus stored, or minus earliest where nothing is stored; age from the newest row", () => {
  const status = customers([[0, 7]], [[0, 6, "2026-01-01T11:59:30Z"]]);
  assert.deepEqual(status.partitions.map((p) => [p.partition, p.stored, p.committed, p.lag]), [
    [0, 7, 10, 3],
    [1, null, null, 3],
  ]);
  assert.equal(status.lag, 6);
  assert.equal(status.partitions[0].ageSeconds, 30);
  assert.equal(status.partitions[1].ageSeconds, null);
  assert.equal(status.newestSourceTs, "2026-01-01T11:59:30.000Z");
  assert.equal(status.ageSeconds, 30);
});

Deno.test("a table's newest source time is the newest over its partitions", () => {
  const status = customers([[0, 10], [1, 8]], [
    [0, 9, "2026-01-01T11:00:00Z"],
    [1, 7, "2026-01-01T11:58:00Z"],
  ]);
  assert.equal(status.lag, 0);
  assert.equal(status.ageSeconds, 120);
});

Deno.test("thresholds: lag and age exceeded are named, per table; no rows exceed any --max-age", () => {
  const behind = customers([[0, 7]], [[0, 6, "2026-01-01T11:50:00Z"]]);
  assert.deepEqual(exceededThresholds([behind], {}), []);
  assert.deepEqual(exceededThresholds([behind], { maxLag: 6, maxAge: 600_000 }), []);
  assert.deepEqual(exceededThresholds([behind], { maxLag: 5, maxAge: 599_000 }), [
    "customers_cdc: lag 6 records > --max-lag 5",
    "customers_cdc: newest __source_ts 2026-01-01T11:50:00.000Z is 10m old > --max-age 9m59s",
  ]);
  const empty = customers([], []);
  assert.deepEqual(exceededThresholds([empty], { maxAge: 3_600_000 }), [
    "customers_cdc: no row with a __source_ts written yet (--max-age 1h)",
  ]);
});

Deno.test("formatAge shows the two largest units, rounded down", () => {
  assert.deepEqual(
    [0, 0.9, 45, 60, 61, 725, 3600, 3601, 3660, 90_000].map(formatAge),
    ["0s", "0s", "45s", "1m", "1m1s", "12m5s", "1h", "1h", "1h1m", "1d1h"],
  );
});

Deno.test("the text report: group, connector, one line per partition, a total, what is exceeded", () => {
  const table: TableStatus = customers([[0, 7]], [[0, 6, "2026-01-01T11:59:30Z"]]);
  const report: StatusReport = {
    at: NOW.toISOString(),
    sink: "MySQL cdc@db:3306/inventory",
    group: {
      groupId: "g",
      state: "Stable",
      members: [{
        clientId: "cdc-g",
        host: "/10.0.0.1",
        memberId: "m",
        assignment: { [T.topic]: [0, 1] },
      }],
    },
    connector: {
      name: "inventory-connector",
      state: "RUNNING",
      tasks: [{ id: 0, state: "RUNNING" }],
    },
    tables: [table],
    exceeded: exceededThresholds([table], { maxLag: 0 }),
  };
  assert.equal(
    renderStatus(report),
    [
      "group g: Stable, 1 member(s)",
      "  cdc-g on /10.0.0.1: p.inventory.customers[0,1]",
      "connector inventory-connector: RUNNING, task 0 RUNNING",
      "sink MySQL cdc@db:3306/inventory",
      "",
      "TABLE          PARTITION  STORED  END  LAG  NEWEST SOURCE TS          AGE",
      "customers_cdc  0          7       10   3    2026-01-01T11:59:30.000Z  30s",
      "customers_cdc  1          -       8    3    -                         -",
      "customers_cdc  all                     6    2026-01-01T11:59:30.000Z  30s",
      "",
      "EXCEEDED customers_cdc: lag 6 records > --max-lag 0",
    ].join("\n"),
  );
  const idle = renderStatus({ ...report, group: { groupId: "g", state: "Empty", members: [] } });
  assert.match(idle, /^group g: Empty, 0 member\(s\) \(no stream runs\)\n/);
});
