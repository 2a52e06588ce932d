/**
 * When batches are written and positions committed, kept apart from what is buffered. One
 * write is in flight at a time and runs while the next batch is decoded: waiting for it
 * first keeps batches in order and bounds memory to two batches. Positions go to the Kafka
 * group after their write, off the write path and merged, one commit at a time.
 *
 * @module
 */
import { type Positions, setPosition } from "../kafka/mod.ts";
import { type BatchBuffer, rowCount } from "../sink/batch.ts";
import type { PipelineStages, StreamStats } from "./stages.ts";

/** The writing side of a pipeline: the buffer handed to the writer, the commits after. */
export class WriteScheduler {
  readonly #buffer: BatchBuffer;
  readonly #stages: PipelineStages;
  readonly #stats: StreamStats;
  /** Runs `work` in the pipeline's turn (after the batch being handled). */
  readonly #exclusive: (work: () => Promise<void>) => Promise<void>;
  #inflight: Promise<void> = Promise.resolve();
  /** True from the start of a write until it settles. */
  #writing = false;
  #stopping = false;
  /** Written positions that wait for the commit in flight, merged (newest offset wins). */
  #uncommitted: Positions = new Map();
  /** The commit to the group in flight, if any: one at a time, never in a write's way. */
  #committing?: Promise<void>;

  constructor(
    buffer: BatchBuffer,
    stages: PipelineStages,
    stats: StreamStats,
    exclusive: (work: () => Promise<void>) => Promise<void>,
  ) {
    this.#buffer = buffer;
    this.#stages = stages;
    this.#stats = stats;
    this.#exclusive = exclusive;
  }

  /** True while a write is in flight. */
  get writing(): boolean {
    return this.#writing;
  }

  /** The write in flight (settled when there is none): its failure surfaces through it. */
  get inflight(): Promise<void> {
    return this.#inflight;
  }

  /** From now on, nothing more is written on its own (the final flush still is). */
  stop(): void {
    this.#stopping = true;
  }

  /**
   * Hands the buffer to the writer, after the write in flight. When the write is done,
   * whatever was buffered meanwhile is written next (in the pipeline's turn), once it is
   * `flushMs` old.
   */
  async flush(flushMs: number): Promise<void> {
    // a long wait (a retrying write) costs no group membership: kafkajs heartbeats on its own
    await this.#inflight;
    if (!this.#buffer.pending) return;
    const batch = this.#buffer.drain();
    this.#writing = true;
    const written = this.#stages.observer?.writing(batch);
    const write = this.#stages.writer.write(batch).then(() => {
      written?.();
      this.#stats.batches++;
      for (const t of batch.tables) this.#stats.rowsWritten += rowCount(t);
      this.#commit(batch.positions);
    }, (error) => {
      written?.(error);
      throw error;
    }).finally(() => {
      this.#writing = false;
      // what arrived meanwhile goes next, without waiting for another fetch or the timer
      if (this.#buffer.pending && !this.#stopping) {
        this.#exclusive(() => this.#writing ? Promise.resolve() : this.flushIfOld(flushMs))
          .catch(() => undefined); // a failed write surfaces through #inflight
      }
    });
    write.catch(() => undefined); // observed by the next flush; never unhandled meanwhile
    this.#inflight = write;
  }

  /** {@linkcode flush} when something is buffered and at least `flushMs` old. */
  async flushIfOld(flushMs: number): Promise<void> {
    if (this.#buffer.pending && this.#buffer.ageMs() >= flushMs) await this.flush(flushMs);
  }

  /** Waits for the write and the commit in flight (on shutdown). */
  async settled(): Promise<void> {
    await this.#inflight;
    await this.#committing;
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
}
