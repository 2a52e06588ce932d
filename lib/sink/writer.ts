/**
 * What the pipeline writes through: a sink makes tables ready and writes batches, each in
 * one transaction with its positions. `MysqlSink` writes to MySQL, `DryRunSink` prints.
 *
 * @module
 */
import type { Positions } from "../kafka/mod.ts";
import type { DuplicateKeys } from "../mysql/load_data.ts";
import type { ColumnDef } from "../mysql/dialect.ts";
import type { SinkBatch } from "./batch.ts";

/** Sink: tables made ready once per schema, batches written one transaction each. */
export interface BatchWriter {
  /** Makes `table` able to hold rows with `columns` keyed by `key` (create, or evolve). */
  ensureTable(table: string, columns: readonly ColumnDef[], key: readonly string[]): Promise<void>;
  /**
   * Set when the writer bulk-loads new tables, with what a duplicate key does: their rows
   * are then buffered as LOAD DATA text. Read after the writer is open.
   */
  readonly bulkLoad?: DuplicateKeys;
  /** Writes rows, dead letters and positions in one transaction. */
  write(batch: SinkBatch): Promise<void>;
}

/** Where a stream's batches go: MySQL, or stdout for `--dry-run`. */
export interface RowWriter extends BatchWriter {
  /** For messages: where rows go. */
  readonly description: string;
  open(
    timeoutMs: number,
    onRetry?: (error: unknown, delayMs: number) => void,
    signal?: AbortSignal,
  ): Promise<void>;
  storedPositions(topics: readonly string[]): Promise<Positions>;
  close(): Promise<void>;
}
