/**
 * The metrics of `cdc stream` in Prometheus text format (prom-client).
 *
 * {@linkcode StreamMetrics} is the pipeline's observer: the pipeline only
 * says what happened, this module counts it. Lag, seconds behind the source
 * and memory are read when scraped, not maintained on the hot path. Every
 * metric is listed in docs/reference.md, generated from this registry (`deno task docs`).
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { rowCount, type SinkBatch } from "../sink/batch.ts";
import type { PartitionLag } from "../pipeline/progress.ts";
import type { PipelineObserver } from "../pipeline/stages.ts";

/** The services whose calls are retried, as the `service` label names them. */
export type Service = "kafka" | "registry" | "sink";

/** Buckets of the batch write duration, seconds: a few ms to a minute of retries. */
const WRITE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Buckets of the end-to-end latency, seconds: sub-second streaming to an hour behind. */
const LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** Settings of {@linkcode StreamMetrics}. */
export interface StreamMetricsOptions {
  /** The clock, in milliseconds (a test passes its own). */
  now?: () => number;
  /** Process memory (a test passes its own). */
  memory?: () => Deno.MemoryUsage;
  /** Called after each batch written (readiness: the sink answers again). */
  onWritten?: () => void;
}

/** Counts what the pipeline does and renders it for a Prometheus scrape. */
export class StreamMetrics implements PipelineObserver {
  readonly registry = new Registry();
  readonly #now: () => number;
  readonly #onWritten?: () => void;
  #lag: () => PartitionLag[] = () => [];
  /** Source commit times of the rows buffered since the last batch, by table. */
  #pending = new Map<string, number[]>();
  /** Newest source commit time written, by table. */
  readonly #newest = new Map<string, number>();
  /** When the write in flight started (undefined: none in flight). */
  #writeStartedAt?: number;
  readonly #consumed: Counter<"topic" | "op">;
  /** The consumed counter's series by topic, then op: labels are hashed once, not per record. */
  readonly #consumedSeries = new Map<string, Map<string, Counter.Internal>>();
  readonly #rows: Counter<"table">;
  readonly #batches: Counter;
  readonly #writeDuration: Histogram;
  readonly #latency: Histogram<"table">;
  readonly #bad: Counter<"topic" | "action" | "reason">;
  readonly #retries: Counter<"service">;
  readonly #transactions: Counter<"whole">;
  readonly #transactionSeries = new Map<string, Counter.Internal>();
  readonly #failures: Counter<"service">;

  constructor(options: StreamMetricsOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#onWritten = options.onWritten;
    const memory = options.memory ?? Deno.memoryUsage;
    const registers = [this.registry];
    this.#consumed = new Counter({
      name: "cdc_events_consumed_total",
      help: "Kafka records read, by topic and Debezium op (c, u, d, r, t; tombstone; bad: " +
        "could not be decoded or mapped)",
      labelNames: ["topic", "op"],
      registers,
    });
    this.#rows = new Counter({
      name: "cdc_rows_written_total",
      help: "rows committed to the sink, by _cdc table",
      labelNames: ["table"],
      registers,
    });
    this.#batches = new Counter({
      name: "cdc_batches_written_total",
      help: "batches (sink transactions) committed",
      registers,
    });
    this.#writeDuration = new Histogram({
      name: "cdc_batch_write_duration_seconds",
      help: "time to write one batch, retries included",
      buckets: WRITE_BUCKETS,
      registers,
    });
    this.#latency = new Histogram({
      name: "cdc_end_to_end_latency_seconds",
      help: "per row: commit in the sink minus commit in the source (source.ts_ms), by _cdc table",
      labelNames: ["table"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#bad = new Counter({
      name: "cdc_bad_records_total",
      help: "bad records passed, by topic, action (skip, dead-letter) and reason",
      labelNames: ["topic", "action", "reason"],
      registers,
    });
    this.#retries = new Counter({
      name: "cdc_retries_total",
      help: "transient failures retried, by service (kafka, registry, sink)",
      labelNames: ["service"],
      registers,
    });
    this.#transactions = new Counter({
      name: "cdc_source_transactions_total",
      help: "source transactions applied with --transactions: whole (true), or incomplete or " +
        "in parts past the transaction buffer (false)",
      labelNames: ["whole"],
      registers,
    });
    this.#failures = new Counter({
      name: "cdc_failures_total",
      help: "failures not cured by retrying, by service (kafka, registry, sink)",
      labelNames: ["service"],
      registers,
    });
    // collect() runs with the gauge as `this`: what it reads is captured here
    const partitionLag = () => this.#lag();
    const newestWritten = this.#newest;
    const now = this.#now;
    new Gauge({
      name: "cdc_lag_records",
      help: "records behind the partition's end offset (as of the last fetch)",
      labelNames: ["topic", "partition"],
      registers,
      collect() {
        this.reset();
        for (const p of partitionLag()) {
          this.set({ topic: p.topic, partition: String(p.partition) }, p.lag);
        }
      },
    });
    new Gauge({
      name: "cdc_seconds_behind_source",
      help: "now minus the newest source commit time (__source_ts) written, by _cdc table",
      labelNames: ["table"],
      registers,
      collect() {
        const at = now();
        for (const [table, newest] of newestWritten) {
          this.set({ table }, Math.max(0, (at - newest) / 1000));
        }
      },
    });
    new Gauge({
      name: "process_resident_memory_bytes",
      help: "resident set size of the process",
      registers,
      collect() {
        this.set(memory().rss);
      },
    });
    new Gauge({
      name: "cdc_heap_bytes",
      help: "JavaScript heap, by state (used, total), and memory outside it (external)",
      labelNames: ["state"],
      registers,
      collect() {
        const m = memory();
        this.set({ state: "used" }, m.heapUsed);
        this.set({ state: "total" }, m.heapTotal);
        this.set({ state: "external" }, m.external);
      },
    });
  }

  /** Where the lag per partition comes from (the pipeline, created after this). */
  lagFrom(lag: () => PartitionLag[]): void {
    this.#lag = lag;
  }

  /** {@inheritDoc PipelineObserver.consumed} */
  consumed(topic: string, op: string): void {
    // by topic, then op: a key made of both was a string built and hashed for every record
    let ops = this.#consumedSeries.get(topic);
    if (!ops) this.#consumedSeries.set(topic, ops = new Map());
    let series = ops.get(op);
    if (!series) ops.set(op, series = this.#consumed.labels({ topic, op }));
    series.inc();
  }

  /** {@inheritDoc PipelineObserver.buffered} */
  buffered(table: string, sourceTsMs: number | undefined): void {
    let times = this.#pending.get(table);
    if (!times) this.#pending.set(table, times = []);
    if (sourceTsMs !== undefined) times.push(sourceTsMs);
  }

  /** {@inheritDoc PipelineObserver.transaction} */
  transaction(forced: boolean): void {
    // each series bound once: its labels are not hashed again for thousands a second
    const whole = String(!forced);
    let series = this.#transactionSeries.get(whole);
    if (!series) this.#transactionSeries.set(whole, series = this.#transactions.labels({ whole }));
    series.inc();
  }

  /** {@inheritDoc PipelineObserver.badRecord} */
  badRecord(topic: string, action: "skip" | "dead-letter", reason: string): void {
    this.#bad.inc({ topic, action, reason });
  }

  /** {@inheritDoc PipelineObserver.writing} */
  writing(batch: SinkBatch): (error?: unknown) => void {
    const sourceTimes = this.#pending;
    this.#pending = new Map();
    const started = this.#writeStartedAt = this.#now();
    return (error) => {
      this.#writeStartedAt = undefined;
      if (error !== undefined) {
        this.#failures.inc({ service: "sink" });
        return;
      }
      const now = this.#now();
      this.#batches.inc();
      this.#writeDuration.observe((now - started) / 1000);
      for (const rows of batch.tables) this.#rows.inc({ table: rows.table }, rowCount(rows));
      for (const [table, times] of sourceTimes) {
        const latency = this.#latency.labels({ table });
        let newest = this.#newest.get(table) ?? -Infinity;
        for (const ts of times) {
          latency.observe(Math.max(0, (now - ts) / 1000));
          if (ts > newest) newest = ts;
        }
        if (newest > -Infinity) this.#newest.set(table, newest);
      }
      this.#onWritten?.();
    };
  }

  /** A transient failure of `service` is being retried. */
  retried(service: Service): void {
    this.#retries.inc({ service });
  }

  /** A failure of `service` that retrying did not cure (or that is not retried). */
  failed(service: Service): void {
    this.#failures.inc({ service });
  }

  /** Milliseconds the write in flight has taken so far; 0 when none is in flight. */
  writeInFlightMs(): number {
    return this.#writeStartedAt === undefined ? 0 : this.#now() - this.#writeStartedAt;
  }

  /** The scrape: every metric in Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of {@linkcode render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
