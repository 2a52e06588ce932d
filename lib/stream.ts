/**
 * The pipeline of `cdc stream`: source → decode → map → buffer → sink.
 *
 * Exactly once: a record is skipped when its offset is below the position
 * already stored (or already buffered) for its partition; every batch is
 * written with its positions in one transaction; Kafka offsets are committed
 * after that.
 *
 * @module
 */
import { BatchBuffer, rowCount, type RowTarget, rowTarget, type SinkBatch } from "./batch.ts";
import type { DeadLetter } from "./bookkeeping.ts";
import { type Envelope, isLastSnapshotRead, type KafkaPosition } from "./debezium.ts";
import { BadInputError, type CompiledSchema, type DecodedValue } from "./decode.ts";
import type { ColumnDef } from "./dialect.ts";
import { compileRowPlan, type RowPlan } from "./envelope.ts";
import { compileLoadLineWriter, type LoadLineWriter } from "./envelope_lines.ts";
import type { DuplicateKeys } from "./load_data.ts";
import { logger } from "./log.ts";
import { type Positions, setPosition } from "./positions.ts";
import type { SourceBatch, SourceRecord } from "./source.ts";
import type { MappingOptions } from "./type_mapping.ts";

const log = logger("stream");

/** What to do with a record that cannot be decoded or mapped. */
export type OnError = "fail" | "skip" | "dead-letter";

/** The stream's behaviour, independent of where it reads and writes. */
export interface PipelineOptions {
  /** Source topic → `_cdc` table name. */
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
}

/** The I/O a pipeline runs on, and who watches it. */
export interface PipelineStages {
  decoder: RecordDecoder;
  writer: BatchWriter;
  committer: PositionCommitter;
  observer?: PipelineObserver;
}

/** Records behind the broker's newest offset, for one partition. */
export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
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
}

/** A bad record under `--on-error fail`: where it is and why. */
export class BadRecordError extends Error {
  constructor(topic: string, partition: number, offset: number, cause: BadInputError) {
    super(
      `bad record at topic ${topic}, partition ${partition}, offset ${offset} (${cause.reason}): ${cause.message}. ` +
        `Rows before it are written; restart with --on-error skip or dead-letter to pass it.`,
    );
    this.name = "BadRecordError";
  }
}

const key = (topic: string, partition: number) => `${topic}\0${partition}`;

/** A compiled plan and where its rows go. */
interface PlannedTarget {
  plan: RowPlan;
  target: RowTarget;
  /** Set where the target is bulk-loaded and the schema is read in place. */
  loadLine?: LoadLineWriter;
}

/** A plan at hand for a table and value schema, and the key schema it was made with. */
interface ReadyPlan {
  planned: PlannedTarget;
  keySchema: CompiledSchema | undefined;
}

/**
 * The stream from topics to `_cdc` tables; I/O through its stages. Batches are
 * handed over by the source one at a time; a timer (started by `start()`) writes
 * partial batches once they are `flushMs` old.
 */
export class Pipeline {
  readonly stats: StreamStats = {
    consumed: 0,
    snapshotRows: 0,
    rowsWritten: 0,
    tombstones: 0,
    skipped: 0,
    deadLettered: 0,
    alreadyWritten: 0,
    batches: 0,
  };
  readonly #options: PipelineOptions;
  readonly #stages: PipelineStages;
  readonly #buffer: BatchBuffer;
  /** Next offset not yet in the sink or the buffer, per topic and partition. */
  readonly #next = new Map<string, number>();
  readonly #highWatermarks = new Map<string, number>();
  readonly #plans = new Map<string, Promise<PlannedTarget>>();
  /** The plans made so far by table and value schema, for records handled without a wait. */
  readonly #readyPlans = new Map<string, Map<CompiledSchema, ReadyPlan>>();
  readonly #targets = new Map<string, RowTarget>();
  /** The Kafka key schema last seen per topic, for truncates (which carry no key). */
  readonly #keySchemas = new Map<string, CompiledSchema>();
  /** Snapshot reads seen per topic, for the line that says a table's snapshot is through. */
  readonly #snapshotRows = new Map<string, number>();
  /** Written positions that wait for the commit in flight, merged (newest offset wins). */
  #uncommitted: Positions = new Map();
  /** The commit to the group in flight, if any: one at a time, never in a write's way. */
  #committing?: Promise<void>;
  #serial: Promise<unknown> = Promise.resolve();
  #inflight: Promise<void> = Promise.resolve();
  /** True from the start of a write until it settles. */
  #writing = false;
  #stopping = false;
  #timer?: ReturnType<typeof setInterval>;

  constructor(options: PipelineOptions, stages: PipelineStages) {
    this.#options = options;
    this.#stages = stages;
    this.#buffer = new BatchBuffer(options.now);
  }

  /** Starts from the positions stored in the sink. */
  seed(stored: Positions): void {
    for (const [topic, partitions] of stored) {
      for (const [partition, next] of partitions) this.#next.set(key(topic, partition), next);
    }
  }

  /** Records behind the broker's newest, summed over partitions seen. */
  get lag(): number {
    return this.partitionLag().reduce((sum, p) => sum + p.lag, 0);
  }

  /** Records behind the broker's newest offset (as of the last fetch), per partition seen. */
  partitionLag(): PartitionLag[] {
    return [...this.#highWatermarks].map(([k, high]) => {
      const [topic, partition] = k.split("\0");
      return {
        topic,
        partition: Number(partition),
        lag: Math.max(0, high - (this.#next.get(k) ?? 0)),
      };
    });
  }

  /**
   * Starts the timer that writes partial batches once they are `flushMs` old; a
   * failure (a write that gave up) goes to `onFatal`.
   */
  start(onFatal: (error: Error) => void): void {
    const tick = Math.max(50, Math.min(this.#options.flushMs, 1000));
    this.#timer = setInterval(() => this.flushIfDue().catch(onFatal), tick);
  }

  /** From now on, batches return at once; what is buffered stays for the final flush. */
  stop(): void {
    this.#stopping = true;
    clearInterval(this.#timer);
  }

  /** Handles one fetched batch (called by the source, one at a time). */
  handleBatch(batch: SourceBatch): Promise<void> {
    return this.#exclusive(async () => {
      const k = key(batch.topic, batch.partition);
      this.#highWatermarks.set(k, batch.highWatermark);
      for (const record of batch.records) {
        if (this.#stopping) return;
        const next = this.#next.get(k);
        if (next !== undefined && record.offset < next) {
          this.stats.alreadyWritten++;
          continue;
        }
        const waiting = this.#handleRecord(batch.topic, batch.partition, record);
        if (waiting) await waiting;
        this.#next.set(k, record.offset + 1);
        this.#buffer.advance(batch.topic, batch.partition, record.offset + 1);
        if (this.#buffer.size >= this.#options.batchSize) {
          await this.#flush();
        }
      }
      // past a transaction's marker (no record of its own), so the position reaches the end
      const next = this.#next.get(k);
      if (next === undefined || batch.nextOffset > next) {
        this.#next.set(k, batch.nextOffset);
        this.#buffer.advance(batch.topic, batch.partition, batch.nextOffset);
      }
      // Adaptive: with no write in flight, what arrived is written at once (or once it is
      // flushMs old); while one is, the next batch grows (up to batchSize) until it is done.
      if (!this.#writing && this.#buffer.ageMs() >= this.#options.flushMs) {
        await this.#flush();
      }
    });
  }

  /**
   * Writes the buffer when it is older than `--flush-ms` and no write is in
   * flight; otherwise surfaces the outcome of the write in flight (called by a
   * timer). Waiting for that write takes no turn of the batch handlers: the
   * next batch is decoded while it runs.
   */
  flushIfDue(): Promise<void> {
    if (this.#writing || !this.#buffer.pending) return this.#inflight;
    return this.#exclusive(() => this.#flushIfOld());
  }

  async #flushIfOld(): Promise<void> {
    if (this.#buffer.pending && this.#buffer.ageMs() >= this.#options.flushMs) {
      await this.#flush();
    }
  }

  /** Writes whatever is buffered and waits for every write and commit (on shutdown). */
  flush(): Promise<void> {
    return this.#exclusive(async () => {
      await this.#flush();
      await this.#inflight;
      await this.#committing;
    });
  }

  /**
   * Decodes, maps and buffers one record. Returns a promise only when the record has to wait
   * (its schema, key schema or table is new; a truncate in a keyed mode): the rest, nearly
   * every record, is handled without an await and the garbage each await leaves.
   */
  #handleRecord(topic: string, partition: number, record: SourceRecord): Promise<void> | undefined {
    this.stats.consumed++;
    if (record.value === null) {
      this.stats.tombstones++; // Debezium's delete tombstone: the delete event came before it
      this.#stages.observer?.consumed(topic, "tombstone");
      return;
    }
    const table = this.#options.tables.get(topic)!;
    const bytes = record.value;
    try {
      const { decoder } = this.#stages;
      const schema = decoder.knownSchemaOf(bytes);
      const ready = schema && this.#readyPlans.get(table)?.get(schema);
      let keySchema: CompiledSchema | undefined;
      if (ready && this.#options.keyed) {
        keySchema = record.key === null ? undefined : decoder.knownSchemaOf(record.key);
        if (keySchema) this.#keySchemas.set(topic, keySchema);
      }
      if (!ready || keySchema !== ready.keySchema) {
        return this.#handleRecordAfterWaits(topic, table, partition, record);
      }
      const position = { partition, offset: record.offset };
      this.#buffered(topic, table, this.#add(ready.planned, bytes, position));
    } catch (error) {
      this.#failed(topic, partition, record, error);
    }
  }

  /** {@linkcode #handleRecord} for a record that waits for its schema, plan or key schema. */
  async #handleRecordAfterWaits(
    topic: string,
    table: string,
    partition: number,
    record: SourceRecord,
  ): Promise<void> {
    const bytes = record.value!;
    try {
      const decoded = await this.#stages.decoder.decode(bytes);
      const keySchema = this.#options.keyed
        ? await this.#keySchema(table, topic, record, decoded.value as Envelope)
        : undefined;
      const planned = await this.#plan(table, topic, decoded.schema, keySchema);
      const position = { partition, offset: record.offset };
      this.#buffered(topic, table, this.#add(planned, bytes, position, decoded));
    } catch (error) {
      this.#failed(topic, partition, record, error);
    }
  }

  /**
   * Buffers a record's row by its plan: its LOAD DATA line straight from its bytes, or the row
   * of its decoded envelope (decoded here unless given). Returns the envelope.
   */
  #add(
    planned: PlannedTarget,
    bytes: Uint8Array,
    position: KafkaPosition,
    decoded?: DecodedValue,
  ): Envelope {
    const { plan, target, loadLine } = planned;
    if (loadLine) return this.#buffer.addEncoded(target, (text) => loadLine(bytes, position, text));
    const envelope = (decoded ?? this.#stages.decoder.decodeKnown(bytes)!).value as Envelope;
    this.#buffer.addRow(target, plan.toRow(envelope, position));
    return envelope;
  }

  /** Tells the observer of a buffered row, and counts snapshot reads. */
  #buffered(topic: string, table: string, envelope: Envelope): void {
    this.#stages.observer?.consumed(topic, envelope.op);
    this.#stages.observer?.buffered(table, sourceTsMs(envelope));
    if (envelope.op === "r") this.#snapshotRead(topic, envelope);
  }

  /** A record that could not be handled: bad input goes by `--on-error`, the rest is thrown. */
  #failed(topic: string, partition: number, record: SourceRecord, error: unknown): void {
    if (!(error instanceof BadInputError)) throw error;
    this.#stages.observer?.consumed(topic, "bad");
    this.#badRecord(topic, partition, record, error);
  }

  /** Counts a snapshot read; says so when it is the last of its table's snapshot. */
  #snapshotRead(topic: string, envelope: Envelope): void {
    this.stats.snapshotRows++;
    const seen = (this.#snapshotRows.get(topic) ?? 0) + 1;
    this.#snapshotRows.set(topic, seen);
    if (isLastSnapshotRead(envelope)) {
      log.info(`the connector's snapshot of ${topic} is through: ${seen} snapshot rows read`);
    }
  }

  #badRecord(topic: string, partition: number, record: SourceRecord, error: BadInputError): void {
    switch (this.#options.onError) {
      case "fail":
        throw new BadRecordError(topic, partition, record.offset, error);
      case "skip":
        this.stats.skipped++;
        this.#stages.observer?.badRecord(topic, "skip", error.reason);
        log.warn(`skipped bad record at ${topic}/${partition}@${record.offset}: ${error.message}`);
        return;
      case "dead-letter":
        this.stats.deadLettered++;
        this.#stages.observer?.badRecord(topic, "dead-letter", error.reason);
        log.warn(
          `dead-lettered record at ${topic}/${partition}@${record.offset}: ${error.message}`,
        );
        this.#buffer.addDeadLetter(deadLetter(topic, partition, record, error));
    }
  }

  /**
   * The schema of a record's Kafka key. A truncate has no key: it takes the table's
   * key as last seen, or as the registry has it. A table without a primary key has none.
   */
  async #keySchema(
    table: string,
    topic: string,
    record: SourceRecord,
    envelope: Envelope,
  ): Promise<CompiledSchema> {
    if (record.key !== null) {
      const schema = await this.#stages.decoder.schemaOf(record.key);
      this.#keySchemas.set(topic, schema);
      return schema;
    }
    if (envelope.op === "t") {
      const known = this.#keySchemas.get(topic) ??
        await this.#stages.decoder.latestSchema(`${topic}-key`).catch(() => undefined);
      if (known) return known;
    }
    throw new BadInputError(
      "missing-key",
      `the record has no Kafka key: source table of ${table} has no primary key, and this ` +
        `mode keeps one row per key. Give the connector one with message.key.columns ` +
        `("<db>.<table>:<column>[,<column>]"), or stream this table with --mode history`,
    );
  }

  /** The row plan of a schema for a table; the table is made ready on first sight. */
  #plan(
    table: string,
    topic: string,
    schema: CompiledSchema,
    keySchema: CompiledSchema | undefined,
  ): Promise<PlannedTarget> {
    const k = `${table}\0${schema.id}\0${keySchema?.id ?? ""}`;
    let planned = this.#plans.get(k);
    if (!planned) {
      planned = (async () => {
        const plan = compileRowPlan(schema.schema, this.#options.mapping, keySchema?.schema);
        await this.#stages.writer.ensureTable(table, plan.columns, plan.keyColumns);
        const target = this.#target(table, topic, plan);
        const loadLine = target.loadData && compileLoadLineWriter(schema, plan.mappings);
        return loadLine ? { plan, target, loadLine } : { plan, target };
      })();
      planned.catch(() => this.#plans.delete(k));
      this.#plans.set(k, planned);
    }
    // the plan last used for this table and schema is the one records take without a wait
    planned.then((ready) => this.#readyPlansOf(table).set(schema, { planned: ready, keySchema }))
      .catch(() => undefined); // the caller hears of the failure
    return planned;
  }

  #readyPlansOf(table: string): Map<CompiledSchema, ReadyPlan> {
    let plans = this.#readyPlans.get(table);
    if (!plans) this.#readyPlans.set(table, plans = new Map());
    return plans;
  }

  /** One target object per table and column list: rows of several schemas with the same
   * columns share their statements. */
  #target(table: string, topic: string, plan: RowPlan): RowTarget {
    const k = `${table}\0${plan.columnNames.join("\0")}\0${plan.keyColumns.join("\0")}`;
    let target = this.#targets.get(k);
    if (!target) {
      const { columns, columnNames, keyColumns } = plan;
      target = rowTarget(
        table,
        topic,
        columns,
        columnNames,
        keyColumns,
        this.#stages.writer.bulkLoad,
      );
      this.#targets.set(k, target);
    }
    return target;
  }

  /**
   * Hands the buffer to the writer. One write is in flight at a time, and it
   * runs while the next batch is decoded: waiting for it first keeps batches
   * in order and bounds memory to two batches. When it is done, whatever was
   * buffered meanwhile is written next.
   */
  async #flush(): Promise<void> {
    // a long wait (a retrying write) costs no group membership: kafkajs heartbeats on its own
    await this.#inflight;
    if (!this.#buffer.pending) return;
    const batch = this.#buffer.drain();
    this.#writing = true;
    const written = this.#stages.observer?.writing(batch);
    const write = this.#stages.writer.write(batch).then(() => {
      written?.();
      this.stats.batches++;
      for (const t of batch.tables) this.stats.rowsWritten += rowCount(t);
      this.#commit(batch.positions);
    }, (error) => {
      written?.(error);
      throw error;
    }).finally(() => {
      this.#writing = false;
      // what arrived meanwhile goes next, without waiting for another fetch or the timer
      if (this.#buffer.pending && !this.#stopping) {
        this.#exclusive(() => this.#writing ? Promise.resolve() : this.#flushIfOld())
          .catch(() => undefined); // a failed write surfaces through #inflight
      }
    });
    write.catch(() => undefined); // observed by the next flush; never unhandled meanwhile
    this.#inflight = write;
  }

  /**
   * Commits written positions to the Kafka group, off the write path: the next write need
   * not wait for Kafka's answer (a round trip that cost 6-7 ms of each 70 ms write). What is
   * written meanwhile goes with the next commit.
   */
  #commit(positions: Positions): void {
    for (const [topic, partitions] of positions) {
      for (const [partition, offset] of partitions) {
        setPosition(this.#uncommitted, topic, partition, offset);
      }
    }
    this.#committing ??= (async () => {
      try {
        while (this.#uncommitted.size > 0) {
          const next = this.#uncommitted;
          this.#uncommitted = new Map();
          await this.#stages.committer.commit(next);
        }
      } finally {
        this.#committing = undefined;
      }
    })();
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#serial.then(work, work);
    this.#serial = next.catch(() => undefined);
    return next;
  }
}

/** The change's commit time in the source (`source.ts_ms`), when the event has one. */
function sourceTsMs(envelope: Envelope): number | undefined {
  const ts = envelope.source?.ts_ms;
  return ts === null || ts === undefined ? undefined : Number(ts);
}

/** A bad record as the dead-letter table keeps it. */
function deadLetter(
  topic: string,
  partition: number,
  record: SourceRecord,
  error: BadInputError,
): DeadLetter {
  return {
    topic,
    partition,
    offset: record.offset,
    key: record.key,
    value: record.value,
    reason: error.reason,
    error: error.message,
  };
}

/**
 * A one-line summary of the counters, for the status line and the exit; with
 * a backlog and a rate, how long draining it takes at that rate.
 */
export function statusLine(stats: StreamStats, rate: number, lag: number): string {
  const drain = lag > 0 && rate > 0 ? ` (~${formatSeconds(lag / rate)} to drain at this rate)` : "";
  return `${stats.consumed} events (${rate.toFixed(1)}/s), ${stats.rowsWritten} rows written ` +
    `in ${stats.batches} batches, lag ${lag}${drain}, ${stats.snapshotRows} snapshot reads, ` +
    `${stats.tombstones} tombstones, ${stats.skipped} skipped, ` +
    `${stats.deadLettered} dead-lettered, ${stats.alreadyWritten} already written`;
}

function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 5400) return `${Math.ceil(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
