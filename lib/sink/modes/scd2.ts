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
 * @module
 */
import type { TableRows } from "../batch.ts";
import { CDC_PRIMARY_KEY, METADATA_COLUMNS } from "../../debezium/cdc_row.ts";
import { type ColumnDef, createTableDdl, qualifiedName, quoteIdent } from "../../mysql/dialect.ts";
import type { SqlValue } from "../../mysql/values.ts";
import {
  allNullable,
  keyText,
  multiRowStatements,
  packItems,
  runAll,
  segmentsAtTruncates,
  type SinkMode,
  type SqlRunner,
  type WriteTarget,
} from "./mode.ts";
import { opOf, type RowLayout } from "../../debezium/cdc_row.ts";
import mysql from "mysql2/promise";
import { loadDataStatement, LoadDataText } from "../../mysql/load_data.ts";

/** The validity columns, between the source columns and the metadata. */
export const VALIDITY_COLUMNS: readonly ColumnDef[] = [
  { name: "__valid_from", type: { name: "DATETIME", fsp: 3 }, nullable: false },
  { name: "__valid_to", type: { name: "DATETIME", fsp: 3 }, nullable: true },
  { name: "__current", type: { name: "TINYINT", length: 1 }, nullable: false },
  { name: "__deleted", type: { name: "TINYINT", length: 1 }, nullable: false },
];

/** A key's open version as stored: its position and when it became valid. */
export interface OpenVersion {
  partition: number;
  offset: number;
  /** `YYYY-MM-DD HH:MM:SS.fff`, as the server shows DATETIME(3). */
  validFrom: string;
}

/** What a run of changes does to the table. */
export interface VersionChanges {
  /** New rows: source columns, the validity columns, the metadata. */
  inserts: SqlValue[][];
  /** Stored versions to close: partition, offset, valid to. */
  closes: [number, number, string][];
}

const later = (a: string, b: string) => (a > b ? a : b);

/** The instant a change became true in the source: its commit time, else when Debezium saw it. */
function instantOf(row: readonly SqlValue[], layout: RowLayout): string {
  return String(row[layout.sourceTs] ?? row[layout.ts]);
}

/**
 * The versions that changes (in offset order, no truncate among them) open and
 * close, given each key's open version in the table (by {@linkcode keyText}).
 * Pure: the caller reads `open` and writes the result.
 */
export function versionChanges(
  rows: readonly SqlValue[][],
  layout: RowLayout,
  sourceWidth: number,
  open: ReadonlyMap<string, OpenVersion>,
): VersionChanges {
  const changes: VersionChanges = { inserts: [], closes: [] };
  /** Per key: the open version, stored (position) or new in this batch (its row). */
  const current = new Map<string, { stored?: OpenVersion; row?: SqlValue[]; validFrom: string }>();
  for (const [key, version] of open) {
    current.set(key, { stored: version, validFrom: version.validFrom });
  }
  const version = (row: readonly SqlValue[], validFrom: string, deleted: boolean): SqlValue[] => [
    ...row.slice(0, sourceWidth),
    validFrom,
    deleted ? validFrom : null,
    deleted ? 0 : 1,
    deleted ? 1 : 0,
    ...row.slice(sourceWidth),
  ];
  const validTo = sourceWidth + 1, isCurrent = sourceWidth + 2;
  for (const row of rows) {
    const key = keyText(row, layout);
    const open = current.get(key);
    const at = open ? later(instantOf(row, layout), open.validFrom) : instantOf(row, layout);
    if (open?.stored) {
      changes.closes.push([open.stored.partition, open.stored.offset, at]);
    } else if (open?.row) {
      open.row[validTo] = at;
      open.row[isCurrent] = 0;
    }
    const deleted = opOf(row, layout) === "d";
    const inserted = version(row, at, deleted);
    changes.inserts.push(inserted);
    if (deleted) current.delete(key);
    else current.set(key, { row: inserted, validFrom: at });
  }
  return changes;
}

/** Every version of every row. */
export const SCD2: SinkMode = {
  name: "scd2",
  defaultTemplate: "{table}_scd2",
  needsKey: true,
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
  async write(run, target, batch) {
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
      const open = await openVersions(run, target, batch, segment.rows);
      const { inserts, closes } = versionChanges(segment.rows, layout, sourceWidth, open);
      await runAll(run, closeStatements(name, closes, max));
      // a version already present is the same change: kept as it is (IGNORE, or an update of
      // nothing); LOAD DATA where the server takes it, parsed at about twice the rate
      const format = target.loadFormat(table, allColumns, "ignore");
      if (format) {
        const text = new LoadDataText(format);
        for (const version of inserts) text.add(version);
        await target.load(
          name,
          loadDataStatement(target.database, table, allColumns, format),
          text,
        );
      } else {
        await runAll(
          run,
          multiRowStatements(
            insert,
            inserts,
            " ON DUPLICATE KEY UPDATE `__offset` = `__offset`",
            max,
          ),
        );
      }
      if (segment.truncate) {
        const at = instantOf(segment.truncate, layout);
        await run(
          `UPDATE ${name} SET \`__valid_to\` = GREATEST(\`__valid_from\`, CAST(? AS DATETIME(3))),
            \`__current\` = 0 WHERE \`__current\` = 1`,
          [at],
        );
        await runAll(
          run,
          multiRowStatements(
            insert,
            [versionOfTruncate(segment.truncate, at, sourceWidth)],
            "",
            max,
          ),
        );
      }
    }
  },
};

/** The row that keeps a truncate: no image, an empty interval, `__deleted` = 1. */
function versionOfTruncate(row: readonly SqlValue[], at: string, sourceWidth: number): SqlValue[] {
  return [...row.slice(0, sourceWidth), at, at, 0, 1, ...row.slice(sourceWidth)];
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

/**
 * The stored open version of every key among `rows`. The keys go to the table's staging table
 * with LOAD DATA where the server takes it (one round trip, parsed as data), else as a derived
 * table of SELECTs (each a query block for the server to parse).
 */
async function openVersions(
  run: SqlRunner,
  target: WriteTarget,
  batch: TableRows,
  rows: readonly SqlValue[][],
): Promise<Map<string, OpenVersion>> {
  const { table, keyColumns, layout } = batch;
  const keys = new Map<string, SqlValue[]>();
  for (const row of rows) keys.set(keyText(row, layout), layout.key.map((i) => row[i]));
  if (keys.size === 0) return new Map();
  const texts = [...keys.keys()];
  const name = qualifiedName(target.database, table);
  const format = target.loadFormat(table, keyColumns, "ignore");
  if (!format) {
    return await openVersionsSelected(run, name, keyColumns, keys, target.maxStatementLength);
  }
  const stage = target.stage(batch);
  const text = new LoadDataText(format);
  for (const values of keys.values()) text.add(values);
  const staged = qualifiedName(target.database, stage);
  const join = keyColumns.map((k) => `t.${quoteIdent(k)} = c.${quoteIdent(k)}`).join(" AND ");
  const [first, found] = await target.load(
    name,
    loadDataStatement(target.database, stage, keyColumns, format),
    text,
    [
      // the keys' load order from 0: auto-increment values go on from the last batch's
      `SELECT MIN(\`__seq\`) AS m FROM ${staged}`,
      `SELECT c.\`__seq\` AS i, t.\`__partition\` AS p, t.\`__offset\` AS o,
        t.\`__valid_from\` AS vf FROM ${name} t JOIN ${staged} c ON ${join}
        WHERE t.\`__current\` = 1`,
      `DELETE FROM ${staged}`,
    ],
  ) as [{ m: number | string | null }[], OpenRow[]];
  const base = Number(first[0]?.m ?? 0);
  return openFrom(found, (i) => texts[Number(i) - base]);
}

/** A stored open version as the look-up returns it: the key's index, position, valid from. */
interface OpenRow {
  i: number | string;
  p: number | string;
  o: number | string;
  vf: string;
}

/** Open versions by key text, from look-up rows whose index `keyOf` turns into the key text. */
function openFrom(
  found: readonly OpenRow[],
  keyOf: (i: number | string) => string,
): Map<string, OpenVersion> {
  const open = new Map<string, OpenVersion>();
  for (const r of found) {
    open.set(keyOf(r.i), { partition: Number(r.p), offset: Number(r.o), validFrom: r.vf });
  }
  return open;
}

/** {@linkcode openVersions} without LOAD DATA: the keys as a derived table of SELECTs. */
async function openVersionsSelected(
  run: SqlRunner,
  name: string,
  keyColumns: readonly string[],
  keys: ReadonlyMap<string, SqlValue[]>,
  maxBytes: number,
): Promise<Map<string, OpenVersion>> {
  const texts = [...keys.keys()];
  // Keys travel as a derived table and are compared by the server, in the columns' own types.
  const aliases = ["i", ...keyColumns.map((_, n) => `k${n}`)];
  const tuples = [...keys.values()].map((values, i) => [i, ...values]);
  const join = keyColumns.map((k, n) => `t.${quoteIdent(k)} = c.k${n}`).join(" AND ");
  const open = new Map<string, OpenVersion>();
  for (const derived of derivedTables(tuples, aliases, 300 + name.length, maxBytes)) {
    const found = await run(
      `SELECT c.i AS i, t.\`__partition\` AS p, t.\`__offset\` AS o, t.\`__valid_from\` AS vf
        FROM ${name} t JOIN (${derived}) c ON ${join} WHERE t.\`__current\` = 1`,
    ) as OpenRow[];
    for (const [key, version] of openFrom(found, (i) => texts[Number(i)])) open.set(key, version);
  }
  return open;
}

/** Closes stored versions: one UPDATE joined to their positions, per chunk. */
function closeStatements(
  name: string,
  closes: readonly [number, number, string][],
  maxBytes: number,
): string[] {
  return derivedTables(closes, ["p", "o", "vt"], 300 + name.length, maxBytes).map((derived) =>
    `UPDATE ${name} t JOIN (${derived}) c ON t.\`__partition\` = c.p AND t.\`__offset\` = c.o
      SET t.\`__valid_to\` = c.vt, t.\`__current\` = 0`
  );
}
