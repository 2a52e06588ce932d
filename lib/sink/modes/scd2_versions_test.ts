import assert from "node:assert/strict";
import { change, CHANGE_LAYOUT } from "../testing.ts";
import type { SqlValue } from "../../mysql/values.ts";
import { keyText } from "./mode.ts";
import { KeyNumbers, type OpenVersion, versionChanges } from "./scd2_versions.ts";

const layout = CHANGE_LAYOUT;
const SOURCE_WIDTH = 2;

/** `versionChanges` of `rows`, given the open versions by key text (`keyText`). */
function versionsOf(rows: SqlValue[][], open: ReadonlyMap<string, OpenVersion>) {
  const numbers = new KeyNumbers();
  const keys = rows.map((row) => numbers.numberOf(keyText(row, layout)));
  const byNumber: OpenVersion[] = [];
  for (const [key, version] of open) byNumber[numbers.numberOf(key)] = version;
  return versionChanges(rows, layout, SOURCE_WIDTH, keys, byNumber);
}
/** [id, v, valid_from second, valid_to second, current, deleted, op] of each new row. */
const shape = (rows: SqlValue[][]) =>
  rows.map((r) => [
    r[0],
    r[1],
    String(r[2]).slice(17, 19),
    r[3] === null ? null : String(r[3]).slice(17, 19),
    r[4],
    r[5],
    r[6],
  ]);

Deno.test("versionChanges: updates close the open version; deletes close it and are kept", () => {
  const { inserts, closes } = versionsOf(
    [
      change("c", 1, "a", "01"),
      change("u", 1, "b", "05"),
      change("d", 1, "b", "09"),
      change("c", 1, "again", "12"),
    ],
    new Map(),
  );
  assert.deepEqual(shape(inserts), [
    [1, "a", "01", "05", 0, 0, "c"],
    [1, "b", "05", "09", 0, 0, "u"],
    [1, "b", "09", "09", 0, 1, "d"], // the delete: an empty interval, __deleted
    [1, "again", "12", null, 1, 0, "c"], // a re-insert opens a new version
  ]);
  assert.deepEqual(closes, []);
});

Deno.test("versionChanges: a stored open version is closed by position", () => {
  const open = new Map([["1", { partition: 0, offset: 7, validFrom: "2026-01-01 00:00:03.000" }]]);
  const { inserts, closes } = versionsOf(
    [change("u", 1, "b", "05")],
    open,
  );
  assert.deepEqual(closes, [[0, 7, "2026-01-01 00:00:05.000"]]);
  assert.deepEqual(shape(inserts), [[1, "b", "05", null, 1, 0, "u"]]);
});

Deno.test("versionChanges: ties within a second, and instants that run backwards", () => {
  const open = new Map([["1", { partition: 0, offset: 7, validFrom: "2026-01-01 00:00:30.000" }]]);
  const { inserts, closes } = versionsOf(
    [
      change("u", 1, "x", "20"), // earlier than the open version: raised to it
      change("u", 1, "y", "30"),
      change("c", 2, "p", "40"),
      change("u", 2, "q", "40"), // same second: the first gets an empty interval
    ],
    open,
  );
  assert.deepEqual(closes, [[0, 7, "2026-01-01 00:00:30.000"]]);
  assert.deepEqual(shape(inserts), [
    [1, "x", "30", "30", 0, 0, "u"],
    [1, "y", "30", null, 1, 0, "u"],
    [2, "p", "40", "40", 0, 0, "c"],
    [2, "q", "40", null, 1, 0, "u"],
  ]);
});
