/**
 * `mirror` mode: one row per source primary key, equal to the source row, with
 * the position of the change applied last. Creates, reads and updates upsert
 * the after image; deletes remove the key; a truncate empties the table (a
 * DELETE: TRUNCATE would commit the batch's transaction implicitly).
 *
 * @module
 */
import { METADATA_COLUMNS } from "../../debezium/cdc_row.ts";
import { createTableDdl, qualifiedName, quoteIdent } from "../../mysql/dialect.ts";
import type { SqlValue } from "../../mysql/values.ts";
import { keyText, multiRowStatements, runAll, segmentsAtTruncates, type SinkMode } from "./mode.ts";
import { opOf, type RowLayout } from "../../debezium/cdc_row.ts";

/** What a run of changes leaves per key: the last image to upsert, or the keys to delete. */
export interface KeyOutcome {
  upserts: SqlValue[][];
  deletes: SqlValue[][];
}

/**
 * Reduces changes (in offset order) to their outcome per key: the result equals
 * applying them one by one, since only the last change of a key counts.
 */
export function lastChangePerKey(rows: readonly SqlValue[][], layout: RowLayout): KeyOutcome {
  const last = new Map<string, SqlValue[]>();
  for (const row of rows) {
    const key = keyText(row, layout);
    last.delete(key); // keeps the map in the order of each key's last change
    last.set(key, row);
  }
  const outcome: KeyOutcome = { upserts: [], deletes: [] };
  for (const row of last.values()) {
    if (opOf(row, layout) === "d") outcome.deletes.push(layout.key.map((i) => row[i]));
    else outcome.upserts.push(row);
  }
  return outcome;
}

/** The current state of the source. */
export const MIRROR: SinkMode = {
  name: "mirror",
  defaultTemplate: "{table}_mirror",
  needsKey: true,
  fenced: true,
  sourceColumns: (columns, key) => columns.map((c) => ({ ...c, nullable: !key.includes(c.name) })),
  createTableDdl: (database, table, columns, key) =>
    createTableDdl(database, table, [...columns, ...METADATA_COLUMNS], key),
  async write(run, target, { table, columnNames, keyColumns, layout, rows }) {
    const name = qualifiedName(target.database, table);
    const keyList = `(${keyColumns.map(quoteIdent).join(", ")})`;
    const keyed = new Set(keyColumns);
    const insert = `INSERT INTO ${name} (${columnNames.map(quoteIdent).join(", ")}) VALUES `;
    const update = ` ON DUPLICATE KEY UPDATE ${
      columnNames.filter((c) => !keyed.has(c)).map((c) =>
        `${quoteIdent(c)} = VALUES(${quoteIdent(c)})`
      )
        .join(", ")
    }`;
    for (const segment of segmentsAtTruncates(rows, layout)) {
      const { upserts, deletes } = lastChangePerKey(segment.rows, layout);
      const max = target.maxStatementLength;
      await runAll(
        run,
        multiRowStatements(`DELETE FROM ${name} WHERE ${keyList} IN (`, deletes, ")", max),
      );
      await runAll(run, multiRowStatements(insert, upserts, update, max));
      if (segment.truncate) await run(`DELETE FROM ${name}`);
    }
  },
};
