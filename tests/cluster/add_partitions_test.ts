/**
 * Partitions added to the topic while two processes stream it: the records the feed writes to
 * the new partitions are read from their first offset, and nothing is lost.
 */
import { waitFor } from "../../lib/util/retry.ts";
import { clusterTest, PARTITIONS } from "./scenario.ts";

const ADDED = 3;

clusterTest("cluster: partitions added while streaming are read from their first offset", {
  name: `${ADDED} partitions added to ${PARTITIONS}`,
  async fault({ admin, topic, sinkRows }) {
    await admin.createPartitions({ topicPartitions: [{ topic, count: PARTITIONS + ADDED }] });
    await waitFor("records in every new partition", async () => {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.length === PARTITIONS + ADDED &&
        offsets.every((o) => Number(o.high) > 0);
    }, 60_000);
    // the fault lasts until the sink has rows of every new partition: the group noticed
    // them (kafkajs's metadata renewal), assigned them, and cdc read them
    const written = performance.now();
    await waitFor("rows of every new partition in the sink", async () =>
      (await Promise.all(
        Array.from({ length: ADDED }, (_, i) => sinkRows(`__partition = ${PARTITIONS + i}`)),
      )).every((n) => n > 0), 120_000);
    console.log(
      `[cluster] the new partitions' first rows reached the sink ` +
        `${((performance.now() - written) / 1000).toFixed(1)} s after each had records`,
    );
  },
});
