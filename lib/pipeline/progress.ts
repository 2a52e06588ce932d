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

/**
 * Each partition's next offset and newest broker offset. Kept by topic, then in an array by
 * partition: asked for every record, a key made of both was a string built and hashed each time.
 */
export class Progress {
  readonly #next = new Map<string, number[]>();
  readonly #highWatermarks = new Map<string, number[]>();

  /** Starts from `positions` (those stored in the sink). */
  seed(positions: Positions): void {
    for (const [topic, partitions] of positions) {
      for (const [partition, next] of partitions) partitionsOf(this.#next, topic)[partition] = next;
    }
  }

  /** True when the record at `offset` is in the sink or the buffer already. */
  isApplied(topic: string, partition: number, offset: number): boolean {
    return isApplied(this.#next.get(topic)?.[partition], offset);
  }

  /** Moves the partition on to `next`; never back. Returns whether it moved. */
  advance(topic: string, partition: number, next: number): boolean {
    const offsets = partitionsOf(this.#next, topic);
    const current = offsets[partition];
    if (current !== undefined && current >= next) return false;
    offsets[partition] = next;
    return true;
  }

  /** Notes the broker's newest offset of a partition (from a fetch). */
  observed(topic: string, partition: number, highWatermark: number): void {
    partitionsOf(this.#highWatermarks, topic)[partition] = highWatermark;
  }

  /** True when every partition of `topic` seen has been read to the broker's newest offset. */
  caughtUp(topic: string): boolean {
    const highs = this.#highWatermarks.get(topic) ?? [];
    const next = this.#next.get(topic) ?? [];
    let seen = false;
    for (let partition = 0; partition < highs.length; partition++) {
      const high = highs[partition];
      if (high === undefined) continue;
      seen = true;
      if ((next[partition] ?? 0) < high) return false;
    }
    return seen;
  }

  /** Records behind the broker's newest offset, per partition seen. */
  lag(): PartitionLag[] {
    const lags: PartitionLag[] = [];
    for (const [topic, highs] of this.#highWatermarks) {
      const next = this.#next.get(topic) ?? [];
      highs.forEach((high, partition) => {
        lags.push({ topic, partition, lag: Math.max(0, high - (next[partition] ?? 0)) });
      });
    }
    return lags;
  }
}

/** The array of `topic`'s partitions in `byTopic`, made on first use. */
function partitionsOf(byTopic: Map<string, number[]>, topic: string): number[] {
  let partitions = byTopic.get(topic);
  if (!partitions) byTopic.set(topic, partitions = []);
  return partitions;
}
