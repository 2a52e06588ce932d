import assert from "node:assert/strict";
import { StreamMonitor } from "./monitor.ts";

Deno.test("StreamMonitor: not ready until started and assigned partitions; ready after", async () => {
  const monitor = new StreamMonitor({ retryTimeoutMs: 1_000 });
  const reasons = async () => (await monitor.health.readiness()).reasons;
  assert.deepEqual(await reasons(), [
    "waiting for Kafka, the schema registry and the sink",
    "not in the consumer group yet",
  ]);
  monitor.started();
  monitor.sourceEvents.joined?.(0);
  assert.deepEqual(await reasons(), ["no partitions assigned (more processes than partitions)"]);
  monitor.sourceEvents.joined?.(2);
  assert.deepEqual(await reasons(), []);
  monitor.sourceEvents.rebalancing?.();
  assert.deepEqual(await reasons(), ["the consumer group is rebalancing"]);
  monitor.sourceEvents.joined?.(1);
  monitor.sinkRetrying(new Error("Connection lost"));
  assert.deepEqual(await reasons(), ["sink write retrying after: Connection lost"]);
  // the next batch written clears it
  monitor.metrics.writing({ tables: [], deadLetters: [], positions: new Map() })();
  assert.deepEqual(await reasons(), []);
  assert.match(await monitor.metrics.render(), /cdc_retries_total\{service="sink"\} 1/);
});

Deno.test("StreamMonitor.listen: an address in use stops the start with the address named", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const { port } = taken.addr as Deno.NetAddr;
    const monitor = new StreamMonitor({ retryTimeoutMs: 1_000 });
    assert.throws(
      () => monitor.listen({ hostname: "127.0.0.1", port }),
      (e: unknown) =>
        e instanceof Error &&
        e.message.startsWith(`--http-listen 127.0.0.1:${port}: cannot listen`),
    );
  } finally {
    taken.close();
  }
});
