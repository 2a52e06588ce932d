/**
 * `history` mode: one `_cdc` row per change event (SPEC section 3), keyed by
 * its Kafka position, so that a replayed row is the same row.
 *
 * @module
 */
import { cdcTableDdl } from "../../debezium/cdc_row.ts";
import { qualifiedName, quoteIdent } from "../../mysql/dialect.ts";
import { loadDataStatement } from "../../mysql/load_data.ts";
import { allNullable, multiRowStatements, runAll, type SinkMode } from "./mode.ts";

/** The change history. */
export const HISTORY: SinkMode = {
  name: "history",
  defaultTemplate: "{table}_cdc",
  needsKey: false,
  // a row already present is the same record: the server keeps it, the sink accepts the
  // duplicate-key warnings of exactly those rows
  bulkLoad: "ignore",
  fenced: false,
  sourceColumns: allNullable,
  createTableDdl: (database, table, columns) => cdcTableDdl(database, table, columns),
  async write(run, target, { table, columnNames, rows, text }) {
    if (text) {
      const statement = loadDataStatement(target.database, table, columnNames, text.format);
      return void await target.load(qualifiedName(target.database, table), statement, text);
    }
    // A row already present is the same record: left as it is. An INSERT updates nothing
    // (not IGNORE, which would also hide data errors).
    const head = `INSERT INTO ${qualifiedName(target.database, table)} (${
      columnNames.map(quoteIdent).join(", ")
    }) VALUES `;
    const tail = " ON DUPLICATE KEY UPDATE `__offset` = `__offset`";
    await runAll(run, multiRowStatements(head, rows, tail, target.maxStatementLength));
  },
};
