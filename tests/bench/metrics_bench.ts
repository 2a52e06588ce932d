/**
 * `deno bench tests/bench/metrics_bench.ts`: what observing the pipeline costs
 * per event (no services): the observer calls `cdc stream --http-listen` makes
 * for each event, and the per-batch work, over batches of 5000 events; and
 * rendering one scrape.
 *
 * @module
 */
import type { SinkBatch } from "../../lib/sink/batch.ts";
import { targetOf } from "../../lib/sink/testing.ts";
import { StreamMetrics } from "../../lib/ops/metrics.ts";

const BATCH = 5000;
const batch: SinkBatch = {
  tables: [{ ...targetOf("t_cdc", "t", ["id"]), rows: Array.from({ length: BATCH }, () => [1]) }],
  deadLetters: [],
  positions: new Map(),
};

const metrics = new StreamMetrics();
Deno.bench(`observer: ${BATCH} events (consumed, buffered) and their batch written`, () => {
  for (let i = 0; i < BATCH; i++) {
    metrics.consumed("bench.benchdb.t", i % 10 === 9 ? "d" : "c");
    metrics.buffered("t_cdc", 1_700_000_000_000 + i);
  }
  metrics.writing(batch)();
});

const scraped = new StreamMetrics();
scraped.lagFrom(() => [{ topic: "bench.benchdb.t", partition: 0, lag: 10 }]);
Deno.bench("render one scrape", async () => {
  await scraped.render();
});
