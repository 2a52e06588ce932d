/**
 * Sink: `_cdc` tables in MySQL/MariaDB, written exactly once.
 *
 * Each batch is one transaction holding its rows, its dead letters and the
 * stored Kafka positions (`__cdc_offsets`), so a crash at any instant leaves
 * either all of a batch or none of it. A batch's statements run one at a time on
 * one connection; table preparation (DDL, which commits implicitly) runs on others, so it never
 * lands inside a batch and never waits for a write (nor a write for it).
 *
 * @module
 */
import mysql from "mysql2/promise";
import type { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import type { SinkBatch, TableRows } from "./batch.ts";
import type { DuplicateKeys, LoadDataText } from "../mysql/load_data.ts";
import type { Fence, SinkMode, StageSpec } from "./modes/mode.ts";
import {
  deadLetterTableDdl,
  insertDeadLetters,
  offsetsTableDdl,
  positionsFromRows,
  selectPositions,
  type Statement,
  upsertPositions,
} from "./bookkeeping.ts";
import {
  type ColumnDef,
  evolveTableDdl,
  type ExistingColumn,
  qualifiedName,
  quoteIdent,
  stageTableDdl,
} from "../mysql/dialect.ts";
import { logger } from "../util/log.ts";
import { type Backoff, DEFAULT_BACKOFF, retry } from "../util/retry.ts";
import { errorMessage } from "../util/errors.ts";
import { describeMysql, type MysqlEndpoint } from "../mysql/endpoint.ts";
import { isApplied, positionList, type Positions, setPosition } from "../kafka/mod.ts";
import type { RowWriter } from "./writer.ts";

const log = logger("sink");

/** Connection and naming settings of the sink. */
export interface SinkOptions extends MysqlEndpoint {
  database: string;
  /** What the target tables hold: history, mirror or scd2. */
  mode: SinkMode;
  /** Consumer group whose positions this sink stores. */
  groupId: string;
  offsetsTable: string;
  deadLetterTable: string;
  /** How long a transient failure is retried before the stream gives up. */
  retryTimeoutMs: number;
  /**
   * Write with `LOAD DATA LOCAL INFILE` where the mode and the server allow it (default);
   * false: multi-row INSERTs only.
   */
  bulkLoad?: boolean;
  backoff?: Backoff;
  /** Told of each transient failure before it is retried (for metrics and readiness). */
  onRetry?: (error: unknown) => void;
}

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_SERVER_SHUTDOWN",
  "ER_CON_COUNT_ERROR",
  "ER_LOCK_DEADLOCK",
  "ER_LOCK_WAIT_TIMEOUT",
  "ER_CONNECTION_KILLED",
  "ER_QUERY_INTERRUPTED",
  "ER_CLIENT_INTERACTION_TIMEOUT",
]);

/** True for failures that a reconnect and a retry can cure. */
export function isTransientMysqlError(error: unknown): boolean {
  const e = error as { code?: string; fatal?: boolean; errno?: number } | null;
  if (!e || typeof e !== "object") return false;
  if (e.code && TRANSIENT_CODES.has(e.code)) return true;
  // 2002/2003/2006/2013: cannot connect, gone away, lost during query.
  if (e.errno && [1053, 1205, 1213, 1927, 2002, 2003, 2006, 2013].includes(e.errno)) return true;
  return e.fatal === true || /closed state|connection.*(lost|closed)/i.test(String(error));
}

/** Pieces of `bytes` of at most `size` bytes (views, not copies). */
function splitBytes(bytes: Buffer, size: number): Buffer[] {
  if (bytes.length <= size) return [bytes];
  return Array.from(
    { length: Math.ceil(bytes.length / size) },
    (_, i) => bytes.subarray(i * size, (i + 1) * size),
  );
}

/**
 * Statements that go before a batch's first statement, in its round trip, and what checks
 * their results (throwing rolls the batch back).
 */
interface Opening {
  statements: readonly string[];
  check(results: readonly unknown[]): void;
}

/**
 * Thrown when a batch written on the assumption that the stored positions were this sink's own
 * last ones finds them moved (another process of the group wrote since): it is rolled back and
 * written again with the stored positions read first.
 */
class FenceMoved extends Error {}

/** A statement with its values escaped into it. */
function formatted({ sql, values }: Statement): string {
  return mysql.format(sql, values as Parameters<typeof mysql.format>[1]);
}

/** Connections that prepare tables (DDL) at once, beside the one that writes batches. */
export const DDL_CONNECTIONS = 4;

/** A statement on a given connection: its result. */
type Query = (sql: string, values?: unknown[]) => Promise<unknown>;

/** Runs statements on `connection`: their results. */
const on = (connection: mysql.Connection): Query => async (sql, values) =>
  (await connection.query(sql, values))[0];

/** CREATE TABLE of a table that exists. */
const ER_TABLE_EXISTS = 1050;

/** MySQL's duplicate-key error, a warning under LOAD DATA's IGNORE. */
const ER_DUP_ENTRY = 1062;

/**
 * Refusals of LOAD DATA LOCAL INFILE: the command not allowed (1148), local infile disabled
 * (MariaDB's 4166, MySQL 8's 3948), rejected by the client (2068). Nothing was loaded.
 */
const LOCAL_INFILE_REFUSALS = new Set([1148, 2068, 3948, 4166]);

function isLocalInfileRefusal(error: unknown): boolean {
  return LOCAL_INFILE_REFUSALS.has((error as { errno?: number } | null)?.errno ?? 0);
}

/** The session every sink connection runs in: UTC, utf8mb4, strict (no silent truncation). */
const SESSION_SETUP = [
  "SET NAMES utf8mb4 COLLATE utf8mb4_bin",
  "SET time_zone = '+00:00'",
  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'",
];

/** Writes `_cdc` rows and positions to MySQL/MariaDB. */
export class MysqlSink implements RowWriter {
  readonly options: SinkOptions;
  #connection?: mysql.Connection;
  #queue: Promise<unknown> = Promise.resolve();
  #maxStatementLength = 4 * 1024 * 1024;
  /** Whether the server takes `LOAD DATA LOCAL INFILE` (`@@local_infile`, and not refused since). */
  #localInfile?: boolean;
  /** Bytes per packet of a LOAD DATA's text: well under the server's packet limit. */
  #loadChunkBytes = 256 * 1024;
  /**
   * Set while a batch's transaction waits to be started: the next statement sent begins with
   * these (`START TRANSACTION`, and in a fenced mode the read of the positions), in one round
   * trip (each round trip of a write waits for a turn of a busy event loop, BENCHMARKS.md).
   */
  #opening?: Opening;
  /**
   * Column lists of target tables as last read, by table name: the whole database's when the
   * sink opens (a table not listed then does not exist yet), a table's own after its DDL.
   */
  readonly #tables = new Map<string, ExistingColumn[]>();
  /** Set once the database's tables and columns are being read (into `#tables`). */
  #listing?: Promise<void>;
  /** Each table's preparation under way, after which the next of that table runs. */
  readonly #preparing = new Map<string, Promise<void>>();
  /** The connections of table preparation not in use, how many are open, and a free signal. */
  readonly #ddlIdle: mysql.Connection[] = [];
  #ddlOpen = 0;
  #ddlFreed = Promise.withResolvers<void>();
  /**
   * Staging tables' names by target table and staging columns: rows of two column lists of one
   * table (a schema change within a batch) each have their own.
   */
  readonly #stageNames = new Map<string, string>();
  /** The DDL of each staging table on the current connection (temporary: gone with it). */
  #stages = new Map<string, string>();
  /**
   * The positions this sink committed last, per topic and partition: where the stored ones
   * still equal them, no other process of the group wrote since, and a batch holds nothing
   * applied already (its rows come after this sink's last ones).
   */
  readonly #written: Positions = new Map();

  constructor(options: SinkOptions) {
    this.options = options;
  }

  /** Where the sink writes, for messages: never includes the password. */
  get description(): string {
    return `MySQL ${describeMysql(this.options)}/${this.options.database}`;
  }

  /**
   * Connects (waiting with backoff up to `timeoutMs`, or until `signal` aborts), creates
   * the sink database if missing, and the offsets and dead-letter tables.
   */
  async open(
    timeoutMs: number,
    onRetry?: (error: unknown, delayMs: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    await retry(() => this.#connect(), {
      what: this.description,
      timeoutMs,
      backoff: this.options.backoff,
      isTransient: isTransientMysqlError,
      onRetry: ({ error, delayMs }) => onRetry?.(error, delayMs),
      signal,
    });
    await this.#exclusive(async () => {
      const db = this.options.database;
      await this.#query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(db)} CHARACTER SET utf8mb4`);
      await this.#query(offsetsTableDdl(db, this.options.offsetsTable));
      await this.#query(deadLetterTableDdl(db, this.options.deadLetterTable));
    });
    // the first table's preparation then needs no connection and no look-up of its own
    await this.#withDdlConnection((ddl) => this.#listTables(on(ddl)));
  }

  async #connect(): Promise<void> {
    this.#connection?.destroy();
    this.#connection = undefined;
    const connection = await this.#newConnection();
    const [rows] = await connection.query(
      "SELECT @@max_allowed_packet AS max, @@local_infile AS localInfile",
    );
    const { max, localInfile } = (rows as { max: string; localInfile: string | number }[])[0];
    // a UTF-16 character is at most 3 bytes of UTF-8: statements of a third always fit
    this.#maxStatementLength = Math.max(16 * 1024, Math.floor(Number(max) / 3));
    this.#loadChunkBytes = Math.max(1024, Math.min(256 * 1024, Math.floor(Number(max) / 2)));
    const allowed = this.options.bulkLoad !== false && Number(localInfile) === 1;
    if (this.options.bulkLoad !== false && !allowed && this.#localInfile !== allowed) {
      log.warn(
        "the server has local_infile=OFF: writing with INSERTs, about half the rows per " +
          "second of LOAD DATA LOCAL INFILE (SET GLOBAL local_infile=ON for it)",
      );
    }
    this.#localInfile = allowed;
    this.#stages = new Map();
    this.#connection = connection;
  }

  /** A connection in the sink's session (UTC, utf8mb4, strict). */
  async #newConnection(): Promise<mysql.Connection> {
    const connection = await mysql.createConnection({
      host: this.options.host,
      port: this.options.port,
      user: this.options.user,
      password: this.options.password,
      ssl: this.options.ssl,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      connectTimeout: 10_000,
      // A batch's positions go with its COMMIT (every statement is built here, values escaped).
      multipleStatements: true,
      // Statements arrive formatted (values escaped value by value): without values, the
      // driver's formatter would still scan every multi-megabyte INSERT for placeholders.
      queryFormat: (sql: string, values?: unknown) =>
        values === undefined || (Array.isArray(values) && values.length === 0)
          ? sql
          : mysql.format(sql, values as Parameters<typeof mysql.format>[1]),
    });
    // A dropped connection surfaces as an error event; the next statement reconnects.
    connection.on("error", (error) => log.warn(`connection error: ${errorMessage(error)}`));
    for (const statement of SESSION_SETUP) await connection.query(statement);
    return connection;
  }

  /** Runs `work` after everything queued before it, alone on the connection. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #query(sql: string, values?: unknown[]): Promise<unknown> {
    if (!this.#connection) await this.#connect();
    const opening = this.#opening;
    if (!opening) {
      const [result] = await this.#connection!.query(sql, values);
      return result;
    }
    this.#opening = undefined;
    // formatted alone: the opening statements hold no placeholders, and no value may land in one
    const own = values?.length
      ? mysql.format(sql, values as Parameters<typeof mysql.format>[1])
      : sql;
    const [answer] = await this.#connection!.query([...opening.statements, own].join(";\n"));
    const results = answer as unknown as unknown[];
    const n = opening.statements.length;
    opening.check(results.slice(0, n));
    return results.length === n + 1 ? results[n] : results.slice(n);
  }

  #run(statement: Statement): Promise<unknown> {
    return this.#query(statement.sql, statement.values);
  }

  /**
   * Retries `work` on transient errors, reconnecting between tries (`reset` drops the
   * connection it ran on: the batches' by default).
   */
  #withReconnect<T>(
    what: string,
    work: (attempt: number) => Promise<T>,
    reset = () => {
      this.#connection?.destroy();
      this.#connection = undefined;
    },
  ): Promise<T> {
    let attempt = 0;
    return retry(() => work(++attempt), {
      what,
      timeoutMs: this.options.retryTimeoutMs,
      backoff: this.options.backoff ?? DEFAULT_BACKOFF,
      isTransient: isTransientMysqlError,
      onRetry: ({ error, delayMs }) => {
        log.warn(`${what} failed (${errorMessage(error)}); reconnecting in ${delayMs} ms`);
        this.options.onRetry?.(error);
        reset();
      },
    });
  }

  /** The stored positions of this sink's group for `topics`. */
  storedPositions(topics: readonly string[]): Promise<Positions> {
    return this.#exclusive(() =>
      this.#withReconnect("reading stored positions", () => this.#readPositions(topics))
    );
  }

  async #readPositions(topics: readonly string[]): Promise<Positions> {
    if (topics.length === 0) return new Map();
    const { database, offsetsTable, groupId } = this.options;
    const rows = await this.#run(selectPositions(database, offsetsTable, groupId, topics));
    return positionsFromRows(rows as Parameters<typeof positionsFromRows>[0]);
  }

  /**
   * Makes `table` able to hold rows with `columns`: creates it on first
   * sight, or adds and widens columns (SPEC section 3). Throws
   * `IncompatibleSchemaChangeError` for a change that would lose data. Runs on the
   * connections of table preparation, beside the writes: several tables at once (the server
   * creates 200 tables in about half the time on 4 connections as on one), each table's
   * preparations one after another. The database's columns are read once, when the sink opens.
   */
  ensureTable(table: string, columns: readonly ColumnDef[], key: readonly string[]): Promise<void> {
    const next = (this.#preparing.get(table) ?? Promise.resolve()).then(() =>
      this.#withReconnect(
        `preparing table ${table}`,
        () => this.#withDdlConnection((ddl) => this.#prepare(ddl, table, columns, key)),
        () => undefined, // a connection that failed is not reused (#withDdlConnection)
      )
    );
    const settled = next.catch(() => undefined);
    this.#preparing.set(table, settled);
    settled.then(() => {
      if (this.#preparing.get(table) === settled) this.#preparing.delete(table);
    });
    return next;
  }

  async #prepare(
    ddl: mysql.Connection,
    table: string,
    columns: readonly ColumnDef[],
    key: readonly string[],
  ): Promise<void> {
    const { database: db, mode } = this.options;
    const query = on(ddl);
    const wanted = mode.sourceColumns(columns, key);
    await this.#listTables(query);
    let existing = this.#tables.get(table) ?? [];
    if (existing.length === 0) {
      log.info(
        `creating ${mode.name} table ${qualifiedName(db, table)} with ${columns.length} ` +
          `source columns${key.length ? ` keyed by ${key.join(", ")}` : ""}`,
      );
      try {
        await query(mode.createTableDdl(db, table, wanted, key));
        // the server's own types, which bulk loading and staging tables are made from
        this.#tables.set(table, await this.#readColumns(query, table));
        return;
      } catch (error) {
        // another process of the group created it since the database was read
        if ((error as { errno?: number }).errno !== ER_TABLE_EXISTS) throw error;
        existing = await this.#readColumns(query, table);
      }
    }
    const statements = evolveTableDdl(db, table, existing, wanted);
    for (const statement of statements) {
      log.info(`schema change: ${statement}`);
      await query(statement);
    }
    this.#tables.set(table, statements.length ? await this.#readColumns(query, table) : existing);
  }

  /** Reads the column lists of the sink database's tables into `#tables`, once. */
  #listTables(query: Query): Promise<void> {
    this.#listing ??= this.#readTables(query).catch((error) => {
      this.#listing = undefined;
      throw error;
    });
    return this.#listing;
  }

  async #readTables(query: Query): Promise<void> {
    const rows = await query(
      `SELECT TABLE_NAME AS tableName, COLUMN_NAME AS name, COLUMN_TYPE AS columnType
        FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?
        ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      [this.options.database],
    ) as (ExistingColumn & { tableName: string })[];
    for (const { tableName, name, columnType } of rows) {
      let columns = this.#tables.get(tableName);
      if (!columns) this.#tables.set(tableName, columns = []);
      columns.push({ name, columnType });
    }
  }

  async #readColumns(query: Query, table: string): Promise<ExistingColumn[]> {
    const rows = await query(
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS columnType FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [this.options.database, table],
    ) as ExistingColumn[];
    return rows.map((r) => ({ name: r.name, columnType: r.columnType }));
  }

  /**
   * Runs `work` on a connection of table preparation (opened as needed, at most
   * {@linkcode DDL_CONNECTIONS}); one that failed is closed, not reused.
   */
  async #withDdlConnection<T>(work: (connection: mysql.Connection) => Promise<T>): Promise<T> {
    const connection = await this.#ddlConnection();
    let broken = false;
    try {
      return await work(connection);
    } catch (error) {
      broken = isTransientMysqlError(error);
      throw error;
    } finally {
      if (broken) {
        connection.destroy();
        this.#ddlOpen--;
      } else this.#ddlIdle.push(connection);
      this.#ddlFreed.resolve();
      this.#ddlFreed = Promise.withResolvers<void>();
    }
  }

  async #ddlConnection(): Promise<mysql.Connection> {
    for (;;) {
      const idle = this.#ddlIdle.pop();
      if (idle) return idle;
      if (this.#ddlOpen < DDL_CONNECTIONS) {
        this.#ddlOpen++;
        try {
          return await this.#newConnection();
        } catch (error) {
          this.#ddlOpen--;
          throw error;
        }
      }
      await this.#ddlFreed.promise;
    }
  }

  /**
   * Writes a batch in one transaction: rows, dead letters, positions.
   * Transient failures are retried; a retry first checks whether the previous
   * attempt's COMMIT landed after all (the connection can drop after the
   * server committed), so a batch is never written twice.
   */
  write(batch: SinkBatch): Promise<void> {
    return this.#exclusive(() =>
      this.#withReconnect("writing a batch", async (attempt) => {
        if (attempt > 1 && await this.#alreadyCommitted(batch.positions)) {
          log.info("the previous attempt of this batch had committed; not writing it again");
          this.#wrote(batch.positions);
          return;
        }
        const { mode } = this.options;
        // temporary tables: made outside the transaction, like all DDL here
        for (const t of batch.tables) {
          const spec = mode.stageOf?.(t);
          if (spec) await this.#ensureStage(t.table, spec);
        }
        try {
          return await this.#writeOnce(batch, mode.fenced && this.#wroteLast(batch));
        } catch (error) {
          if (!(error instanceof FenceMoved)) throw error;
          log.info("another process of the group wrote since this one's last batch: fencing");
          return await this.#writeOnce(batch, false);
        }
      })
    );
  }

  /**
   * One attempt at a batch's transaction. `assumeOwn`: the stored positions are taken to be this
   * sink's own last ones (nothing to fence) and are read, locked, in the round trip of the
   * batch's first statement, which throws {@linkcode FenceMoved} if they are not. Otherwise a
   * fenced mode reads them first.
   */
  async #writeOnce(batch: SinkBatch, assumeOwn: boolean): Promise<void> {
    const { database, deadLetterTable, offsetsTable, groupId, mode } = this.options;
    // the transaction starts with the batch's first statement, in its round trip
    this.#opening = { statements: ["START TRANSACTION"], check: () => undefined };
    if (assumeOwn) {
      const read = selectPositions(database, offsetsTable, groupId, [...batch.positions.keys()]);
      this.#opening = {
        statements: ["START TRANSACTION", `${formatted(read)} FOR UPDATE`],
        check: (results) => {
          const stored = positionsFromRows(results[1] as Parameters<typeof positionsFromRows>[0]);
          if (!this.#isWritten(stored)) throw new FenceMoved();
        },
      };
    }
    try {
      const tables = mode.fenced && !assumeOwn
        ? await this.#unwritten(batch)
        : batch.tables.map((rows) => ({ rows, fence: undefined }));
      const target = {
        database,
        maxStatementLength: this.#maxStatementLength,
        load: (
          table: string,
          statement: string,
          text: LoadDataText,
          after?: readonly string[],
        ) => this.#load(table, statement, text, after),
        stage: (rows: TableRows) => this.#stageName(rows.table, mode.stageOf!(rows)!),
      };
      const run = (sql: string, values?: unknown[]) => this.#query(sql, values);
      for (const { rows, fence } of tables) await mode.write(run, target, rows, fence);
      if (batch.deadLetters.length) {
        await this.#run(
          insertDeadLetters(database, deadLetterTable, groupId, batch.deadLetters),
        );
      }
      // the positions and the COMMIT in one round trip
      const positions = upsertPositions(database, offsetsTable, groupId, batch.positions);
      if (positions) await this.#query(`${positions.sql};\nCOMMIT`, positions.values);
      else await this.#query("COMMIT");
    } catch (error) {
      this.#opening = undefined;
      await this.#connection?.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
    this.#wrote(batch.positions);
  }

  /** Whether this sink wrote every partition of the batch before (see {@linkcode #written}). */
  #wroteLast(batch: SinkBatch): boolean {
    for (const [topic, partitions] of batch.positions) {
      for (const partition of partitions.keys()) {
        if (this.#written.get(topic)?.get(partition) === undefined) return false;
      }
    }
    return true;
  }

  /** Whether every stored position is the one this sink wrote last. */
  #isWritten(stored: Positions): boolean {
    for (const [topic, partitions] of stored) {
      for (const [partition, offset] of partitions) {
        if (this.#written.get(topic)?.get(partition) !== offset) return false;
      }
    }
    return true;
  }

  /** Notes the positions of a committed batch (see {@linkcode #written}). */
  #wrote(positions: Positions): void {
    for (const [topic, partitions] of positions) {
      for (const [partition, offset] of partitions) {
        setPosition(this.#written, topic, partition, offset);
      }
    }
  }

  /** The staging table's name of `table` (one per table, short whatever the table's name). */
  #stageName(table: string, spec: StageSpec): string {
    const key = [table, ...spec.columns, "", ...spec.unique].join("\0");
    let name = this.#stageNames.get(key);
    if (!name) this.#stageNames.set(key, name = `__cdc_stage_${this.#stageNames.size}`);
    return name;
  }

  /**
   * Makes the staging table of `table` on this connection where it is missing or differs from
   * `spec`: its columns with the target's types, its unique key.
   */
  async #ensureStage(table: string, spec: StageSpec): Promise<void> {
    const existing = this.#tables.get(table) ?? [];
    const types = new Map(existing.map((c) => [c.name.toLowerCase(), c.columnType]));
    const columns = spec.columns.map((name) => {
      const columnType = types.get(name.toLowerCase());
      if (!columnType) throw new Error(`no column ${name} known in ${table}`);
      return { name, columnType };
    });
    const stage = this.#stageName(table, spec);
    const ddl = stageTableDdl(this.options.database, stage, columns, spec.unique);
    if (this.#stages.get(stage) === ddl) return;
    await this.#query(
      `DROP TEMPORARY TABLE IF EXISTS ${qualifiedName(this.options.database, stage)};\n${ddl}`,
    );
    this.#stages.set(stage, ddl);
  }

  /**
   * Set when new tables are bulk-loaded: the mode allows it and the server did (local_infile
   * when connecting, no refusal since).
   */
  get bulkLoad(): DuplicateKeys | undefined {
    return this.#localInfile ? this.options.mode.bulkLoad : undefined;
  }

  /**
   * Runs a LOAD DATA, streaming its text. With LOCAL the server turns what would be errors
   * into warnings (a value cut to fit, a duplicate key): beyond the duplicates that `ignore`
   * expects (a record written before), any warning fails the batch, so that a value is stored
   * exactly or not at all, as with a strict-mode INSERT. A refusal of LOCAL INFILE stops the
   * stream: its rows are buffered as text, and a restart writes INSERTs.
   */
  async #load(
    table: string,
    statement: string,
    text: LoadDataText,
    after: readonly string[] = [],
  ): Promise<unknown[]> {
    if (!this.#connection) await this.#connect();
    const packets = text.chunks().flatMap((chunk) => splitBytes(chunk, this.#loadChunkBytes));
    let result: mysql.ResultSetHeader;
    let results: unknown[];
    const opening = this.#opening;
    this.#opening = undefined;
    const statements = [...(opening?.statements ?? []), statement, ...after];
    const at = opening?.statements.length ?? 0;
    try {
      // the server asks for the file in the middle of a multi-statement as well
      const [answer] = await this.#connection!.query<mysql.ResultSetHeader>({
        sql: statements.join(";\n"),
        infileStreamFactory: () => Readable.from(packets),
      });
      results = statements.length === 1 ? [answer] : answer as unknown as unknown[];
      opening?.check(results.slice(0, at));
      result = results[at] as mysql.ResultSetHeader;
    } catch (error) {
      if (!isLocalInfileRefusal(error)) throw error;
      this.#localInfile = false;
      throw new Error(
        `the server refuses LOAD DATA LOCAL INFILE into ${table} (${errorMessage(error)}); ` +
          `the batch was rolled back. Restart the stream: it checks local_infile when it ` +
          `connects and writes INSERTs where it is OFF (or use --write-method insert)`,
      );
    }
    const rows = text.rows;
    const expected = text.format.duplicates === "ignore" ? rows - result.affectedRows : 0;
    if (result.warningStatus > expected) {
      // (the warnings shown are the last statement's: a LOAD followed by others names none)
      const warnings = await this.#query("SHOW WARNINGS") as {
        Level: string;
        Code: number;
        Message: string;
      }[];
      const shown = warnings.filter((w) => w.Code !== ER_DUP_ENTRY)
        .map((w) => `${w.Level} ${w.Code}: ${w.Message}`);
      throw new Error(
        `loading ${rows} rows into ${table}: the server would not store every value as ` +
          `sent (${shown.join("; ") || `${result.warningStatus} warnings`}); the batch was ` +
          `rolled back. Check the target column's type against the source's (cdc evolves ` +
          `columns, never narrows them)`,
      );
    }
    return results.slice(at + 1);
  }

  async #alreadyCommitted(positions: Positions): Promise<boolean> {
    const stored = await this.#readPositions([...positions.keys()]);
    const wanted = positionList(positions);
    return wanted.length > 0 &&
      wanted.every((p) => stored.get(p.topic)?.get(p.partition) === p.offset);
  }

  /**
   * The batch's rows not yet written by any process of the group: the stored positions
   * are read under a lock, so that of two processes holding one partition for a moment
   * (a rebalance), the later one drops what the earlier already applied. Rows held as values
   * are filtered here; for rows held as text, the mode gets the fence to apply on the server,
   * unless the stored positions are this sink's own last ones (nothing to drop).
   */
  async #unwritten(batch: SinkBatch): Promise<{ rows: TableRows; fence?: Fence }[]> {
    const { database, offsetsTable, groupId } = this.options;
    const read = selectPositions(database, offsetsTable, groupId, [...batch.positions.keys()]);
    const stored = positionsFromRows(
      await this.#query(`${read.sql} FOR UPDATE`, read.values) as Parameters<
        typeof positionsFromRows
      >[0],
    );
    return batch.tables.map((t) => {
      const next = stored.get(t.topic);
      if (!next) return { rows: t };
      if (t.text) {
        const mine = this.#written.get(t.topic);
        const fence = new Map([...next].filter(([p, offset]) => mine?.get(p) !== offset));
        return { rows: t, fence: fence.size ? fence : undefined };
      }
      const { partition, offset } = t.layout;
      const rows = t.rows.filter((r) =>
        !isApplied(next.get(Number(r[partition])), Number(r[offset]))
      );
      if (rows.length < t.rows.length) {
        log.info(
          `${t.rows.length - rows.length} changes of ${t.table} were applied by another ` +
            `process of group ${groupId} already; not applying them again`,
        );
      }
      return { rows: { ...t, rows } };
    });
  }

  /** Waits for queued work, then closes the connection. */
  async close(): Promise<void> {
    await this.#queue;
    await this.#connection?.end().catch(() => this.#connection?.destroy());
    this.#connection = undefined;
    await Promise.all(this.#preparing.values());
    for (const connection of this.#ddlIdle.splice(0)) {
      await connection.end().catch(() => connection.destroy());
    }
  }
}
