/**
 * `tests/bench/kafka_read.ts` with `@platformatic/kafka` instead of kafkajs: reads `n` records
 * of a backlog topic, handling nothing, with the same fetch limits as `cdc stream`, and prints
 * the wall and CPU time it took. The comparison behind keeping kafkajs (docs/design.md, "Why
 * these libraries"; BENCHMARKS.md):
 *
 *   deno run -A tests/bench/platformatic_read.ts perf200k.perf200k.items 200000
 *   deno run -A tests/bench/kafka_read.ts perf200k.perf200k.items 200000
 *
 * @module
 */
import { Consumer } from "@platformatic/kafka";
import { FETCH_LIMITS } from "../../lib/kafka/consumer.ts";
import { BOOTSTRAP } from "../../tools/stack/config.ts";
import { readBenchArgs, reportRead } from "./source.ts";

const { topic, count } = readBenchArgs("platformatic_read.ts");
const consumer = new Consumer({
  groupId: `platformatic-read-${Date.now()}`,
  clientId: "platformatic-read",
  bootstrapBrokers: [BOOTSTRAP],
  maxBytes: FETCH_LIMITS.maxBytes,
  maxBytesPerPartition: FETCH_LIMITS.maxBytesPerPartition,
  maxWaitTime: FETCH_LIMITS.maxWaitTimeInMs,
});
const started = performance.now();
const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
let read = 0;
await new Promise<void>((resolve) => {
  stream.on("data", () => {
    if (++read >= count) resolve();
  });
});
reportRead(read, started);
Deno.exit(0);
