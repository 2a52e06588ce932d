/**
 * `mirror` mode: one row per source primary key, equal to the source row, with
 * the position of the change applied last. Creates, reads and updates upsert
 * the after image; deletes remove the key; a truncate empties the table (a
 * DELETE: TRUNCATE would commit the batch's transaction implicitly).
 *
 * Rows held as LOAD DATA text are bulk-loaded: a batch of creates, reads and updates only, none
 * of them applied already, straight into the table with `LOAD DATA ... REPLACE` (lines apply in
 * order, so each key ends with its last change, whole); any other batch through a staging table
 * (see {@linkcode writeStaged}).
 *
 * @module
 */
import { METADATA_COLUMNS } from "../../debezium/cdc_row.ts";
import { createTableDdl, qualifiedName, quoteIdent } from "../../mysql/dialect.ts";
import type { SqlValue } from "../../mysql/values.ts";
import { loadDataStatement, type LoadDataText } from "../../mysql/load_data.ts";
import type { TableRows } from "../batch.ts";
import {
  type Fence,
  keyText,
  multiRowStatements,
  runAll,
  segmentsAtTruncates,
  type SinkMode,
  type SqlRunner,
  type WriteTarget,
} from "./mode.ts";
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
  // a key's later line replaces its earlier one, in the table as in the staging table
  bulkLoad: "replace",
  fenced: true,
  // a batch with deletes, truncates or a fence goes through the source key's last changes
  stageOf: (rows) => rows.text ? { columns: rows.columnNames, unique: rows.keyColumns } : undefined,
  sourceColumns: (columns, key) => columns.map((c) => ({ ...c, nullable: !key.includes(c.name) })),
  createTableDdl: (database, table, columns, key) =>
    createTableDdl(database, table, [...columns, ...METADATA_COLUMNS], key),
  async write(run, target, rows, fence) {
    const { text } = rows;
    // creates, reads and updates only, none below a fence: LOAD DATA ... REPLACE into the
    // table, one statement, the server's own bulk upsert (a replaced row gets the whole image:
    // a column the source dropped becomes NULL); any other batch through the staging table
    if (text && text.tagged("d") === 0 && text.tagged("t") === 0 && !fence) {
      const { database } = target;
      const statement = loadDataStatement(database, rows.table, rows.columnNames, text.format);
      return void await target.load(qualifiedName(database, rows.table), statement, text);
    }
    if (text) return await writeStaged(run, target, rows, text, fence);
    const { table, columnNames, keyColumns, layout } = rows;
    const name = qualifiedName(target.database, table);
    const keyList = `(${keyColumns.map(quoteIdent).join(", ")})`;
    const insert = `INSERT INTO ${name} (${columnNames.map(quoteIdent).join(", ")}) VALUES `;
    const update = upsertClause(columnNames, keyColumns);
    for (const segment of segmentsAtTruncates(rows.rows, layout)) {
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

/** `ON DUPLICATE KEY UPDATE` of every column but the key's, to the value inserted. */
function upsertClause(columnNames: readonly string[], keyColumns: readonly string[]): string {
  const keyed = new Set(keyColumns);
  return ` ON DUPLICATE KEY UPDATE ${
    columnNames.filter((c) => !keyed.has(c)).map((c) =>
      `${quoteIdent(c)} = VALUES(${quoteIdent(c)})`
    )
      .join(", ")
  }`;
}

/**
 * Any batch of text rows, through the table's staging table (temporary, keyed by the source
 * key): `LOAD DATA ... REPLACE` leaves each key's last change there with its load order
 * (`__seq`), then set-based statements in the batch's transaction drop what `fence` says was
 * applied, empty the table at the last truncate (a `DELETE`) and apply each key's last change
 * after it: deletes remove the key, the rest replace its row with the image (as the direct
 * load does: a column missing from the image, dropped in the source, becomes NULL). Equal to
 * applying the changes one by one, as {@linkcode lastChangePerKey} does for rows held as values.
 */
export async function writeStaged(
  run: SqlRunner,
  target: WriteTarget,
  rows: TableRows,
  text: LoadDataText,
  fence: Fence | undefined,
): Promise<void> {
  const { table, columnNames, keyColumns } = rows;
  const { database } = target;
  const name = qualifiedName(database, table);
  const stage = qualifiedName(database, target.stage(rows));
  const load = loadDataStatement(database, target.stage(rows), columnNames, text.format);
  await target.load(name, load, text);
  if (fence) await run(`DELETE FROM ${stage} WHERE ${fenceCondition(fence)}`);
  let after = "";
  if (text.tagged("t") > 0) {
    const [found] = await run(
      `SELECT MAX(\`__seq\`) AS seq FROM ${stage} WHERE \`__op\` = 't'`,
    ) as { seq: string | number | null }[];
    if (found?.seq !== null && found?.seq !== undefined) {
      await run(`DELETE FROM ${name}`);
      after = ` AND s.\`__seq\` > ${Number(found.seq)}`;
    }
  }
  const columns = columnNames.map(quoteIdent).join(", ");
  const statements: string[] = [];
  // after a truncate the table is empty: nothing left for a delete to remove
  if (text.tagged("d") > 0 && !after) {
    // qualified names, not aliases: MariaDB resolves a multi-table DELETE's aliases in the
    // default database, and the sink's connection has none
    const join = keyColumns.map((k) => `${name}.${quoteIdent(k)} = ${stage}.${quoteIdent(k)}`)
      .join(" AND ");
    statements.push(
      `DELETE ${name} FROM ${name} JOIN ${stage} ON ${join} WHERE ${stage}.\`__op\` = 'd'`,
    );
  }
  statements.push(
    // REPLACE, as the direct load does: a key's row is its last image whatever the path
    `REPLACE INTO ${name} (${columns}) SELECT ${
      columnNames.map((c) => `s.${quoteIdent(c)}`).join(", ")
    } FROM ${stage} s WHERE s.\`__op\` NOT IN ('d', 't')${after}`,
    // empty for the next batch (a rolled-back batch leaves it empty too: it is transactional)
    `DELETE FROM ${stage}`,
  );
  await run(statements.join(";\n"));
}

/** The rows below a fence: `(partition = p AND offset < next) OR ...`. */
export function fenceCondition(fence: Fence): string {
  return [...fence].map(([partition, next]) =>
    `(\`__partition\` = ${Number(partition)} AND \`__offset\` < ${Number(next)})`
  ).join(" OR ");
}
