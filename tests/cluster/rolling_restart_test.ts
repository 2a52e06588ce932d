/**
 * A rolling restart of all three nodes while two processes stream: each node stopped
 * gracefully and started again, the next one only once every replica is back in sync, as an
 * operator upgrades a cluster.
 */
import { KAFKA_NODE_IDS } from "../../tools/stack/config.ts";
import { startService, stopService } from "../../tools/stack/services.ts";
import { nodeService } from "./cluster.ts";
import { streamThroughFault } from "./scenario.ts";

Deno.test({
  name: "cluster: a rolling restart of all three nodes",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    streamThroughFault({
      name: "rolling restart of the three nodes",
      async fault({ inSync }) {
        for (const node of KAFKA_NODE_IDS) {
          await stopService(nodeService(node));
          await startService(nodeService(node));
          await inSync();
        }
      },
    }),
});
