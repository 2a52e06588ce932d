/**
 * Type fidelity against real Debezium: every MySQL/MariaDB type of tests/types/all_types.ts,
 * edge values, as snapshot reads, binlog inserts and binlog deletes (`before` images), under
 * every value of every connector mode that changes a type's representation. Values are
 * compared with the source on the server.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type mysql from "mysql2/promise";
import {
  CdcProcess,
  connectMysql,
  connectorStatus,
  countRows,
  databaseConnectorConfig,
  deleteConnector,
  query,
  registerConnector,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";
import { FinalError, waitFor } from "../lib/util/retry.ts";
import {
  createTableSql,
  expectedSinkType,
  insertRowsSql,
  type Modes,
  ROWS_PER_INSERT,
  TYPE_COLUMNS,
} from "./types/all_types.ts";

/**
 * The connectors, one per mode combination. Each mode changes the representation of its own
 * column family only (DECIMAL; DATE/TIME/DATETIME; BINARY/VARBINARY/BLOB; BIGINT UNSIGNED),
 * and no column belongs to two families, so a covering set, in which every value of every
 * mode appears at least once, tests every (column, mode value) pair the full product
 * (3 × 2 × 4 × 2 = 48 connectors) would: a to d instead of 48. All four propagate source
 * types (`column.propagate.source.type`); f covers the same ground with
 * `datatype.propagate.source.type`, which yields the same schema parameters; e is Debezium's
 * defaults without them, which is
 * what cdc sees unless told more (BIGINT UNSIGNED precise: under `long` without source
 * types, values above 2^63-1 arrive wrapped, with nothing in the schema to undo it).
 *
 * The full product, run once with 48 connectors side by side, took 2m13s on 2 cores (8 s
 * here) and found no value mismatch in 65142 comparisons; its registrations made Connect
 * rebalance and Debezium replay events it had sent (at least once, as it promises), so some
 * rows arrived twice and its row counts differ from this test's.
 */
// deno-fmt-ignore
const MODE_SETS: Record<string, Modes> = {
  a: { decimal: "precise", time: "adaptive_time_microseconds", binary: "bytes", bigint: "long", sourceTypes: "column" },
  b: { decimal: "double", time: "connect", binary: "base64", bigint: "precise", sourceTypes: "column" },
  c: { decimal: "string", time: "adaptive_time_microseconds", binary: "base64-url-safe", bigint: "long", sourceTypes: "column" },
  d: { decimal: "precise", time: "connect", binary: "hex", bigint: "precise", sourceTypes: "column" },
  e: { decimal: "precise", time: "adaptive_time_microseconds", binary: "bytes", bigint: "precise", sourceTypes: false },
  f: { decimal: "string", time: "connect", binary: "hex", bigint: "long", sourceTypes: "datatype" },
};

const TABLE = "all_types";
/**
 * The rows: ids 1.. are read by the snapshot (op r); ids 101.. are inserted while the
 * connectors stream (op c), then moved to 201.. by an UPDATE of the key, which Debezium
 * sends as a delete of 101.. (op d, the `before` image) and an insert of 201.. (op c). Every
 * `_cdc` row is compared with the source row it stands for: 101.. with 201...
 */
const SNAPSHOT_FIRST_ID = 1;
const STREAMED_FIRST_ID = 101;
const MOVED_BY = 100;
/** The source id a `_cdc` row's id stands for, in SQL. */
const sourceIdOf = (k: string) =>
  `${k}.id + IF(${k}.id >= ${STREAMED_FIRST_ID} AND ${k}.id < ${
    STREAMED_FIRST_ID + MOVED_BY
  }, ${MOVED_BY}, 0)`;

/**
 * The lanes: every mode set written the default way (history rows as LOAD DATA lines made in
 * one pass from the event's bytes), and two of them again as INSERTs of decoded values (the
 * path of `--write-method insert`, of servers without `local_infile`, and of the other modes),
 * so that both paths are held to the source.
 */
const LANES: { label: string; modes: Modes; writeMethod: "load" | "insert" }[] = [
  ...Object.entries(MODE_SETS).map(([label, modes]) => ({
    label,
    modes,
    writeMethod: "load" as const,
  })),
  { label: "a_insert", modes: MODE_SETS.a, writeMethod: "insert" },
  { label: "e_insert", modes: MODE_SETS.e, writeMethod: "insert" },
];

interface Lane {
  label: string;
  modes: Modes;
  writeMethod: "load" | "insert";
  connector: string;
  topicPrefix: string;
  sink: string;
  cdc?: CdcProcess;
  exited?: boolean;
}

const q = (name: string) => `\`${name.replaceAll("`", "``")}\``;

/** The source's and the sink's COLUMN_TYPE of every column. */
async function columnTypes(db: mysql.Connection, database: string, table: string) {
  const rows = await query<{ name: string; type: string }>(
    db,
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
    [database, table],
  );
  return new Map(rows.map((r) => [r.name, r.type]));
}

/** A value as a mismatch report shows it: text when printable, hex otherwise, shortened. */
function show(value: unknown): string {
  if (value === null) return "NULL";
  const text = Buffer.isBuffer(value) ? `0x${value.toString("hex")}` : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}... (${text.length} chars)` : text;
}

/**
 * Compares every row and column of the lane's `_cdc` table with the source, on the server;
 * returns the number of value comparisons made and a line per mismatch.
 */
async function compareLane(db: mysql.Connection, source: string, lane: Lane) {
  const mismatches: string[] = [];
  const sink = `${q(lane.sink)}.${q(`${TABLE}_cdc`)}`;
  const src = `${q(source)}.${q(TABLE)}`;
  const sourceTypes = await columnTypes(db, source, TABLE);
  const sinkTypes = await columnTypes(db, lane.sink, `${TABLE}_cdc`);
  for (const column of TYPE_COLUMNS) {
    const sourceType = sourceTypes.get(column.name)!;
    const expected = expectedSinkType(column, sourceType, lane.modes);
    if (sinkTypes.get(column.name) !== expected) {
      mismatches.push(
        `${lane.label}: column ${column.name} (${sourceType}) is ${
          sinkTypes.get(column.name)
        } in _cdc, expected ${expected}`,
      );
    }
  }
  // Every source row: a snapshot read, or an insert, the delete of its old key and an insert.
  const ops = await query<{ id: number; ops: string | null }>(
    db,
    `SELECT s.id, GROUP_CONCAT(k.__op ORDER BY k.__offset) AS ops
       FROM ${src} s LEFT JOIN ${sink} k ON s.id = ${sourceIdOf("k")} GROUP BY s.id ORDER BY s.id`,
  );
  for (const { id, ops: seen } of ops) {
    const want = id >= STREAMED_FIRST_ID ? "c,d,c" : "r";
    if (seen !== want) {
      mismatches.push(`${lane.label}: row ${id} is [${seen}] in _cdc, expected [${want}]`); // deno-fmt-ignore
    }
  }
  const checks = TYPE_COLUMNS.map((column, i) => {
    const s = `s.${q(column.name)}`, k = `k.${q(column.name)}`;
    return `(${column.equal?.(s, k, lane.modes) ?? `${s} <=> ${k}`}) AS c${i}`;
  });
  const rows = await query<Record<string, number | string>>(
    db,
    `SELECT k.id, k.__op AS op, k.__offset AS off, ${checks.join(", ")}
       FROM ${sink} k JOIN ${src} s ON s.id = ${sourceIdOf("k")} ORDER BY k.__offset`,
  );
  for (const row of rows) {
    for (const [i, column] of TYPE_COLUMNS.entries()) {
      if (Number(row[`c${i}`]) === 1) continue;
      const [values] = await query<{ s: unknown; k: unknown }>(
        db,
        `SELECT s.${q(column.name)} AS s, k.${q(column.name)} AS k
           FROM ${sink} k JOIN ${src} s ON s.id = ${sourceIdOf("k")} WHERE k.__offset = ?`,
        [row.off],
      );
      mismatches.push(
        `${lane.label}: row ${row.id} (${row.op}), column ${column.name}: source ${
          show(values.s)
        }, _cdc ${show(values.k)}`,
      );
    }
  }
  return { comparisons: rows.length * TYPE_COLUMNS.length, mismatches };
}

Deno.test({
  name: "types: every type and edge value lands in _cdc equal to the source, under every mode",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const started = Date.now();
    const suffix = uniqueSuffix();
    const source = `types_${suffix}`;
    const db = await connectMysql();
    // TIMESTAMP values are written in a non-UTC session; _cdc must hold them in UTC.
    await db.query("SET time_zone = '+05:30'");
    const lanes: Lane[] = LANES.map(({ label, modes, writeMethod }) => ({
      label,
      modes,
      writeMethod,
      connector: `types-${suffix}-${label}`,
      topicPrefix: `types_${suffix}_${label}`,
      sink: `types_${suffix}_${label}_sink`,
    }));
    try {
      await db.query(`CREATE DATABASE ${q(source)} CHARACTER SET utf8mb4`);
      await db.query(createTableSql(source, TABLE));
      await db.query(insertRowsSql(source, TABLE, SNAPSHOT_FIRST_ID));
      await Promise.all(lanes.map(async (lane) => {
        await registerConnector(
          lane.connector,
          databaseConnectorConfig(source, lane.topicPrefix, {
            "decimal.handling.mode": lane.modes.decimal,
            "time.precision.mode": lane.modes.time,
            "binary.handling.mode": lane.modes.binary,
            "bigint.unsigned.handling.mode": lane.modes.bigint,
            // `cdc connector register` propagates column types by default: lanes e and f
            // turn that off to cover connectors registered otherwise
            "column.propagate.source.type": lane.modes.sourceTypes === "column" ? ".*" : "",
            ...(lane.modes.sourceTypes === "datatype"
              ? { "datatype.propagate.source.type": ".*" }
              : {}),
          }),
        );
        lane.cdc = new CdcProcess(
          streamArgs(
            TABLE,
            lane.sink,
            "--topic-prefix",
            lane.topicPrefix,
            "--database",
            source,
            "--binary-handling-mode",
            lane.modes.binary,
            "--write-method",
            lane.writeMethod,
            "--flush-ms",
            "200",
          ),
        );
        lane.cdc.done.then(() => lane.exited = true);
      }));
      const rowsIn = (lane: Lane, n: number) =>
        waitFor(`${n} rows in ${lane.sink}.${TABLE}_cdc`, async () => {
          if (lane.exited) {
            throw new FinalError(
              `cdc ${lane.label} exited before writing ${n} rows:\n${lane.cdc!.stderr}`,
            );
          }
          await connectorStatus(lane.connector);
          return (await countRows(db, lane.sink, `${TABLE}_cdc`)) >= n;
        }, 180_000);
      await Promise.all(lanes.map((lane) => rowsIn(lane, ROWS_PER_INSERT)));
      const snapshotted = Date.now();
      await db.query(insertRowsSql(source, TABLE, STREAMED_FIRST_ID));
      await Promise.all(lanes.map((lane) => rowsIn(lane, 2 * ROWS_PER_INSERT)));
      const table = `${q(source)}.${q(TABLE)}`;
      await db.query(`UPDATE ${table} SET id = id + ${MOVED_BY} WHERE id >= ${STREAMED_FIRST_ID}`);
      await Promise.all(lanes.map((lane) => rowsIn(lane, 4 * ROWS_PER_INSERT)));
      const streamed = Date.now();

      await db.query("SET time_zone = '+00:00'");
      let comparisons = 0;
      const mismatches: string[] = [];
      for (const lane of lanes) {
        const result = await compareLane(db, source, lane);
        comparisons += result.comparisons;
        mismatches.push(...result.mismatches);
      }
      const sinkRows = 4 * ROWS_PER_INSERT;
      console.log(
        `types: ${TYPE_COLUMNS.length} columns × ${sinkRows} _cdc rows × ${lanes.length} ` +
          `connectors = ${comparisons} value comparisons; snapshot after ` +
          `${snapshotted - started} ms, binlog events ${streamed - snapshotted} ms later`,
      );
      const report = `${mismatches.length} mismatches:\n${mismatches.join("\n")}`;
      assert.deepEqual(mismatches, [], report);
      assert.equal(comparisons, TYPE_COLUMNS.length * sinkRows * lanes.length);
    } finally {
      for (const lane of lanes) {
        const status = await lane.cdc?.stop("SIGTERM");
        if (status && status.code !== 0) console.error(`cdc ${lane.label}:\n${lane.cdc!.stderr}`);
        await deleteConnector(lane.connector);
        await db.query(`DROP DATABASE IF EXISTS ${q(lane.sink)}`);
      }
      await db.query(`DROP DATABASE IF EXISTS ${q(source)}`);
      await db.end();
    }
  },
});
