/**
 * The sink's row count over time, sampled from the sink itself: what a reader of the `_cdc`
 * table sees of a fault is how long its rows stop growing (the stall).
 *
 * @module
 */
import type mysql from "mysql2/promise";
import { countRows } from "../helpers.ts";
import { delay } from "../../lib/util/retry.ts";

/** Milliseconds between two counts. */
const SAMPLE_MS = 100;

/** One count of the sink's rows, at `at` (performance.now()). */
interface Sample {
  at: number;
  rows: number;
}

/** Counts `database`.`table`'s rows every {@link SAMPLE_MS} until {@linkcode stop}. */
export class SinkGrowth {
  readonly samples: Sample[] = [];
  #running = true;
  readonly #loop: Promise<void>;

  constructor(db: mysql.Connection, database: string, table: string) {
    this.#loop = (async () => {
      while (this.#running) {
        this.samples.push({ at: performance.now(), rows: await countRows(db, database, table) });
        // the sampling period of a measurement; nothing waits for a state with it
        await delay(SAMPLE_MS);
      }
    })();
  }

  /** The latest count. */
  get rows(): number {
    return this.samples.at(-1)?.rows ?? 0;
  }

  /**
   * The longest time between two increases of the row count within [`from`, `to`]: the gap
   * open at `from` counts from the last increase before it.
   */
  longestGap(from: number, to: number): number {
    let lastGrowth = from;
    let previous = 0;
    let longest = 0;
    for (const { at, rows } of this.samples) {
      if (at > to) break;
      if (rows > previous) {
        if (at >= from) longest = Math.max(longest, at - lastGrowth);
        lastGrowth = at;
      }
      previous = rows;
    }
    return Math.max(longest, to - lastGrowth);
  }

  /** Stops sampling. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}
