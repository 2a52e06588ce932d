/**
 * A preferred leader election while two processes stream: first a node is restarted (its
 * partitions' leadership moves to the other replicas and stays there), then the election hands
 * each partition back to its preferred replica, as `kafka-leader-election` does after a restart.
 */
import assert from "node:assert/strict";
import { waitFor } from "../../lib/util/retry.ts";
import { electPreferredLeaders } from "../../tools/stack/kafka_admin.ts";
import { startService, stopService } from "../../tools/stack/services.ts";
import { leaderList, nodeService } from "./cluster.ts";
import { clusterTest } from "./scenario.ts";

clusterTest("cluster: a preferred leader election after leaders moved off the preferred replicas", {
  name: "preferred leader election",
  async prepare({ layout, inSync }) {
    // a graceful stop moves the node's leaderships away; they stay away once it is back
    // (until Kafka's own rebalance check, every 5 minutes by default)
    const node = (await layout())[0].replicas[0];
    await stopService(nodeService(node));
    await startService(nodeService(node));
    await inSync();
    const partitions = await layout();
    assert.ok(
      partitions.some((p) => p.leader !== p.replicas[0]),
      `some leader off its preferred replica (leaders ${leaderList(partitions)})`,
    );
  },
  async fault({ topic, layout }) {
    const before = await layout();
    await electPreferredLeaders(before.map(({ partition }) => ({ topic, partition })));
    await waitFor(
      "every partition led by its preferred replica",
      async () => (await layout()).every((p) => p.leader === p.replicas[0]),
    );
    console.log(
      `[cluster] leader of each partition ${leaderList(before)} -> ` +
        leaderList(await layout()),
    );
  },
});
