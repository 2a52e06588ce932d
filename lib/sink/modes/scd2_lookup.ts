/**
 * scd2's reads and closes of stored versions: the open version of each key a batch changes,
 * and the UPDATE that closes those the batch replaces. Both paths of the mode (rows held as
 * values, or as LOAD DATA lines) use them.
 *
 * @module
 */
import mysql from "mysql2/promise";
import type { TableRows } from "../batch.ts";
import { qualifiedName, quoteIdent } from "../../mysql/dialect.ts";
import { loadDataStatement, type LoadDataText } from "../../mysql/load_data.ts";
import type { SqlValue } from "../../mysql/values.ts";
import { packItems, type SqlRunner, type WriteTarget } from "./mode.ts";
import type { OpenVersion } from "./scd2_versions.ts";

/**
 * The stored open version of each key in `keys` (one line per key, in the table's staging
 * table's format), by its line's index: the keys are loaded into the staging table and joined
 * to the table on the server, in one round trip.
 */
export async function openVersionsStaged(
  target: WriteTarget,
  batch: TableRows,
  keys: LoadDataText,
): Promise<(OpenVersion | undefined)[]> {
  if (keys.rows === 0) return [];
  const { table, keyColumns } = batch;
  const name = qualifiedName(target.database, table);
  const stage = target.stage(batch);
  const staged = qualifiedName(target.database, stage);
  const join = keyColumns.map((k) => `t.${quoteIdent(k)} = c.${quoteIdent(k)}`).join(" AND ");
  const [first, found] = await target.load(
    name,
    loadDataStatement(target.database, stage, keyColumns, keys.format),
    keys,
    [
      // the keys' load order from 0: auto-increment values go on from the last batch's
      `SELECT MIN(\`__seq\`) AS m FROM ${staged}`,
      `SELECT c.\`__seq\` AS i, t.\`__partition\` AS p, t.\`__offset\` AS o,
        t.\`__valid_from\` AS vf FROM ${name} t JOIN ${staged} c ON ${join}
        WHERE t.\`__current\` = 1`,
      `DELETE FROM ${staged}`,
    ],
  ) as [{ m: number | string | null }[], OpenRow[]];
  return openVersionsOf(keys.rows, found, Number(first[0]?.m ?? 0));
}

/**
 * {@linkcode openVersionsStaged} where the server takes no LOAD DATA: the keys (each key's
 * values) as derived tables of SELECTs, compared by the server in the columns' own types.
 */
export async function openVersionsSelected(
  run: SqlRunner,
  name: string,
  keyColumns: readonly string[],
  keys: readonly SqlValue[][],
  maxBytes: number,
): Promise<(OpenVersion | undefined)[]> {
  const aliases = ["i", ...keyColumns.map((_, n) => `k${n}`)];
  const tuples = keys.map((values, i) => [i, ...values]);
  const join = keyColumns.map((k, n) => `t.${quoteIdent(k)} = c.k${n}`).join(" AND ");
  const found: OpenRow[] = [];
  for (const derived of derivedTables(tuples, aliases, 300 + name.length, maxBytes)) {
    found.push(
      ...await run(
        `SELECT c.i AS i, t.\`__partition\` AS p, t.\`__offset\` AS o, t.\`__valid_from\` AS vf
          FROM ${name} t JOIN (${derived}) c ON ${join} WHERE t.\`__current\` = 1`,
      ) as OpenRow[],
    );
  }
  return openVersionsOf(keys.length, found, 0);
}

/** Closes stored versions: one UPDATE joined to their positions, per chunk. */
export function closeStatements(
  name: string,
  closes: readonly [number, number, string][],
  maxBytes: number,
): string[] {
  return derivedTables(closes, ["p", "o", "vt"], 300 + name.length, maxBytes).map((derived) =>
    `UPDATE ${name} t JOIN (${derived}) c ON t.\`__partition\` = c.p AND t.\`__offset\` = c.o
      SET t.\`__valid_to\` = c.vt, t.\`__current\` = 0`
  );
}

/** A truncate at instant `at` (the statement's one value): every open version closed then. */
export function closeAllStatement(name: string): string {
  return `UPDATE ${name} SET \`__valid_to\` = GREATEST(\`__valid_from\`, CAST(? AS DATETIME(3))),
    \`__current\` = 0 WHERE \`__current\` = 1`;
}

/** A stored open version as the look-up returns it: the key's index, position, valid from. */
interface OpenRow {
  i: number | string;
  p: number | string;
  o: number | string;
  vf: string;
}

/** The open version of each of `count` keys, from look-up rows whose index counts from `base`. */
function openVersionsOf(
  count: number,
  found: readonly OpenRow[],
  base: number,
): (OpenVersion | undefined)[] {
  const open: (OpenVersion | undefined)[] = new Array(count);
  for (const r of found) {
    open[Number(r.i) - base] = { partition: Number(r.p), offset: Number(r.o), validFrom: r.vf };
  }
  return open;
}

/**
 * `rows` as derived tables `SELECT a AS x, b AS y UNION ALL SELECT c, d ...`, as few as
 * fit under `maxBytes` with `overhead`; every value escaped by the driver.
 */
function derivedTables(
  rows: readonly (readonly SqlValue[])[],
  aliases: readonly string[],
  overhead: number,
  maxBytes: number,
): string[] {
  const values = rows.map((row) => row.map((v) => mysql.escape(v)));
  const texts = values.map((v) => v.join(", "));
  const tables: string[] = [];
  let at = 0;
  for (const chunk of packItems(texts, overhead, maxBytes)) {
    const first = values[at].map((v, n) => `${v} AS ${aliases[n]}`).join(", ");
    tables.push(
      [`SELECT ${first}`, ...chunk.slice(1).map((t) => `SELECT ${t}`)].join(" UNION ALL "),
    );
    at += chunk.length;
  }
  return tables;
}
