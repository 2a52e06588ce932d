/**
 * How far the stream got in each partition: the next offset not yet in the sink or the
 * buffer (a record below it is applied already, {@linkcode isApplied}), and the broker's
 * newest offset as of the last fetch, for the lag.
 *
 * @module
 */
import { isApplied, type Positions } from "../kafka/mod.ts";

/** Records behind the broker's newest offset, for one partition. */
export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

const key = (topic: string, partition: number) => `${topic}\0${partition}`;

/** Each partition's next offset and newest broker offset. */
export class Progress {
  readonly #next = new Map<string, number>();
  readonly #highWatermarks = new Map<string, number>();

  /** Starts from `positions` (those stored in the sink). */
  seed(positions: Positions): void {
    for (const [topic, partitions] of positions) {
      for (const [partition, next] of partitions) this.#next.set(key(topic, partition), next);
    }
  }

  /** True when the record at `offset` is in the sink or the buffer already. */
  isApplied(topic: string, partition: number, offset: number): boolean {
    return isApplied(this.#next.get(key(topic, partition)), offset);
  }

  /** Moves the partition on to `next`; never back. Returns whether it moved. */
  advance(topic: string, partition: number, next: number): boolean {
    const k = key(topic, partition);
    const current = this.#next.get(k);
    if (current !== undefined && current >= next) return false;
    this.#next.set(k, next);
    return true;
  }

  /** Notes the broker's newest offset of a partition (from a fetch). */
  observed(topic: string, partition: number, highWatermark: number): void {
    this.#highWatermarks.set(key(topic, partition), highWatermark);
  }

  /** True when every partition of `topic` seen has been read to the broker's newest offset. */
  caughtUp(topic: string): boolean {
    let seen = false;
    for (const [k, high] of this.#highWatermarks) {
      if (!k.startsWith(`${topic}\0`)) continue;
      seen = true;
      if ((this.#next.get(k) ?? 0) < high) return false;
    }
    return seen;
  }

  /** Records behind the broker's newest offset, per partition seen. */
  lag(): PartitionLag[] {
    return [...this.#highWatermarks].map(([k, high]) => {
      const [topic, partition] = k.split("\0");
      return {
        topic,
        partition: Number(partition),
        lag: Math.max(0, high - (this.#next.get(k) ?? 0)),
      };
    });
  }
}
