/**
 * The benchmark's contenders, each reading the source topic into a fresh database: `cdc stream`
 * (a subprocess with the compiled binary's permissions), the Debezium JDBC sink connector on the
 * stack's Connect worker, and the server's ceiling (the `mariadb` client piping pre-built SQL,
 * and `LOAD DATA LOCAL INFILE`).
 *
 * @module
 */
import mysqlCore from "mysql2";
import type mysql from "mysql2/promise";
import {
  avroConverterConfig,
  type ConnectorConfig,
  converterRegistryUrl,
} from "../../lib/debezium/connector_config.ts";
import { HOST, PORTS, REGISTRY_URL, SINK_DB } from "../../tools/stack/config.ts";
import { rssBytes } from "../../tools/stack/proc.ts";
import { servicePid } from "../../tools/stack/services.ts";
import { steadyBackoff, waitFor } from "../../lib/util/retry.ts";
import { CdcProcess, deleteConnector, registerConnector, streamArgs } from "../helpers.ts";
import { type CapturedSource, SOURCE_DDL, TABLE } from "./source.ts";
import { sqlLiteral, tsvField } from "./stats.ts";

/** How often a running contender's progress is sampled (the drain time's resolution). */
const DRAIN_POLL_MS = 50;
/** How often a contender is polled until its first row is visible (its start-up's resolution). */
const FIRST_ROW_POLL_MS = 10;
/** How long one contender may take to drain the backlog. */
const DRAIN_DEADLINE_MS = 60 * 60_000;

const MiB = 1024 * 1024;

/** A sink contender while it runs: how many source rows are visible, and how to stop it. */
export interface RunningSink {
  /**
   * Source rows visible in the sink, committed, per topic it reads (in the order it was given
   * them): the first n records of a topic when its figure is n.
   */
  visibleByTopic(): Promise<number[]>;
  /** Peak RSS so far in bytes, sampled by the caller's polls; 0 when not sampled. */
  sampleRss(): number;
  stop(): Promise<void>;
  /** What the contender logged so far, where it is a process of the bench's. */
  log?(): string;
}

/** Backtick-quotes an identifier. */
export function ident(name: string): string {
  return `\`${name.replaceAll("`", "``")}\``;
}

async function scalar(db: mysql.Connection, sql: string, values: unknown[] = []): Promise<number> {
  const [rows] = await db.query({ sql, values, rowsAsArray: true }) as unknown as [unknown[][]];
  return Number(rows[0]?.[0] ?? 0);
}

/** Source rows visible in `sink`, committed: over every topic it reads. */
export async function visibleRows(sink: RunningSink): Promise<number> {
  return (await sink.visibleByTopic()).reduce((a, b) => a + b, 0);
}

/** Rows in `database`.`table`. */
export function countRows(db: mysql.Connection, database: string, table: string): Promise<number> {
  return scalar(db, `SELECT COUNT(*) FROM ${ident(database)}.${ident(table)}`);
}

/** Rows in `database` of the tables cdc wrote for `tables` (`<table>_<suffix>`), together. */
export async function countSinkRows(
  db: mysql.Connection,
  database: string,
  tables: readonly string[],
  suffix: string,
): Promise<number> {
  let rows = 0;
  for (const table of tables) rows += await countRows(db, database, `${table}_${suffix}`);
  return rows;
}

/** The `cdc stream` arguments reading `source`'s tables into `sink` (its name is the group id too). */
export function cdcArgs(source: CapturedSource, sink: string, extra: string[] = []): string[] {
  return streamArgs(
    [...source.tables],
    sink,
    "--database",
    source.database,
    "--topic-prefix",
    source.topicPrefix,
    ...extra,
  );
}

/**
 * Starts `cdc stream` on `source` into `sink`. Rows become visible in the same transaction that
 * stores their position, so the stored next offset is the count of visible rows (polled instead
 * of `COUNT(*)`, which scans the table and would load the server being measured).
 */
export function startCdc(
  db: mysql.Connection,
  source: CapturedSource,
  sink: string,
  extra: string[],
): RunningSink {
  return startCdcWith(db, cdcArgs(source, sink, extra), sink, source.topics);
}

/**
 * Starts `cdc` with `args`, writing into `sink`; its visible rows are the stored next offsets of
 * `topics`, summed over their partitions (each starting at offset 0).
 */
export function startCdcWith(
  db: mysql.Connection,
  args: string[],
  sink: string,
  topics: readonly string[],
): RunningSink {
  const cdc = new CdcProcess(args);
  let peak = 0;
  return {
    async visibleByTopic() {
      if (cdc.exited) throw new Error(`cdc stream exited before finishing:\n${cdc.stderr}`);
      const [rows] = await db.query({
        sql: `SELECT topic, SUM(next_offset) FROM ${
          ident(sink)
        }.__cdc_offsets WHERE topic IN (?) GROUP BY topic`,
        values: [topics],
        rowsAsArray: true,
      }).catch((error) => {
        if (/doesn't exist/.test(String(error))) return [[]];
        throw error;
      }) as unknown as [[string, string][]];
      const next = new Map(rows.map(([topic, offset]) => [topic, Number(offset)]));
      return topics.map((topic) => next.get(topic) ?? 0);
    },
    sampleRss() {
      const status = (() => {
        try {
          return Deno.readTextFileSync(`/proc/${cdc.child.pid}/status`);
        } catch {
          return "";
        }
      })();
      // VmHWM: the kernel's own peak, so nothing between two samples is missed
      peak = Math.max(peak, Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0) * 1024);
      return peak;
    },
    async stop() {
      const status = await cdc.stop();
      if (status.code !== 0) throw new Error(`cdc stream exited ${status.code}:\n${cdc.stderr}`);
    },
    log: () => cdc.stderr,
  };
}

/** `insert`: every event a new row (the drain contender); `mirror`: upserts and deletes by key. */
export type JdbcMode = "insert" | "mirror";

/**
 * The Debezium JDBC sink connector's configuration reading `topic` into `database`.`items`:
 * batch.size 5000 (with the consumer's max.poll.records raised to match, or batches cannot exceed
 * its default 500), the Apicurio Avro converter exactly as the source connector writes.
 */
export function jdbcSinkConfig(topic: string, database: string, mode: JdbcMode): ConnectorConfig {
  const registry = converterRegistryUrl("apicurio", REGISTRY_URL);
  return {
    "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
    "tasks.max": "1",
    "topics": topic,
    "connection.url": `jdbc:mariadb://${HOST}:${PORTS.mariadb}/${database}`,
    "connection.username": SINK_DB.user,
    "connection.password": SINK_DB.password,
    "insert.mode": mode === "insert" ? "insert" : "upsert",
    "primary.key.mode": mode === "insert" ? "none" : "record_key",
    "delete.enabled": mode === "insert" ? "false" : "true",
    "batch.size": "5000",
    "consumer.override.max.poll.records": "5000",
    // the table is created beforehand with the source's DDL (its key makes progress cheap to poll)
    "schema.evolution": "none",
    "collection.name.format": TABLE,
    "use.time.zone": "UTC",
    ...avroConverterConfig("key.converter", "apicurio", registry),
    ...avroConverterConfig("value.converter", "apicurio", registry),
  };
}

/**
 * Starts the JDBC sink connector `name` on the one-table `source`'s topic into `sink` (created
 * here with the source table's DDL). Visible rows are `MAX(id) + 1` (ids arrive in order, one
 * partition), and the RSS sampled is the whole Connect worker's.
 */
export async function startJdbc(
  db: mysql.Connection,
  source: CapturedSource,
  sink: string,
  name: string,
  mode: JdbcMode,
): Promise<RunningSink & { rssBefore: number }> {
  await db.query(`CREATE DATABASE ${ident(sink)}`);
  await db.query(`USE ${ident(sink)}`);
  await db.query(SOURCE_DDL);
  const pid = servicePid("connect");
  if (!pid) throw new Error("the stack's Connect worker is not running: deno task stack up");
  if (source.tables.length !== 1 || source.tables[0] !== TABLE) {
    throw new Error(`the JDBC sink contender reads the one-table source, not ${source.tables}`);
  }
  const rssBefore = rssBytes(pid);
  let peak = rssBefore;
  await registerConnector(name, jdbcSinkConfig(source.topics[0], sink, mode));
  return {
    rssBefore,
    async visibleByTopic() {
      return [await scalar(db, `SELECT COALESCE(MAX(id), -1) + 1 FROM ${ident(sink)}.${TABLE}`)];
    },
    sampleRss() {
      peak = Math.max(peak, rssBytes(pid));
      return peak;
    },
    async stop() {
      await deleteConnector(name);
    },
  };
}

/**
 * Polls `sink` until `n` rows are visible; returns the seconds since `started`, the seconds to
 * the first visible row (a sink's start-up: polled every 10 ms until then), the seconds since
 * that row (the drain without start-up) and the peak RSS.
 */
export async function drain(
  sink: RunningSink,
  n: number,
  started: number,
): Promise<{ seconds: number; firstRow: number; afterFirstRow: number; peakRss: number }> {
  await waitFor(
    "the first row visible",
    async () => {
      sink.sampleRss();
      return await visibleRows(sink) > 0;
    },
    DRAIN_DEADLINE_MS,
    { backoff: steadyBackoff(FIRST_ROW_POLL_MS) },
  );
  const firstRowAt = performance.now();
  await waitFor(
    `${n} rows visible`,
    async () => {
      sink.sampleRss();
      return await visibleRows(sink) >= n;
    },
    DRAIN_DEADLINE_MS,
    { backoff: steadyBackoff(DRAIN_POLL_MS) },
  );
  const now = performance.now();
  return {
    seconds: (now - started) / 1000,
    firstRow: (firstRowAt - started) / 1000,
    afterFirstRow: (now - firstRowAt) / 1000,
    peakRss: sink.sampleRss(),
  };
}

/** Peak RSS in MiB. */
export function toMiB(bytes: number): number {
  return bytes / MiB;
}

// ---------------------------------------------------------------------------
// The ceiling

/**
 * How the ceiling writes: `insert` (plain INSERTs, `LOAD DATA`: every row new) or `upsert`
 * (`INSERT ... ON DUPLICATE KEY UPDATE`, `LOAD DATA ... REPLACE`: later rows of a key win).
 */
export type CeilingWrite = "insert" | "upsert";

/** Pre-built input of the ceiling: the `_cdc` table's DDL and its rows as SQL and as TSV. */
export interface CeilingInput {
  /** `CREATE TABLE items_cdc ...` as the server shows it. */
  ddl: string;
  /** Multi-row INSERTs, `batch` rows each (one transaction each: autocommit). */
  insertFile: string;
  /** One `LOAD DATA LOCAL INFILE` per `batch` rows. */
  loadFile: string;
  rows: number;
  /** `CHECKSUM TABLE` of cdc's table: every ceiling run must end with the same rows. */
  checksum: number;
  /** The table cdc wrote (`items_cdc`, or `items_mirror` in mirror mode). */
  table: string;
}

/** `CHECKSUM TABLE` of `database`.`table`. */
export async function checksum(
  db: mysql.Connection,
  database: string,
  table: string,
): Promise<number> {
  const [rows] = await db.query(`CHECKSUM TABLE ${ident(database)}.${ident(table)}`) as unknown as [
    { Checksum: number | string }[],
  ];
  return Number(rows[0].Checksum);
}

const NUMERIC_TYPES = new Set([
  "DECIMAL",
  "NEWDECIMAL",
  "TINY",
  "SHORT",
  "LONG",
  "INT24",
  "LONGLONG",
  "FLOAT",
  "DOUBLE",
  "YEAR",
]);

/**
 * Reads `database`.`table` (as `cdc` wrote it) row by row in key order and writes the same
 * rows as the ceiling's input into `dir`, so no formatting cost falls inside the timed part.
 * With `rows`, the rows come from that table instead (a mirror's ceiling applies every change:
 * the rows of a `_cdc` table of the same events, in offset order, with `upsert`), and must end
 * as `database`.`table` holds them.
 */
export async function buildCeilingInput(
  db: mysql.Connection,
  database: string,
  table: string,
  dir: string,
  batch: number,
  write: CeilingWrite = "insert",
  rows?: { database: string; table: string },
): Promise<CeilingInput> {
  const from = rows ?? { database, table };
  const [created] = await db.query(
    `SHOW CREATE TABLE ${ident(database)}.${ident(table)}`,
  ) as unknown as [
    { "Create Table": string }[],
  ];
  const ddl = created[0]["Create Table"];
  const core = mysqlCore.createConnection({ ...SINK_DB, database: from.database });
  const encoder = new TextEncoder();
  const insertFile = `${dir}/insert.sql`;
  const loadFile = `${dir}/load.sql`;
  const sql = await Deno.open(insertFile, { write: true, create: true, truncate: true });
  const loads: string[] = [];
  let columns = "";
  let head = new Uint8Array();
  let tail = new Uint8Array();
  let count = 0;
  let chunk: number[][] = [];
  let tsv: number[][] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    const statement = [...head];
    chunk.forEach((tuple, i) => {
      if (i > 0) statement.push(0x2c);
      statement.push(...tuple);
    });
    statement.push(...tail, 0x3b, 0x0a);
    await sql.write(new Uint8Array(statement));
    const file = `${dir}/chunk-${loads.length}.tsv`;
    await Deno.writeFile(file, new Uint8Array(tsv.flat()));
    loads.push(
      `LOAD DATA LOCAL INFILE '${file}' ${write === "upsert" ? "REPLACE " : ""}INTO TABLE ${
        ident(table)
      } CHARACTER SET utf8mb4 (${columns});`,
    );
    chunk = [];
    tsv = [];
  };
  try {
    const stream = core.query({
      sql: `SELECT * FROM ${ident(from.table)} ORDER BY __partition, __offset`,
      rowsAsArray: true,
      // the text protocol's bytes as they are: what a client would send back
      typeCast: (field) => ({ bytes: field.buffer(), numeric: NUMERIC_TYPES.has(field.type) }),
    }).stream();
    stream.on("fields", (fields: { name: string }[]) => {
      columns = fields.map((f) => ident(f.name)).join(",");
      head = encoder.encode(`INSERT INTO ${ident(table)} (${columns}) VALUES `);
      if (write === "upsert") {
        const update = fields.map((f) => `${ident(f.name)} = VALUES(${ident(f.name)})`);
        tail = encoder.encode(` ON DUPLICATE KEY UPDATE ${update.join(", ")}`);
      }
    });
    for await (
      const row of stream as AsyncIterable<{ bytes: Uint8Array | null; numeric: boolean }[]>
    ) {
      const tuple = [0x28];
      const line: number[] = [];
      row.forEach((value, i) => {
        if (i > 0) {
          tuple.push(0x2c);
          line.push(0x09);
        }
        tuple.push(...sqlLiteral(value.bytes, value.numeric));
        line.push(...tsvField(value.bytes));
      });
      tuple.push(0x29);
      line.push(0x0a);
      chunk.push(tuple);
      tsv.push(line);
      count++;
      if (chunk.length === batch) await flush();
    }
    await flush();
  } finally {
    sql.close();
    core.end();
  }
  await Deno.writeTextFile(loadFile, loads.join("\n") + "\n");
  return {
    table,
    ddl,
    insertFile,
    loadFile,
    rows: count,
    checksum: await checksum(db, database, table),
  };
}

/** Whether the server accepts `LOAD DATA LOCAL INFILE` (`local_infile`). */
export async function localInfileAllowed(db: mysql.Connection): Promise<boolean> {
  return await scalar(db, "SELECT @@GLOBAL.local_infile") === 1;
}

/** The `mariadb` client command line the ceiling runs (the password goes in `MYSQL_PWD`). */
export function mariadbClientArgs(database: string, localInfile: boolean): string[] {
  // deno-fmt-ignore
  return [
    "--no-defaults", "--host", HOST, "--port", String(PORTS.mariadb), "--user", SINK_DB.user,
    "--binary-mode", "--default-character-set=utf8mb4", ...(localInfile ? ["--local-infile=1"] : []),
    database,
  ];
}

/**
 * Times the `mariadb` client running the statements in `file` (its stdin) in `database`:
 * seconds from the client's start to its exit. Throws when it fails.
 */
export async function runClient(
  database: string,
  file: string,
  localInfile: boolean,
): Promise<number> {
  const started = performance.now();
  const client = new Deno.Command("mariadb", {
    args: mariadbClientArgs(database, localInfile),
    env: { MYSQL_PWD: SINK_DB.password },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const [status, stderr] = await Promise.all([
    client.status,
    new Response(client.stderr).text(),
    Deno.open(file).then((f) => f.readable.pipeTo(client.stdin)),
  ]);
  const seconds = (performance.now() - started) / 1000;
  if (!status.success) throw new Error(`mariadb < ${file} exited ${status.code}: ${stderr}`);
  return seconds;
}

/**
 * Creates `database` with the `_cdc` DDL, then times the `mariadb` client running `file`
 * (its stdin): seconds from the client's start to its exit, every row committed.
 */
export async function runCeiling(
  db: mysql.Connection,
  input: CeilingInput,
  database: string,
  file: string,
  localInfile: boolean,
): Promise<number> {
  await db.query(`CREATE DATABASE ${ident(database)}`);
  await db.query(`USE ${ident(database)}`);
  await db.query(input.ddl);
  const seconds = await runClient(database, file, localInfile);
  const sum = await checksum(db, database, input.table);
  if (sum !== input.checksum) {
    throw new Error(
      `ceiling: ${database} ended with other rows than cdc's (checksum ${sum}, cdc's ${input.checksum})`,
    );
  }
  return seconds;
}
