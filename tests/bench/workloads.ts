/**
 * The benchmark's other shapes of the same events (issue 23): many tables of one connector
 * (`deno task bench --tables 200`: N events spread over 200 tables, each captured by one
 * Debezium connector, streamed by one `cdc stream --table-regex`), and one table's backlog in a
 * topic of several partitions (`--partitions 12`: the backlog copied, each record to the
 * partition of its key). Both drain in the same run as the one-table contender, so their rates
 * compare within one load.
 *
 * @module
 */
import type mysql from "mysql2/promise";
import { Buffer } from "node:buffer";
import { createTopic } from "../../lib/kafka/admin.ts";
import { kafkaClient } from "../../lib/kafka/client.ts";
import { BOOTSTRAP } from "../../tools/stack/config.ts";
import { steadyBackoff, waitFor } from "../../lib/util/retry.ts";
import {
  awaitBacklog,
  type CapturedSource,
  captureSource,
  insertRows,
  secondsSince,
  SOURCE_DDL,
  TABLE,
} from "./source.ts";
import {
  buildCeilingInput,
  type CeilingInput,
  checksum,
  ident,
  runClient,
  type RunningSink,
} from "./contenders.ts";

/** The many-table source, and the regex that names its tables. */
export interface ManyTablesSource extends CapturedSource {
  /** Matches every table of the source database (`--table-regex`). */
  regex: string;
}

/** `t000`, `t001`, ...: the many-table source's table names, `count` of them. */
export function manyTableNames(count: number): string[] {
  const width = String(count - 1).length;
  return Array.from({ length: count }, (_, i) => `t${String(i).padStart(width, "0")}`);
}

/**
 * `n` events over `tables` tables of one database (the one-table source's 10 columns, `n /
 * tables` inserts each, the remainder to the first), captured by one Debezium connector; waits
 * until every topic holds its events, then deletes the connector so that it does not compete.
 */
export async function makeManyTablesBacklog(
  db: mysql.Connection,
  database: string,
  n: number,
  tables: number,
  say: (line: string) => void,
): Promise<ManyTablesSource> {
  const names = manyTableNames(tables);
  const ddl = (name: string) =>
    SOURCE_DDL.replace(`CREATE TABLE ${TABLE}`, `CREATE TABLE ${ident(name)}`);
  const source = await captureSource(db, database, {
    tables: names.map((name) => ({ name, ddl: ddl(name) })),
  });
  const started = performance.now();
  const each = Math.floor(n / tables);
  const counts = names.map((_, i) => each + (i === 0 ? n - each * tables : 0));
  for (const [i, name] of names.entries()) {
    for (let from = 1; from <= counts[i]; from += 5000) {
      const statement = insertRows(from, Math.min(from + 5000, counts[i] + 1));
      await db.query(statement.replace(`INSERT INTO ${TABLE}`, `INSERT INTO ${ident(name)}`));
    }
  }
  say(`inserted ${n} rows into ${tables} tables of ${database} in ${secondsSince(started)} s`);
  return { ...await awaitBacklog(source, n, say, started), regex: "t[0-9]+" };
}

/**
 * The server's ceiling for the many-table shape: the rows `cdc` wrote into each table's
 * `<table>_cdc` in `sink` (round 1), as `LOAD DATA LOCAL INFILE` files of the same chunks cdc's
 * batches hold (a table's rows, 5000 rows per transaction), with the tables' DDL.
 */
export interface ManyCeilingInput {
  inputs: CeilingInput[];
  /** Transactions of `LOAD DATA` statements, `batch` rows each, tables in order. */
  loadFile: string;
  rows: number;
}

/** Builds {@linkcode ManyCeilingInput} from `sink`'s tables in `dir`. */
export async function buildManyCeilingInput(
  db: mysql.Connection,
  sink: string,
  tables: readonly string[],
  dir: string,
  batch: number,
): Promise<ManyCeilingInput> {
  const inputs: CeilingInput[] = [];
  const statements: { sql: string; rows: number }[] = [];
  for (const table of tables) {
    const tableDir = `${dir}/${table}`;
    await Deno.mkdir(tableDir);
    const input = await buildCeilingInput(db, sink, `${table}_cdc`, tableDir, batch);
    inputs.push(input);
    const lines = (await Deno.readTextFile(input.loadFile)).split("\n").filter((l) => l);
    // every chunk but the last holds `batch` rows
    lines.forEach((sql, i) =>
      statements.push({ sql, rows: i < lines.length - 1 ? batch : input.rows - batch * i })
    );
  }
  const out: string[] = [];
  let inTransaction = 0;
  for (const { sql, rows } of statements) {
    if (inTransaction === 0) out.push("START TRANSACTION;");
    out.push(sql);
    inTransaction += rows;
    if (inTransaction >= batch) {
      out.push("COMMIT;");
      inTransaction = 0;
    }
  }
  if (inTransaction > 0) out.push("COMMIT;");
  const loadFile = `${dir}/load_many.sql`;
  await Deno.writeTextFile(loadFile, out.join("\n") + "\n");
  return { inputs, loadFile, rows: inputs.reduce((sum, i) => sum + i.rows, 0) };
}

/**
 * Creates `database` with every table's DDL, then times the `mariadb` client loading
 * `input.loadFile` (from its start to its exit, every row committed); every table must end with
 * cdc's checksum.
 */
export async function runManyCeiling(
  db: mysql.Connection,
  input: ManyCeilingInput,
  database: string,
): Promise<number> {
  await db.query(`CREATE DATABASE ${ident(database)}`);
  await db.query(`USE ${ident(database)}`);
  for (const { ddl } of input.inputs) await db.query(ddl);
  const seconds = await runClient(database, input.loadFile, true);
  for (const table of input.inputs) {
    if (await checksum(db, database, table.table) !== table.checksum) {
      throw new Error(`ceiling: ${database}.${table.table} ended with other rows than cdc's`);
    }
  }
  return seconds;
}

/** What adding a table to a running `--table-regex` stream cost, in one round. */
export interface AddedTable {
  round: number;
  load: string;
  /** cdc's own figure: leaving and joining the group again with the new topic, ms. */
  rejoinMs: number;
  /** From the new topic's creation to its first row in the sink, s. */
  firstRowSeconds: number;
  /** The longest time the other tables' stored positions did not move, before the addition, s. */
  stallBeforeSeconds: number;
  /** The same, from the addition until the new table was drained, s. */
  stallDuringSeconds: number;
}

/**
 * While `cdc` streams `many` (with `--table-refresh 1s`), once a quarter of its events are
 * written, creates the topic `added` of a table more and writes the first table's records to it
 * (`values`, read beforehand, so the topic has them all within a moment): how long the new table took
 * from the topic's creation, and how long the other tables' positions stood still around the
 * subscription change against before it.
 */
export async function addTableWhileStreaming(
  db: mysql.Connection,
  many: ManyTablesSource,
  cdc: RunningSink,
  sink: string,
  events: number,
  added: string,
  values: readonly Uint8Array[],
): Promise<Omit<AddedTable, "round" | "load">> {
  const count = values.length;
  const visible = async (topics: readonly string[]) => {
    const [rows] = await db.query(
      `SELECT COALESCE(SUM(next_offset), 0) AS n FROM ${
        ident(sink)
      }.__cdc_offsets WHERE topic IN (?)`,
      [topics],
    ).catch(() => [[{ n: 0 }]]) as unknown as [{ n: string | number }[]];
    return Number(rows[0].n);
  };
  const kafka = kafkaClient({ brokers: [BOOTSTRAP] }, "cdc-bench");
  const admin = kafka.admin();
  const producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
  // (time, the other tables' rows) at every poll
  const samples: [number, number][] = [];
  let addedAt = 0;
  let adding: Promise<unknown> | undefined;
  let firstRowAt: number | undefined;
  try {
    await waitFor(
      "the added table drained",
      async () => {
        const others = await visible(many.topics);
        samples.push([performance.now(), others]);
        if (!adding && others >= events / 4) {
          addedAt = performance.now();
          adding = createTopic(admin, { topic: added })
            .then(() =>
              producer.send({
                topic: added,
                messages: values.map((value) => ({ value: Buffer.from(value), partition: 0 })),
                acks: -1,
              })
            );
        }
        if (!adding) return false;
        const mine = await visible([added]);
        if (mine > 0) firstRowAt ??= performance.now();
        return mine >= count && others >= events;
      },
      10 * 60_000,
      { backoff: steadyBackoff(20) },
    );
    await adding;
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
  const drainedAt = performance.now();
  const stall = (from: number, to: number) => {
    let longest = 0;
    let since: number | undefined;
    let last = -1;
    for (const [at, rows] of samples) {
      if (at < from || at > to) continue;
      if (rows !== last) {
        last = rows;
        since = at;
      } else if (since !== undefined && rows < events) longest = Math.max(longest, at - since);
    }
    return longest / 1000;
  };
  const firstOther = samples.find(([, rows]) => rows > 0)?.[0] ?? addedAt;
  const rejoin = /left and joined group .* again in (\d+) ms/.exec(cdc.log?.() ?? "");
  return {
    rejoinMs: rejoin ? Number(rejoin[1]) : NaN,
    firstRowSeconds: ((firstRowAt ?? drainedAt) - addedAt) / 1000,
    stallBeforeSeconds: stall(firstOther, addedAt),
    stallDuringSeconds: stall(addedAt, drainedAt),
  };
}
