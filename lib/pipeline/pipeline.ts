/**
 * The pipeline of `cdc stream`: source → decode → map → buffer → sink.
 *
 * Each fetched batch's records are decoded and mapped by their plan (lib/pipeline/plans.ts)
 * into the batch buffer; the write scheduler (lib/pipeline/scheduler.ts) hands the buffer to
 * the sink and commits the positions to the group after. Exactly once: a record below its
 * partition's next position is applied already and skipped (lib/pipeline/progress.ts);
 * every batch is written with its positions in one transaction; Kafka offsets are committed
 * after that.
 *
 * @module
 */
import type { CompiledSchema, DecodedValue } from "../avro/decoder.ts";
import { Buffer } from "node:buffer";
import { type Envelope, isLastSnapshotRead, type KafkaPosition } from "../debezium/envelope.ts";
import type { ParkedPartition, Positions, SourceBatch, SourceRecord } from "../kafka/mod.ts";
import { BatchBuffer } from "../sink/batch.ts";
import type { DeadLetter } from "../sink/bookkeeping.ts";
import { BadInputError } from "../util/errors.ts";
import { logger } from "../util/log.ts";
import { PlanCache, type PlannedTarget } from "./plans.ts";
import { type PartitionLag, Progress } from "./progress.ts";
import { WriteScheduler } from "./scheduler.ts";
import { TransactionAssembler } from "./transactions.ts";
import {
  compileMarkerReader,
  type TransactionMarker,
  transactionMarker,
} from "../debezium/transactions.ts";
import type { PipelineOptions, PipelineStages, StreamStats } from "./stages.ts";

const log = logger("stream");

/** A record's plan, prepared while its partition was parked, or why there is none. */
type Prepared = { planned: PlannedTarget; decoded: DecodedValue } | { error: unknown };

/** A partition's records waiting, in order, for the first one's plan. */
interface Parked {
  /** The records not handled yet, the first waiting for its plan. */
  records: SourceRecord[];
  /** The partition's position once they all are. */
  nextOffset: number;
  /** Settles when the partition is handled up to `nextOffset` (or its handling failed). */
  resumed: PromiseWithResolvers<void>;
}

/**
 * How many partitions may wait for their plans at once. Each holds up to a fetch's records of
 * its partition (256 KiB), and each preparation is a registry look-up and a table's DDL: a
 * few at a time keep the sink's DDL connections busy, all of a connector's tables at once
 * would hold them all (memory) and make the first of them wait for the last (latency).
 */
export const MAX_PARKED = 16;

/** How many plans are prepared at once (registry look-ups and schema compilations, then DDL). */
export const PREPARED_AT_ONCE = 4;

const partitionKey = (topic: string, partition: number) => `${topic}\0${partition}`;

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

/**
 * The stream from topics to target tables; I/O through its stages. Batches are handed over
 * by the source one at a time; a timer (started by `start()`) writes partial batches once
 * they are `flushMs` old.
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
    transactions: 0,
    forcedTransactions: 0,
  };
  readonly #options: PipelineOptions;
  readonly #stages: PipelineStages;
  readonly #buffer: BatchBuffer;
  readonly #progress = new Progress();
  readonly #plans: PlanCache;
  readonly #writes: WriteScheduler;
  /** Set with `--transactions`: holds each source transaction until it is whole. */
  readonly #assembler?: TransactionAssembler;
  /** The transaction topic's marker readers, by the schema that wrote the markers. */
  readonly #markerReaders = new Map<
    CompiledSchema,
    ((bytes: Uint8Array) => TransactionMarker) | null
  >();
  /** Snapshot reads seen per topic, for the line that says a table's snapshot is through. */
  readonly #snapshotRows = new Map<string, number>();
  /** Partitions whose records wait for a plan, by {@linkcode partitionKey}. */
  readonly #parked = new Map<string, Parked>();
  /** Plans being prepared, and a signal when one is through. */
  #preparing = 0;
  #prepared = Promise.withResolvers<void>();
  /** Settles when a partition resumes. */
  #resumed = Promise.withResolvers<void>();
  /** Hears of a failure outside a batch's handling (a parked record's); set by `start`. */
  #onFatal?: (error: Error) => void;
  #serial: Promise<unknown> = Promise.resolve();
  #stopping = false;
  #timer?: ReturnType<typeof setInterval>;

  constructor(options: PipelineOptions, stages: PipelineStages) {
    this.#options = options;
    this.#stages = stages;
    this.#buffer = new BatchBuffer(options.now);
    this.#plans = new PlanCache({
      decoder: stages.decoder,
      writer: stages.writer,
      mapping: options.mapping,
      keyed: options.keyed ?? false,
      asValues: options.transactions?.oneInstant ?? false,
    });
    this.#writes = new WriteScheduler(
      this.#buffer,
      stages,
      this.stats,
      (work) => this.#exclusive(work),
    );
    if (options.transactions) {
      this.#assembler = new TransactionAssembler({
        main: this.#buffer,
        transactionTopic: options.transactions.topic,
        topicOf: options.transactions.topicOf,
        maxHeldBytes: options.transactions.maxHeldBytes,
        timeoutMs: options.transactions.timeoutMs,
        oneInstant: options.transactions.oneInstant,
        now: options.now ?? Date.now,
        caughtUp: (topic) => this.#progress.caughtUp(topic),
        events: {
          applied: () => {
            this.stats.transactions++;
            stages.observer?.transaction?.(false);
          },
          forced: (id, changes, reason) => {
            this.stats.forcedTransactions++;
            stages.observer?.transaction?.(true);
            log.warn(`source transaction ${id} applied as it is, ${changes} change(s): ${reason}`);
          },
        },
      });
    }
  }

  /** Starts from the positions stored in the sink. */
  seed(stored: Positions): void {
    this.#progress.seed(stored);
  }

  /** Records behind the broker's newest, summed over partitions seen. */
  get lag(): number {
    return this.partitionLag().reduce((sum, p) => sum + p.lag, 0);
  }

  /** Records behind the broker's newest offset (as of the last fetch), per partition seen. */
  partitionLag(): PartitionLag[] {
    return this.#progress.lag();
  }

  /**
   * Starts the timer that writes partial batches once they are `flushMs` old; a
   * failure (a write that gave up) goes to `onFatal`.
   */
  start(onFatal: (error: Error) => void): void {
    this.#onFatal = onFatal;
    const tick = Math.max(50, Math.min(this.#options.flushMs, 1000));
    this.#timer = setInterval(() => this.flushIfDue().catch(onFatal), tick);
  }

  /** From now on, batches return at once; what is buffered stays for the final flush. */
  stop(): void {
    this.#stopping = true;
    this.#resumed.resolve();
    this.#writes.stop();
    clearInterval(this.#timer);
  }

  /**
   * Handles one fetched batch (called by the source, one at a time). A record whose table,
   * schema or key schema is new parks its partition: it and the records after it wait, in
   * order, while their plan is prepared (registry look-ups, DDL), and the batches of every
   * other partition go on meanwhile. The partition's position stays before its first parked
   * record until that is handled; the source fetches it no further until it resumes (the
   * returned {@linkcode ParkedPartition}).
   */
  async handleBatch(batch: SourceBatch): Promise<ParkedPartition | undefined> {
    if (batch.topic === this.#options.transactions?.topic) {
      // records waiting for their table's plan (the stream's first ones, a new schema) go on
      // first: markers handled meanwhile would hold them up (a backlog's first fetches bring
      // thousands), and no transaction can be applied without them anyway
      while (this.#parked.size > 0 && !this.#stopping) await this.#resumed.promise;
    }
    const parked = await this.#exclusive(async () => {
      const { topic, partition } = batch;
      this.#progress.observed(topic, partition, batch.highWatermark);
      if (topic === this.#options.transactions?.topic) {
        await this.#handleMarkers(batch);
        return this.#readAhead(topic);
      }
      const parked = this.#parked.get(partitionKey(topic, partition));
      if (parked) {
        // fetched before it parked (a reassignment): it joins the queue, in order
        const next = parked.records.at(-1)?.offset ?? -1;
        for (const record of batch.records) {
          if (record.offset > next) parked.records.push(held(record));
        }
        parked.nextOffset = Math.max(parked.nextOffset, batch.nextOffset);
        return { resumed: parked.resumed.promise };
      }
      return await this.#handleRecords(topic, partition, batch.records, batch.nextOffset) ??
        this.#readAhead(topic);
    });
    // Enough partitions wait for plans: the source fetches nothing more until one resumes,
    // which bounds both the records held and the preparations under way at once.
    while (this.#parked.size >= MAX_PARKED && !this.#stopping) await this.#resumed.promise;
    return parked;
  }

  /**
   * With `--transactions`, a topic whose records are all handled and that is read far ahead of
   * the others waits before its next fetch (lib/pipeline/transactions.ts `readAhead`).
   */
  #readAhead(topic: string): ParkedPartition | undefined {
    const resumed = this.#assembler?.readAhead(topic);
    return resumed && { resumed };
  }

  /**
   * Handles a partition's `records` in order, up to `nextOffset`; parks the partition at the
   * first record that has to wait for its plan.
   */
  async #handleRecords(
    topic: string,
    partition: number,
    records: Iterable<SourceRecord>,
    nextOffset: number,
  ): Promise<ParkedPartition | undefined> {
    const iterator = records[Symbol.iterator]();
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      const record = next.value;
      if (this.#stopping) return undefined;
      if (this.#progress.isApplied(topic, partition, record.offset)) {
        this.stats.alreadyWritten++;
        continue;
      }
      const preparing = this.#handleRecord(topic, partition, record);
      if (preparing) {
        const waiting = [record];
        for (let r = iterator.next(); !r.done; r = iterator.next()) waiting.push(r.value);
        return this.#park(topic, partition, waiting, nextOffset, preparing);
      }
      this.#advance(topic, partition, record.offset + 1);
      if (this.#buffer.size >= this.#options.batchSize) await this.#flush();
    }
    // past a transaction's marker (no record of its own), so the position reaches the end
    this.#advance(topic, partition, nextOffset);
    this.#assembler?.release();
    await this.#flushIfOld();
    return undefined;
  }

  /**
   * Adaptive: with no write in flight, what arrived is written at once (or once it is
   * flushMs old); while one is, the next batch grows (up to batchSize) until it is done.
   */
  async #flushIfOld(): Promise<void> {
    if (!this.#writes.writing && this.#buffer.ageMs() >= this.#options.flushMs) {
      await this.#flush();
    }
  }

  /**
   * Parks a partition at `records[0]`, whose plan is `preparing`: once it is ready (in the
   * pipeline's turn) that record is buffered by it and the rest handled as usual.
   */
  #park(
    topic: string,
    partition: number,
    records: SourceRecord[],
    nextOffset: number,
    preparing: Promise<Prepared>,
  ): ParkedPartition {
    const k = partitionKey(topic, partition);
    let parked = this.#parked.get(k);
    if (!parked) {
      parked = { records: records.map(held), nextOffset, resumed: Promise.withResolvers<void>() };
      // never unhandled: the source only waits for it, the failure goes to the stream
      parked.resumed.promise.catch(() => undefined);
      this.#parked.set(k, parked);
    } else {
      parked.records = records;
      parked.nextOffset = nextOffset;
    }
    const entry = parked;
    preparing.then((prepared) => this.#exclusive(() => this.#unpark(topic, partition, prepared)))
      .catch((error) => {
        this.#unparked(k);
        entry.resumed.reject(error);
        this.#onFatal?.(error as Error);
      });
    return { resumed: parked.resumed.promise };
  }

  /** The parked partition's first record buffered by its plan, then the rest handled. */
  async #unpark(topic: string, partition: number, prepared: Prepared): Promise<void> {
    const k = partitionKey(topic, partition);
    const parked = this.#parked.get(k)!;
    if (this.#stopping) return; // unhandled: read again from the stored position after a restart
    const [record, ...rest] = parked.records;
    this.#bufferPrepared(topic, partition, record, prepared);
    this.#advance(topic, partition, record.offset + 1);
    parked.records = rest;
    if (this.#buffer.size >= this.#options.batchSize) await this.#flush();
    const again = await this.#handleRecords(topic, partition, rest, parked.nextOffset);
    if (again) return; // parked at a later record (another new schema): #park updated it
    this.#unparked(k);
    parked.resumed.resolve();
  }

  /** A partition parked no more: a batch handler waiting for room goes on. */
  #unparked(k: string): void {
    this.#parked.delete(k);
    this.#resumed.resolve();
    this.#resumed = Promise.withResolvers<void>();
  }

  /**
   * Writes the buffer when it is older than `--flush-ms` and no write is in
   * flight; otherwise surfaces the outcome of the write in flight (called by a
   * timer). Waiting for that write takes no turn of the batch handlers: the
   * next batch is decoded while it runs.
   */
  flushIfDue(): Promise<void> {
    const holding = this.#assembler?.holdsAnything;
    if (this.#writes.writing || (!this.#buffer.pending && !holding)) return this.#writes.inflight;
    return this.#exclusive(async () => {
      // a transaction that will not complete is let go by the clock, as well as by records
      this.#assembler?.release();
      await this.#writes.flushIfOld(this.#options.flushMs);
    });
  }

  /** Writes whatever is buffered and waits for every write and commit (on shutdown). */
  flush(): Promise<void> {
    return this.#exclusive(async () => {
      await this.#flush();
      await this.#writes.settled();
    });
  }

  #flush(): Promise<void> {
    return this.#writes.flush(this.#options.flushMs);
  }

  /**
   * The partition's records up to `next` are handled: its position goes with them into the
   * batch (or, with `--transactions`, as far as nothing is held).
   */
  #advance(topic: string, partition: number, next: number): void {
    if (!this.#progress.advance(topic, partition, next)) return;
    if (this.#assembler) this.#assembler.advance(topic, partition, next);
    else this.#buffer.advance(topic, partition, next);
  }

  /** Where the row (or dead letter) of a record goes: the batch, or its held transaction. */
  #into(topic: string, partition: number, envelope: Envelope | undefined): BatchBuffer {
    return this.#assembler?.destination(topic, partition, envelope) ?? this.#buffer;
  }

  /** The transaction topic's BEGIN and END markers (`--transactions`). */
  async #handleMarkers(batch: SourceBatch): Promise<void> {
    const assembler = this.#assembler!;
    const { topic, partition } = batch;
    let read = 0;
    for (const record of batch.records) {
      if (this.#stopping) return;
      if (this.#progress.isApplied(topic, partition, record.offset)) continue;
      if ((++read & 255) === 0 && !this.#writes.writing) {
        // the writer idles (the stream's first write): the transactions these ENDs made
        // whole go now, not once all of a backlog's fetch of thousands of markers is read
        assembler.release();
        await this.#flushIfOld();
      }
      this.#progress.advance(topic, partition, record.offset + 1);
      if (record.value === null) {
        assembler.markersRead(partition, record.offset + 1);
        continue;
      }
      try {
        const read = this.#readMarker(record.value);
        assembler.marker(partition, record.offset, read instanceof Promise ? await read : read);
      } catch (error) {
        this.#failed(topic, partition, record, error);
        assembler.markersRead(partition, record.offset + 1);
      }
    }
    if (this.#progress.advance(topic, partition, batch.nextOffset)) {
      assembler.markersRead(partition, batch.nextOffset);
    }
    assembler.release();
    await this.#flushIfOld();
  }

  /**
   * A transaction marker's record value read: without a wait once its schema is known (a
   * backlog has two markers per source transaction), from its bytes where the schema allows.
   */
  #readMarker(bytes: Uint8Array): TransactionMarker | Promise<TransactionMarker> {
    const { decoder } = this.#stages;
    const schema = decoder.knownSchemaOf(bytes);
    if (!schema) return decoder.decode(bytes).then(({ value }) => transactionMarker(value));
    let read = this.#markerReaders.get(schema);
    if (read === undefined) {
      this.#markerReaders.set(schema, read = compileMarkerReader(schema) ?? null);
    }
    return read ? read(bytes) : transactionMarker(decoder.decodeKnown(bytes)!.value);
  }

  /**
   * Decodes, maps and buffers one record. Returns a promise only when the record has to wait
   * (its schema, key schema or table is new; a truncate in a keyed mode): its plan being
   * prepared. The rest, nearly every record, is handled without an await and the garbage
   * each await leaves.
   */
  #handleRecord(
    topic: string,
    partition: number,
    record: SourceRecord,
  ): Promise<Prepared> | undefined {
    if (record.value === null) {
      this.stats.consumed++;
      this.stats.tombstones++; // Debezium's delete tombstone: the delete event came before it
      this.#stages.observer?.consumed(topic, "tombstone");
      return;
    }
    const table = this.#options.tables.get(topic)!;
    let ready: PlannedTarget | undefined;
    try {
      ready = this.#plans.ready(table, topic, record);
      if (!ready) return this.#prepare(topic, table, record);
      this.stats.consumed++;
      const position = { partition, offset: record.offset };
      this.#buffered(topic, table, this.#add(topic, ready, record.value, position));
    } catch (error) {
      if (!ready) this.stats.consumed++;
      this.#failed(topic, partition, record, error);
    }
  }

  /**
   * The plan of a record that waits for its schema, plan or key schema, prepared apart from
   * the pipeline's turn (other partitions go on meanwhile); a failure is returned, to be
   * handled in the record's place.
   */
  async #prepare(topic: string, table: string, record: SourceRecord): Promise<Prepared> {
    // a few at a time, in the order they came: the first table's plan is not made to wait
    // behind the schema compilations of every table parked after it
    while (this.#preparing >= PREPARED_AT_ONCE) await this.#prepared.promise;
    this.#preparing++;
    try {
      const decoded = await this.#stages.decoder.decode(record.value!);
      const planned = await this.#plans.plan(
        table,
        topic,
        record,
        decoded.schema,
        decoded.value as Envelope,
      );
      return { planned, decoded };
    } catch (error) {
      return { error };
    } finally {
      this.#preparing--;
      this.#prepared.resolve();
      this.#prepared = Promise.withResolvers<void>();
    }
  }

  /** Buffers a record by the plan prepared for it, or handles why there is none. */
  #bufferPrepared(
    topic: string,
    partition: number,
    record: SourceRecord,
    prepared: Prepared,
  ): void {
    this.stats.consumed++;
    try {
      if ("error" in prepared) throw prepared.error;
      const table = this.#options.tables.get(topic)!;
      const position = { partition, offset: record.offset };
      const { planned, decoded } = prepared;
      this.#buffered(topic, table, this.#add(topic, planned, record.value!, position, decoded));
    } catch (error) {
      this.#failed(topic, partition, record, error);
    }
  }

  /**
   * Buffers a record's row by its plan: its LOAD DATA line straight from its bytes, or the row
   * of its decoded envelope (decoded here unless given). Returns the envelope.
   */
  #add(
    topic: string,
    planned: PlannedTarget,
    bytes: Uint8Array,
    position: KafkaPosition,
    decoded?: DecodedValue,
  ): Envelope {
    const { plan, target, lines } = planned;
    if (lines) {
      let into = this.#buffer;
      const envelope = plan.line!(bytes, position, (read) => {
        into = this.#into(topic, position.partition, read);
        return into.textOf(target);
      });
      into.added();
      return envelope;
    }
    const envelope = (decoded ?? this.#stages.decoder.decodeKnown(bytes)!).value as Envelope;
    this.#into(topic, position.partition, envelope).addRow(target, plan.row(envelope, position));
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
        this.#into(topic, partition, undefined)
          .addDeadLetter(deadLetter(topic, partition, record, error));
    }
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

/**
 * A record to hold while its partition is parked: a copy, since as views into the fetch
 * response its bytes would keep the whole response (up to 4 MiB) alive.
 */
function held(record: SourceRecord): SourceRecord {
  return {
    ...record,
    key: record.key && Buffer.from(record.key),
    value: record.value && Buffer.from(record.value),
  };
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
  const transactions = stats.transactions + stats.forcedTransactions > 0
    ? `, ${stats.transactions} source transactions whole, ${stats.forcedTransactions} not`
    : "";
  return `${stats.consumed} events (${rate.toFixed(1)}/s), ${stats.rowsWritten} rows written ` +
    `in ${stats.batches} batches, lag ${lag}${drain}, ${stats.snapshotRows} snapshot reads, ` +
    `${stats.tombstones} tombstones, ${stats.skipped} skipped, ` +
    `${stats.deadLettered} dead-lettered, ${stats.alreadyWritten} already written${transactions}`;
}

function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 5400) return `${Math.ceil(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
