/**
 * The Kafka reading's own share of a drain, as `cdc stream` reads: `n` records of a backlog
 * topic's partition 0 through lib/kafka/fetch.ts (its own Fetch requests, record batches
 * walked in place), handling nothing, and prints the wall and CPU time it took, as
 * tests/bench/kafka_read.ts does for kafkajs. With V8's GC trace on stdout,
 * tests/bench/gc_summary.ts tells what it allocated and promoted:
 *
 *   deno run -A --v8-flags=<the binary's V8 flags>,--trace-gc-nvp tests/bench/fetch_read.ts \
 *     perf200k.perf200k.items 200000 | deno run tests/bench/gc_summary.ts
 *
 * @module
 */
import { PartitionFetcher } from "../../lib/kafka/fetcher.ts";
import { FETCH_LIMITS } from "../../lib/kafka/consumer.ts";
import { BOOTSTRAP } from "../../tools/stack/config.ts";
import { readBenchArgs, reportRead } from "./source.ts";

const { topic, count } = readBenchArgs("fetch_read.ts");
const started = performance.now();
let read = 0;
await new Promise<void>((resolve, reject) => {
  const fetcher = new PartitionFetcher({
    connection: { brokers: [BOOTSTRAP] },
    limits: FETCH_LIMITS,
    handler: (batch) => {
      for (const _record of batch.records) read++; // each record read, as the stream reads it
      if (read >= count) fetcher.stop().then(resolve);
      return Promise.resolve();
    },
    earliestOffset: () => Promise.resolve(0),
    retrying: reject,
    recovered: () => undefined,
    fatal: reject,
  });
  fetcher.assign([{ topic, partition: 0, offset: 0 }]);
});
reportRead(read, started);
Deno.exit(0);
