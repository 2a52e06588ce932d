/**
 * The sink's bookkeeping tables, each with its DDL and DML side by side:
 * `__cdc_offsets` (stored positions, written in the same transaction as the
 * rows: what makes delivery exactly once) and `__cdc_dead_letter` (records
 * that could not be decoded or mapped, kept raw with the reason).
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { createTableDdl, qualifiedName } from "../mysql/dialect.ts";
import { positionList, type Positions, setPosition } from "../kafka/mod.ts";

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

/** A statement and its placeholder values, for the driver to format. */
export interface Statement {
  sql: string;
  values: unknown[];
}

/** `YYYY-MM-DD HH:MM:SS.fff` in UTC (the sink's session zone). */
function nowDateTime(): string {
  return new Date().toISOString().slice(0, 23).replace("T", " ");
}

// ---- __cdc_offsets ----

/** The longest consumer group id, in characters: the `group_id` column of the bookkeeping tables. */
export const GROUP_ID_MAX_LENGTH = 255;

/** The table of stored positions. */
export function offsetsTableDdl(database: string, table: string): string {
  return createTableDdl(database, table, [
    { name: "group_id", type: { name: "VARCHAR", length: GROUP_ID_MAX_LENGTH }, nullable: false },
    { name: "topic", type: { name: "VARCHAR", length: 249 }, nullable: false },
    { name: "partition", type: { name: "INT" }, nullable: false },
    { name: "next_offset", type: { name: "BIGINT" }, nullable: false },
    { name: "updated_at", type: { name: "DATETIME", fsp: 3 }, nullable: false },
  ], ["group_id", "topic", "partition"]);
}

/** The stored positions of `groupId` for `topics` (rows: topic, partition, next_offset). */
export function selectPositions(
  database: string,
  table: string,
  groupId: string,
  topics: readonly string[],
): Statement {
  return {
    sql: `SELECT topic, \`partition\`, next_offset FROM ${qualifiedName(database, table)}
      WHERE group_id = ? AND topic IN (?)`,
    values: [groupId, topics],
  };
}

/** Rows of {@linkcode selectPositions} → positions. */
export function positionsFromRows(
  rows: readonly { topic: string; partition: number | string; next_offset: number | string }[],
): Positions {
  const positions: Positions = new Map();
  for (const row of rows) {
    setPosition(positions, row.topic, Number(row.partition), Number(row.next_offset));
  }
  return positions;
}

/**
 * Stores the positions reached, or undefined when there are none. They only move
 * forward: a process that lost its partitions in a rebalance and writes a late batch
 * (a no-op for its rows, thanks to the primary key) cannot move the new owner's
 * position back.
 */
export function upsertPositions(
  database: string,
  table: string,
  groupId: string,
  positions: Positions,
): Statement | undefined {
  const now = nowDateTime();
  const rows = positionList(positions).map((p) => [groupId, p.topic, p.partition, p.offset, now]);
  if (rows.length === 0) return undefined;
  return {
    sql: `INSERT INTO ${qualifiedName(database, table)}
      (group_id, topic, \`partition\`, next_offset, updated_at) VALUES ?
      ON DUPLICATE KEY UPDATE updated_at = IF(VALUES(next_offset) > next_offset,
        VALUES(updated_at), updated_at), next_offset = GREATEST(next_offset, VALUES(next_offset))`,
    values: [rows],
  };
}

// ---- __cdc_dead_letter ----

/** The dead-letter table. */
export function deadLetterTableDdl(database: string, table: string): string {
  return createTableDdl(database, table, [
    { name: "group_id", type: { name: "VARCHAR", length: GROUP_ID_MAX_LENGTH }, nullable: false },
    { name: "topic", type: { name: "VARCHAR", length: 249 }, nullable: false },
    { name: "partition", type: { name: "INT" }, nullable: false },
    { name: "offset", type: { name: "BIGINT" }, nullable: false },
    { name: "key", type: { name: "LONGBLOB" }, nullable: true },
    { name: "value", type: { name: "LONGBLOB" }, nullable: true },
    { name: "reason", type: { name: "VARCHAR", length: 64 }, nullable: false },
    { name: "error", type: { name: "TEXT" }, nullable: false },
    { name: "failed_at", type: { name: "DATETIME", fsp: 3 }, nullable: false },
  ], ["group_id", "topic", "partition", "offset"]);
}

/** Keeps dead letters of `groupId`; one already kept (a replay) stays as it was. */
export function insertDeadLetters(
  database: string,
  table: string,
  groupId: string,
  letters: readonly DeadLetter[],
): Statement {
  const now = nowDateTime();
  return {
    sql: `INSERT INTO ${qualifiedName(database, table)}
      (group_id, topic, \`partition\`, \`offset\`, \`key\`, \`value\`, reason, error, failed_at)
      VALUES ? ON DUPLICATE KEY UPDATE \`offset\` = \`offset\``,
    values: [letters.map((l) => [
      groupId,
      l.topic,
      l.partition,
      l.offset,
      l.key,
      l.value,
      l.reason,
      l.error,
      now,
    ])],
  };
}
