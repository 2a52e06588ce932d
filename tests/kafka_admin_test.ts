/**
 * Topic creation as `cdc connector register` does it (the transaction topic), on the stack's
 * broker or brokers: a topic the brokers have not heard of yet counts as "not yet", not as an
 * error (kafkajs's own wait gave up there on three brokers, right after the controller had
 * created the topic). The cluster suite runs this file too.
 */
import assert from "node:assert/strict";
import { createTopic, waitForLeaders } from "../lib/kafka/admin.ts";
import { kafkaClient } from "../lib/kafka/client.ts";
import { KAFKA_NODES } from "../tools/stack/config.ts";
import { STACK, uniqueSuffix } from "./helpers.ts";

const PARTITIONS = 6;

Deno.test({
  name: "kafka admin: a wait for leaders that begins before the topic exists ends once it does",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const admin = kafkaClient({ brokers: STACK.bootstrapServers.split(",") }, "cdc-test-admin")
      .admin();
    await admin.connect();
    const topic = `cdc-test-admin-${uniqueSuffix()}`;
    try {
      // the interleaving that failed: metadata asked for before the brokers know the topic
      const waiting = waitForLeaders(admin, topic, 60_000);
      await assert.rejects(
        admin.fetchTopicMetadata({ topics: [topic] }),
        /does not host this topic-partition/,
        "the topic must not exist yet, or this test proves nothing",
      );
      const replicationFactor = Math.min(3, KAFKA_NODES);
      assert.equal(
        await createTopic(admin, { topic, numPartitions: PARTITIONS, replicationFactor }),
        true,
      );
      await waiting;
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      assert.equal(topics[0].partitions.length, PARTITIONS);
      for (const { partitionId, leader, replicas } of topics[0].partitions) {
        assert.ok(leader >= 0, `partition ${partitionId} has a leader`);
        assert.equal(replicas.length, replicationFactor);
      }
      // a second creation is a no-op that says so
      assert.equal(await createTopic(admin, { topic, numPartitions: PARTITIONS }), false);
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  },
});
