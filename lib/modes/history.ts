/**
 * `history` mode: one `_cdc` row per change event (SPEC section 3), keyed by
 * its Kafka position, so that a replayed row is the same row.
 *
 * @module
 */
import { cdcTableDdl } from "../cdc_table.ts";
import { qualifiedName, quoteIdent } from "../dialect.ts";
import { loadDataOf } from "../load_data.ts";
import { allNullable, multiRowStatements, runAll, type SinkMode } from "./mode.ts";

/** The change history. */
export const HISTORY: SinkMode = {
  name: "history",
  defaultTemplate: "{table}_cdc",
  needsKey: false,
  fenced: false,
  sourceColumns: allNullable,
  createTableDdl: (database, table, columns) => cdcTableDdl(database, table, columns),
  async write(run, target, { table, columnNames, rows }) {
    // A row already present is the same record: left as it is. LOAD DATA ignores it (the
    // sink refuses any other warning); an INSERT updates nothing (not IGNORE, which would
    // also hide data errors).
    const load = target.load && loadDataOf(target.database, table, columnNames, rows, "ignore");
    if (load && await target.load!(load, rows.length)) return;
    const head = `INSERT INTO ${qualifiedName(target.database, table)} (${
      columnNames.map(quoteIdent).join(", ")
    }) VALUES `;
    const tail = " ON DUPLICATE KEY UPDATE `__offset` = `__offset`";
    await runAll(run, multiRowStatements(head, rows, tail, target.maxStatementLength));
  },
};
