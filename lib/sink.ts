/**
 * Sink: `_cdc` tables in MySQL/MariaDB, written exactly once.
 *
 * Each batch is one transaction holding its rows, its dead letters and the
 * stored Kafka positions (`__cdc_offsets`), so a crash at any instant leaves
 * either all of a batch or none of it. All statements run one at a time on
 * one connection: DDL (which commits implicitly) never lands inside a batch.
 *
 * @module
 */
import mysql from "mysql2/promise";
import type { Buffer } from "node:buffer";
import {
  cdcTableDdl,
  type ColumnDef,
  deadLetterTableDdl,
  evolveTableDdl,
  type ExistingColumn,
  offsetsTableDdl,
  qualifiedName,
  quoteIdent,
} from "./dialect.ts";
import { logger } from "./log.ts";
import { type Backoff, DEFAULT_BACKOFF, errorMessage, retry } from "./retry.ts";
import { describeMysql, type MysqlEndpoint } from "./mysql_endpoint.ts";
import type { SqlValue } from "./type_mapping.ts";

const log = logger("sink");

/** Connection and naming settings of the sink. */
export interface SinkOptions extends MysqlEndpoint {
  database: string;
  /** Consumer group whose positions this sink stores. */
  groupId: string;
  offsetsTable: string;
  deadLetterTable: string;
  /** How long a transient failure is retried before the stream gives up. */
  retryTimeoutMs: number;
  backoff?: Backoff;
}

/** Rows for one table, all with the same column list. */
export interface TableRows {
  table: string;
  columnNames: readonly string[];
  rows: SqlValue[][];
}

/** A record that could not be turned into a row, kept raw with the reason. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  error: string;
}

/** Next offset to read, by topic and partition. */
export type Positions = Map<string, Map<number, number>>;

/** One transaction's worth of work. */
export interface SinkBatch {
  tables: TableRows[];
  deadLetters: DeadLetter[];
  /** The positions this batch advances to (next offset per partition). */
  positions: Positions;
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
  #maxStatementBytes = 4 * 1024 * 1024;
  /** Column lists of `_cdc` tables as last read or written, by table name. */
  readonly #tables = new Map<string, ExistingColumn[]>();

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
  }

  async #connect(): Promise<void> {
    this.#connection?.destroy();
    this.#connection = undefined;
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
    });
    // A dropped connection surfaces as an error event; the next statement reconnects.
    connection.on("error", (error) => log.warn(`connection error: ${errorMessage(error)}`));
    for (const statement of SESSION_SETUP) await connection.query(statement);
    const [rows] = await connection.query("SELECT @@max_allowed_packet AS max");
    const max = Number((rows as { max: string }[])[0].max);
    this.#maxStatementBytes = Math.max(64 * 1024, Math.floor(max / 2));
    this.#connection = connection;
  }

  /** Runs `work` after everything queued before it, alone on the connection. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #query(sql: string, values?: unknown[]): Promise<unknown> {
    if (!this.#connection) await this.#connect();
    const [result] = await this.#connection!.query(sql, values);
    return result;
  }

  /** Retries `work` on transient errors, reconnecting between tries. */
  #withReconnect<T>(what: string, work: (attempt: number) => Promise<T>): Promise<T> {
    let attempt = 0;
    return retry(() => work(++attempt), {
      what,
      timeoutMs: this.options.retryTimeoutMs,
      backoff: this.options.backoff ?? DEFAULT_BACKOFF,
      isTransient: isTransientMysqlError,
      onRetry: ({ error, delayMs }) => {
        log.warn(`${what} failed (${errorMessage(error)}); reconnecting in ${delayMs} ms`);
        this.#connection?.destroy();
        this.#connection = undefined;
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
    const positions: Positions = new Map();
    if (topics.length === 0) return positions;
    const rows = await this.#query(
      `SELECT topic, \`partition\`, next_offset FROM ${
        qualifiedName(this.options.database, this.options.offsetsTable)
      } WHERE group_id = ? AND topic IN (?)`,
      [this.options.groupId, topics],
    ) as { topic: string; partition: number; next_offset: string }[];
    for (const row of rows) {
      if (!positions.has(row.topic)) positions.set(row.topic, new Map());
      positions.get(row.topic)!.set(Number(row.partition), Number(row.next_offset));
    }
    return positions;
  }

  /**
   * Makes `table` able to hold rows with `columns`: creates it on first
   * sight, or adds and widens columns (SPEC section 3). Throws
   * `IncompatibleSchemaChangeError` for a change that would lose data.
   */
  ensureTable(table: string, columns: readonly ColumnDef[]): Promise<void> {
    return this.#exclusive(() =>
      this.#withReconnect(`preparing table ${table}`, async () => {
        const db = this.options.database;
        let existing = this.#tables.get(table) ?? await this.#readColumns(table);
        if (existing.length === 0) {
          log.info(
            `creating table ${qualifiedName(db, table)} with ${columns.length} source columns`,
          );
          await this.#query(cdcTableDdl(db, table, columns));
          existing = await this.#readColumns(table);
        }
        const statements = evolveTableDdl(db, table, existing, columns);
        for (const statement of statements) {
          log.info(`schema change: ${statement}`);
          await this.#query(statement);
        }
        this.#tables.set(table, statements.length ? await this.#readColumns(table) : existing);
      })
    );
  }

  async #readColumns(table: string): Promise<ExistingColumn[]> {
    const rows = await this.#query(
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS columnType FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [this.options.database, table],
    ) as ExistingColumn[];
    return rows.map((r) => ({ name: r.name, columnType: r.columnType }));
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
          return;
        }
        await this.#query("START TRANSACTION");
        try {
          for (const rows of batch.tables) await this.#insertRows(rows);
          if (batch.deadLetters.length) await this.#insertDeadLetters(batch.deadLetters);
          await this.#upsertPositions(batch.positions);
          await this.#query("COMMIT");
        } catch (error) {
          await this.#connection?.query("ROLLBACK").catch(() => undefined);
          throw error;
        }
      })
    );
  }

  async #alreadyCommitted(positions: Positions): Promise<boolean> {
    const stored = await this.#readPositions([...positions.keys()]);
    for (const [topic, partitions] of positions) {
      for (const [partition, next] of partitions) {
        if (stored.get(topic)?.get(partition) !== next) return false;
      }
    }
    return positions.size > 0;
  }

  /**
   * Multi-row INSERTs, as few as fit under the server's packet limit. The key
   * is the Kafka position, so a row already present is the same record: it is
   * left as it is (not IGNORE, which would also hide data errors).
   */
  async #insertRows({ table, columnNames, rows }: TableRows): Promise<void> {
    const tail = " ON DUPLICATE KEY UPDATE `__offset` = `__offset`";
    const head = `INSERT INTO ${qualifiedName(this.options.database, table)} (${
      columnNames.map(quoteIdent).join(", ")
    }) VALUES `;
    let values: string[] = [];
    let size = head.length + tail.length;
    for (const row of rows) {
      const tuple = `(${mysql.format("?", [row])})`;
      if (values.length > 0 && size + tuple.length + 1 > this.#maxStatementBytes) {
        await this.#query(head + values.join(",") + tail);
        values = [];
        size = head.length + tail.length;
      }
      values.push(tuple);
      size += tuple.length + 1;
    }
    if (values.length) await this.#query(head + values.join(",") + tail);
  }

  async #insertDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    const rows = letters.map((l) => [
      this.options.groupId,
      l.topic,
      l.partition,
      l.offset,
      l.key,
      l.value,
      l.reason,
      l.error,
      new Date().toISOString().slice(0, 23).replace("T", " "),
    ]);
    await this.#query(
      `INSERT INTO ${qualifiedName(this.options.database, this.options.deadLetterTable)}
        (group_id, topic, \`partition\`, \`offset\`, \`key\`, \`value\`, reason, error, failed_at)
        VALUES ?`,
      [rows],
    );
  }

  /**
   * Stores the positions reached. They only move forward: a process that lost its
   * partitions in a rebalance and writes a late batch (a no-op for its rows, thanks to the
   * primary key) cannot move the new owner's position back.
   */
  async #upsertPositions(positions: Positions): Promise<void> {
    const now = new Date().toISOString().slice(0, 23).replace("T", " ");
    const rows: unknown[][] = [];
    for (const [topic, partitions] of positions) {
      for (const [partition, next] of partitions) {
        rows.push([this.options.groupId, topic, partition, next, now]);
      }
    }
    if (rows.length === 0) return;
    await this.#query(
      `INSERT INTO ${qualifiedName(this.options.database, this.options.offsetsTable)}
        (group_id, topic, \`partition\`, next_offset, updated_at) VALUES ?
        ON DUPLICATE KEY UPDATE updated_at = IF(VALUES(next_offset) > next_offset,
          VALUES(updated_at), updated_at), next_offset = GREATEST(next_offset, VALUES(next_offset))`,
      [rows],
    );
  }

  /** Waits for queued work, then closes the connection. */
  async close(): Promise<void> {
    await this.#queue;
    await this.#connection?.end().catch(() => this.#connection?.destroy());
    this.#connection = undefined;
  }
}

/** Where a stream's batches go: MySQL, or stdout for `--dry-run`. */
export interface RowWriter {
  /** For messages: where rows go. */
  readonly description: string;
  open(
    timeoutMs: number,
    onRetry?: (error: unknown, delayMs: number) => void,
    signal?: AbortSignal,
  ): Promise<void>;
  storedPositions(topics: readonly string[]): Promise<Positions>;
  ensureTable(table: string, columns: readonly ColumnDef[]): Promise<void>;
  write(batch: SinkBatch): Promise<void>;
  close(): Promise<void>;
}
