/**
 * kill -9 of the broker leading most of the topic's partitions while two processes stream it,
 * then its restart: the leaders move twice (away, and back once it is in sync again).
 */
import { startService, stopService } from "../../tools/stack/services.ts";
import { busiestLeader, leaderCounts, leaderList, nodeService } from "./cluster.ts";
import { clusterTest } from "./scenario.ts";

clusterTest("cluster: kill -9 of the broker leading most partitions, then its restart", {
  name: "kill -9 of the busiest leader and its restart",
  async fault({ layout, inSync }) {
    const partitions = await layout();
    const node = busiestLeader(partitions);
    console.log(
      `[cluster] leaders (node:partitions) ${leaderCounts(partitions)}; killing ${node}`,
    );
    await stopService(nodeService(node), { kill: true });
    const without = await layout();
    await startService(nodeService(node));
    await inSync();
    console.log(
      `[cluster] leader of each partition ${leaderList(partitions)} -> (killed) ` +
        `${leaderList(without)} -> (back) ${leaderList(await layout())}`,
    );
  },
});
