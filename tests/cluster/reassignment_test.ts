/**
 * A partition reassignment that moves every leader while two processes stream: each partition
 * first leaves its leader out (leadership moves to the next replica), then takes it back as its
 * last replica (its data copied to it again), as an operator drains and refills a broker.
 */
import { reassignPartitions } from "../../tools/stack/kafka_admin.ts";
import { leaderList } from "./cluster.ts";
import { clusterTest } from "./scenario.ts";

clusterTest("cluster: a partition reassignment that moves the leaders", {
  name: "partition reassignment moving every leader",
  async fault({ topic, layout, inSync }) {
    const before = await layout();
    const without = before.map(({ partition, leader, replicas }) => ({
      topic,
      partition,
      replicas: replicas.filter((node) => node !== leader),
    }));
    await reassignPartitions(without);
    const moved = await layout();
    await reassignPartitions(
      before.map(({ partition, leader }, i) => ({
        topic,
        partition,
        replicas: [...without[i].replicas, leader],
      })),
    );
    await inSync();
    console.log(
      `[cluster] leader of each partition ${leaderList(before)} -> ${leaderList(moved)}`,
    );
  },
});
