/**
 * The Kafka client's own share of a drain: reads `n` records of a backlog topic with kafkajs,
 * configured as `cdc stream` configures it (lib/kafka/consumer.ts), handling nothing, and prints the
 * wall and CPU time it took. With V8's GC trace on stdout, tests/bench/gc_summary.ts tells what
 * it allocated and promoted:
 *
 *   deno run -A --v8-flags=<the binary's V8 flags>,--trace-gc-nvp tests/bench/kafka_read.ts \
 *     perf200k.perf200k.items 200000 | deno run tests/bench/gc_summary.ts
 *
 * @module
 */
import { kafkaClient } from "../../lib/kafka/client.ts";
import { FETCH_LIMITS } from "../../lib/kafka/consumer.ts";
import { BOOTSTRAP } from "../../tools/stack/config.ts";
import { readBenchArgs, reportRead } from "./source.ts";

const { topic, count } = readBenchArgs("kafka_read.ts");
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
reportRead(read, started);
Deno.exit(0);
