/**
 * What a pipeline runs on, apart from itself: the decoder, the writer and the committer (its
 * I/O), the observer that watches it, and the options that say how it behaves. Tests give
 * their own of each; `cdc stream` gives the real ones (lib/cli/commands/stream.ts).
 *
 * @module
 */
import type { CompiledSchema, DecodedValue } from "../avro/decoder.ts";
import type { MappingOptions } from "../debezium/type_mapping.ts";
import type { Positions } from "../kafka/mod.ts";
import type { SinkBatch } from "../sink/batch.ts";
import type { BatchWriter } from "../sink/writer.ts";

/** What to do with a record that cannot be decoded or mapped. */
export type OnError = "fail" | "skip" | "dead-letter";

/** The stream's behaviour, independent of where it reads and writes. */
export interface PipelineOptions {
  /** Source topic → target table name. */
  tables: ReadonlyMap<string, string>;
  batchSize: number;
  /**
   * A partial batch is written once no write is in flight and its first item is this
   * old (0: at once, the lowest latency; while a write is in flight batches grow anyway).
   */
  flushMs: number;
  onError: OnError;
  mapping: MappingOptions;
  /** True when rows need the source's primary key (from the Kafka key): mirror, scd2. */
  keyed?: boolean;
  /** The clock, in milliseconds (a test passes its own). */
  now?: () => number;
  /** Set to apply source transactions whole (`--transactions`). */
  transactions?: TransactionOptions;
}

/** How source transactions are assembled (lib/pipeline/transactions.ts). */
export interface TransactionOptions {
  /** The connector's transaction topic (one partition). */
  topic: string;
  /** The topic of each data collection (`<database>.<table>`) streamed. */
  topicOf: ReadonlyMap<string, string>;
  /** Past this many bytes held, the oldest held transaction is applied in parts. */
  maxHeldBytes: number;
  /** How long a transaction may stay incomplete once everything there is has been read. */
  timeoutMs: number;
  /** Each whole transaction's rows get one source time (scd2: see `AssemblerOptions`). */
  oneInstant: boolean;
}

/** Decode: a record's bytes → the value and the schema that wrote it. */
export interface RecordDecoder {
  decode(bytes: Uint8Array): Promise<DecodedValue>;
  /** The schema that wrote `bytes` (a Kafka key's: its fields name the key columns). */
  schemaOf(bytes: Uint8Array): Promise<CompiledSchema>;
  /** The schema that wrote `bytes` if it is at hand already (no wait), else undefined. */
  knownSchemaOf(bytes: Uint8Array): CompiledSchema | undefined;
  /** {@linkcode decode} without a wait, when the schema is at hand already; else undefined. */
  decodeKnown(bytes: Uint8Array): DecodedValue | undefined;
  /** The newest schema of a registry subject. */
  latestSchema(subject: string): Promise<CompiledSchema>;
}

/**
 * Told of positions once they are durable in the sink (the Kafka group's commit). Never
 * rejects: the sink's positions are what count, so a failed commit is the committer's to report.
 */
export interface PositionCommitter {
  commit(positions: Positions): Promise<void>;
}

/**
 * Told what the pipeline does (for metrics). Called on the hot path: every
 * method must be cheap and must not throw.
 */
export interface PipelineObserver {
  /** A record was read: its event's op, `tombstone` for a null value, `bad` when unreadable. */
  consumed(topic: string, op: string): void;
  /** A row for `table` was buffered; `sourceTsMs` is the change's commit time in the source. */
  buffered(table: string, sourceTsMs: number | undefined): void;
  /** A bad record was passed under `--on-error skip` or `dead-letter`. */
  badRecord(topic: string, action: "skip" | "dead-letter", reason: string): void;
  /** A batch goes to the writer; the returned function hears how its write ended. */
  writing(batch: SinkBatch): (error?: unknown) => void;
  /** A source transaction joined the batch: whole, or (`forced`) incomplete or in parts. */
  transaction?(forced: boolean): void;
}

/** The I/O a pipeline runs on, and who watches it. */
export interface PipelineStages {
  decoder: RecordDecoder;
  writer: BatchWriter;
  committer: PositionCommitter;
  observer?: PipelineObserver;
}

/** Counters for the status line and the exit summary. */
export interface StreamStats {
  consumed: number;
  /** Snapshot reads (`r`) among them: the connector's initial snapshot passing through. */
  snapshotRows: number;
  rowsWritten: number;
  tombstones: number;
  skipped: number;
  deadLettered: number;
  alreadyWritten: number;
  batches: number;
  /** Source transactions applied whole, and those applied incomplete or in parts. */
  transactions: number;
  forcedTransactions: number;
}
