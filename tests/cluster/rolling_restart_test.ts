/**
 * A rolling restart of all three nodes while two processes stream: each node stopped
 * gracefully and started again, the next one only once every replica is back in sync, as an
 * operator upgrades a cluster.
 */
import { KAFKA_NODE_IDS } from "../../tools/stack/config.ts";
import { startService, stopService } from "../../tools/stack/services.ts";
import { nodeService } from "./cluster.ts";
import { clusterTest } from "./scenario.ts";

clusterTest("cluster: a rolling restart of all three nodes", {
  name: "rolling restart of the three nodes",
  async fault({ inSync }) {
    for (const node of KAFKA_NODE_IDS) {
      await stopService(nodeService(node));
      await startService(nodeService(node));
      await inSync();
    }
  },
});
