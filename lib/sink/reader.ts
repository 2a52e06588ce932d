/**
 * Read-only look at a sink, for `cdc status`: the positions stored for a
 * group, and the newest row of each partition in a `_cdc` table. Creates
 * nothing: a missing database or table reads as empty.
 *
 * @module
 */
import mysql from "mysql2/promise";
import { qualifiedName } from "../mysql/dialect.ts";
import type { MysqlEndpoint } from "../mysql/endpoint.ts";
import type { Positions } from "../kafka/mod.ts";
import { positionsFromRows, selectPositions } from "./bookkeeping.ts";

/** The newest row of one partition in a `_cdc` table. */
export interface NewestRow {
  partition: number;
  offset: number;
  /** `__source_ts`: when the change was committed in the source; null if unknown. */
  sourceTs: Date | null;
}

// ER_BAD_DB_ERROR, ER_NO_SUCH_TABLE: nothing written yet (or the sink was emptied)
const MISSING = new Set([1049, 1146]);

/** One connection to the sink server, reading only. */
export class SinkReader {
  readonly #connection: mysql.Connection;

  private constructor(connection: mysql.Connection) {
    this.#connection = connection;
  }

  /** Connects once (no retrying: `status` reports, it does not wait). */
  static async connect(endpoint: MysqlEndpoint): Promise<SinkReader> {
    const connection = await mysql.createConnection({
      ...endpoint,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      connectTimeout: 10_000,
    });
    // the sink writes DATETIMEs in UTC
    await connection.query("SET time_zone = '+00:00'");
    return new SinkReader(connection);
  }

  async #rows<T>(sql: string, values: unknown[] = []): Promise<T[]> {
    try {
      const [rows] = await this.#connection.query(sql, values);
      return rows as T[];
    } catch (error) {
      if (MISSING.has((error as { errno?: number }).errno ?? 0)) return [];
      throw error;
    }
  }

  /** Next offsets stored for `groupId` in `database`.`offsetsTable`, by topic and partition. */
  async storedPositions(
    database: string,
    offsetsTable: string,
    groupId: string,
    topics: readonly string[],
  ): Promise<Positions> {
    if (topics.length === 0) return new Map();
    const { sql, values } = selectPositions(database, offsetsTable, groupId, topics);
    return positionsFromRows(await this.#rows(sql, values));
  }

  /**
   * The row at the highest offset of each partition of `database`.`table`.
   * Found through the primary key (partition, offset), so it stays cheap on
   * large tables, unlike MAX(`__source_ts`).
   */
  async newestRows(database: string, table: string): Promise<NewestRow[]> {
    const name = qualifiedName(database, table);
    const rows = await this.#rows<{ partition: number; offset: string; ts: string | null }>(
      `SELECT t.\`__partition\` AS \`partition\`, t.\`__offset\` AS \`offset\`,
          t.\`__source_ts\` AS ts
        FROM ${name} t JOIN (SELECT \`__partition\`, MAX(\`__offset\`) AS o FROM ${name}
          GROUP BY \`__partition\`) m ON t.\`__partition\` = m.\`__partition\` AND t.\`__offset\` = m.o
        ORDER BY t.\`__partition\``,
    );
    return rows.map((r) => ({
      partition: Number(r.partition),
      offset: Number(r.offset),
      sourceTs: r.ts === null ? null : new Date(`${r.ts.replace(" ", "T")}Z`),
    }));
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#connection.end().catch(() => this.#connection.destroy());
  }
}
