/**
 * The Kafka client's own share of a drain: reads `n` records of a backlog topic with kafkajs,
 * configured as `cdc stream` configures it (lib/source.ts), handling nothing, and prints the
 * wall and CPU time it took. With V8's GC trace on stdout, tests/bench/gc_summary.ts tells what
 * it allocated and promoted:
 *
 *   deno run -A --v8-flags=<the binary's V8 flags>,--trace-gc-nvp tests/bench/kafka_read.ts \
 *     perf200k.perf200k.items 200000 | deno run tests/bench/gc_summary.ts
 *
 * @module
 */
import { kafkaClient } from "../../lib/kafka.ts";
import { FETCH_LIMITS } from "../../lib/source.ts";
import { BOOTSTRAP } from "../../tools/stack/config.ts";

const [topic, count] = [Deno.args[0], Number(Deno.args[1])];
if (!topic || !(count > 0)) {
  console.error("usage: deno run -A tests/bench/kafka_read.ts <topic> <records>");
  Deno.exit(2);
}
const consumer = kafkaClient({ brokers: [BOOTSTRAP] }).consumer({
  groupId: `kafka-read-${Date.now()}`,
  ...FETCH_LIMITS,
});
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
const started = performance.now();
let read = 0;
await new Promise<void>((resolve) => {
  consumer.run({
    autoCommit: false,
    eachBatch: ({ batch }) => {
      read += batch.messages.length;
      if (read >= count) resolve();
      return Promise.resolve();
    },
  });
});
const seconds = (performance.now() - started) / 1000;
const [utime, stime] = Deno.readTextFileSync("/proc/self/stat").split(" ").slice(13, 15);
console.error(
  `${read} records in ${seconds.toFixed(2)} s wall; process CPU ${
    ((Number(utime) + Number(stime)) / 100).toFixed(2)
  } s (start-up included)`,
);
Deno.exit(0);
