/**
 * `scd2` mode: every version of every source row with its validity interval
 * (a slowly changing dimension of type 2).
 *
 * Each change event is one row, keyed by its Kafka position. A create, read or
 * update opens a version valid from its source commit time (`source.ts_ms`)
 * and closes the key's previous version at that instant. A delete closes the
 * key's version and is kept as a row of its own (its before image, `__deleted`
 * = 1) whose interval is empty; a truncate closes every version and is kept
 * the same way. Intervals are half-open, `[__valid_from, __valid_to)`, and
 * never run backwards: an instant earlier than the version it replaces (a
 * snapshot read stamped after a change it already saw) is raised to it. Several
 * changes of one key within one instant (MariaDB's binlog has whole seconds)
 * leave every version but the last with an empty interval: the state as of T
 * is the state after every change up to and including T.
 *
 * Rows held as LOAD DATA text (where the server takes it) are versioned from a few fields read
 * back from their lines (key, op, instants, position), and each version is its change's line as
 * it is with the validity fields after it: nothing is decoded into values. Rows held as values
 * (`--write-method insert`, a server without `local_infile`, and `--transactions`, which gives a
 * whole transaction's rows one source time on values) look their keys up in derived tables and
 * become multi-row INSERTs.
 *
 * @module
 */
import type { TableRows } from "../batch.ts";
import { CDC_PRIMARY_KEY, METADATA_COLUMNS } from "../../debezium/cdc_row.ts";
import { type ColumnDef, createTableDdl, qualifiedName, quoteIdent } from "../../mysql/dialect.ts";
import type { SqlValue } from "../../mysql/values.ts";
import {
  allNullable,
  type Fence,
  keyText,
  multiRowStatements,
  runAll,
  segmentsAtTruncates,
  type SinkMode,
  type SqlRunner,
  type WriteTarget,
} from "./mode.ts";
import {
  type ColumnKind,
  type LoadDataFormat,
  loadDataStatement,
  LoadDataText,
} from "../../mysql/load_data.ts";
import { LoadDataLines } from "../../mysql/load_data_lines.ts";
import {
  closeAllStatement,
  closeStatements,
  openVersionsSelected,
  openVersionsStaged,
} from "./scd2_lookup.ts";
import {
  instantOf,
  KeyNumbers,
  validity,
  versionChanges,
  versionIntervals,
} from "./scd2_versions.ts";

/** The validity columns, between the source columns and the metadata. */
export const VALIDITY_COLUMNS: readonly ColumnDef[] = [
  { name: "__valid_from", type: { name: "DATETIME", fsp: 3 }, nullable: false },
  { name: "__valid_to", type: { name: "DATETIME", fsp: 3 }, nullable: true },
  { name: "__current", type: { name: "TINYINT", length: 1 }, nullable: false },
  { name: "__deleted", type: { name: "TINYINT", length: 1 }, nullable: false },
];

/** Every version of every row. */
export const SCD2: SinkMode = {
  name: "scd2",
  defaultTemplate: "{table}_scd2",
  needsKey: true,
  // rows held as LOAD DATA lines; a version already present is the same change: kept as it is
  bulkLoad: "ignore",
  fenced: true,
  // the keys whose open versions a batch looks up, loaded rather than spelled out in SQL
  stageOf: (rows) => ({ columns: rows.keyColumns, unique: [] }),
  sourceColumns: allNullable,
  createTableDdl: (database, table, columns, key) =>
    createTableDdl(
      database,
      table,
      [...columns, ...VALIDITY_COLUMNS, ...METADATA_COLUMNS],
      CDC_PRIMARY_KEY,
      // the open version of a key is looked up by key at every change
      [{ name: "__cdc_key", columns: [...key, "__current"] }],
    ),
  async write(run, target, batch, fence) {
    if (batch.text) return await writeLines(run, target, batch, batch.text, fence);
    const { table, columnNames, layout, rows } = batch;
    const name = qualifiedName(target.database, table);
    const sourceWidth = columnNames.length - METADATA_COLUMNS.length;
    const allColumns = [
      ...columnNames.slice(0, sourceWidth),
      ...VALIDITY_COLUMNS.map((c) => c.name),
      ...columnNames.slice(sourceWidth),
    ];
    const insert = `INSERT INTO ${name} (${allColumns.map(quoteIdent).join(", ")}) VALUES `;
    const max = target.maxStatementLength;
    for (const segment of segmentsAtTruncates(rows, layout)) {
      const numbers = new KeyNumbers();
      const keyValues: SqlValue[][] = [];
      const keys = segment.rows.map((row) => {
        const n = numbers.numberOf(keyText(row, layout));
        if (n === keyValues.length) keyValues.push(layout.key.map((i) => row[i]));
        return n;
      });
      const open = await openVersionsSelected(run, name, batch.keyColumns, keyValues, max);
      const { inserts, closes } = versionChanges(segment.rows, layout, sourceWidth, keys, open);
      await runAll(run, closeStatements(name, closes, max));
      // a version already present is the same change: kept as it is (an update of nothing)
      await runAll(
        run,
        multiRowStatements(
          insert,
          inserts,
          " ON DUPLICATE KEY UPDATE `__offset` = `__offset`",
          max,
        ),
      );
      if (segment.truncate) {
        const at = instantOf(segment.truncate, layout);
        await run(closeAllStatement(name), [at]);
        const row = segment.truncate;
        const version = [
          ...row.slice(0, sourceWidth),
          ...validity(at, at, true),
          ...row.slice(sourceWidth),
        ];
        await runAll(run, multiRowStatements(insert, [version], "", max));
      }
    }
  },
};

/** How the validity columns travel in LOAD DATA text: dates and digits. */
const VALIDITY_KINDS: readonly ColumnKind[] = VALIDITY_COLUMNS.map(() => "plain");

/** Where {@linkcode writeLines} reads its fields: the chosen columns after the key's. */
const OP = 0, SOURCE_TS = 1, TS = 2, PARTITION = 3, OFFSET = 4;

/**
 * Writes rows held as LOAD DATA text: each line's key, op, instants and position are read
 * back ({@linkcode LoadDataLines}), the lines below `fence` dropped, and each segment between
 * truncates versioned and loaded as its lines with the validity fields after them (the
 * statement names the columns in that order).
 */
async function writeLines(
  run: SqlRunner,
  target: WriteTarget,
  batch: TableRows,
  text: LoadDataText,
  fence: Fence | undefined,
): Promise<void> {
  const { table, columnNames, layout } = batch;
  const width = layout.key.length;
  const lines = new LoadDataLines(text, [
    ...layout.key,
    layout.op,
    layout.sourceTs,
    layout.ts,
    layout.partition,
    layout.offset,
  ]);
  const name = qualifiedName(target.database, table);
  const format: LoadDataFormat = {
    kinds: [...text.format.kinds, ...VALIDITY_KINDS],
    duplicates: "ignore",
  };
  const statement = loadDataStatement(
    target.database,
    table,
    [...columnNames, ...VALIDITY_COLUMNS.map((c) => c.name)],
    format,
  );
  const keyFormat: LoadDataFormat = {
    kinds: layout.key.map((c) => text.format.kinds[c]),
    duplicates: "ignore",
  };
  const field = (line: number, j: number) => lines.fieldText(line, width + j);
  // a key of one whole number as that number: a map finds numbers faster than strings
  const numeric = width === 1 && text.format.kinds[layout.key[0]] === "plain";
  /** A line's key, equal for equal keys: its fields' bytes as text, or its whole number. */
  const keyOf = (line: number): string | number => {
    if (numeric) {
      const n = lines.fieldNumber(line, 0);
      return Number.isNaN(n) ? lines.fieldText(line, 0) : n;
    }
    let key = lines.fieldText(line, 0);
    for (let j = 1; j < width; j++) key += "\t" + lines.fieldText(line, j);
    return key;
  };
  const instant = (line: number) =>
    lines.isNull(line, width + SOURCE_TS) ? field(line, TS) : field(line, SOURCE_TS);

  /** Versions the changes of `segment` (line numbers), then the truncate on line `truncate`. */
  const writeSegment = async (segment: readonly number[], truncate?: number) => {
    // each key numbered, and staged for the look-up of its open version, at its first change
    const numbers = new KeyNumbers();
    const staged = new LoadDataText(keyFormat);
    const keys = new Int32Array(segment.length);
    const instants: string[] = [];
    segment.forEach((line, i) => {
      const n = keys[i] = numbers.numberOf(keyOf(line));
      instants.push(instant(line));
      if (n < staged.rows) return;
      for (let j = 0; j < width; j++) {
        staged.encoded(lines.bytes(line), lines.fieldStart(line, j), lines.fieldEnd(line, j));
      }
      staged.endLine();
    });
    const open = await openVersionsStaged(target, batch, staged);
    const deleted = (i: number) => field(segment[i], OP) === "d";
    const { from, to, closes } = versionIntervals({ keys, instants, deleted }, open);
    await runAll(run, closeStatements(name, closes, target.maxStatementLength));
    const versions = new LoadDataText(format);
    /** The change's line as it is, then its version's validity fields. */
    const add = (line: number, from: string, to: string | null, deleted: boolean) => {
      versions.encoded(lines.bytes(line), lines.start(line), lines.end(line));
      versions.ascii(from);
      if (to === null) versions.null("plain");
      else versions.ascii(to);
      versions.integer(to === null ? 1 : 0);
      versions.integer(deleted ? 1 : 0);
      versions.endLine();
    };
    segment.forEach((line, i) => add(line, from[i], to[i], deleted(i)));
    // the truncate's own row has no open interval: the UPDATE after the load does not touch it
    if (truncate !== undefined) add(truncate, instant(truncate), instant(truncate), true);
    if (versions.rows > 0) await target.load(name, statement, versions);
    if (truncate !== undefined) await run(closeAllStatement(name), [instant(truncate)]);
  };

  let segment: number[] = [];
  for (let line = 0; line < lines.count; line++) {
    const applied = fence?.get(lines.fieldInteger(line, width + PARTITION));
    if (applied !== undefined && lines.fieldInteger(line, width + OFFSET) < applied) continue;
    if (field(line, OP) !== "t") segment.push(line);
    else {
      await writeSegment(segment, line);
      segment = [];
    }
  }
  if (segment.length) await writeSegment(segment);
}
