/**
 * The three-node stack's Kafka as the cluster tests see it: who leads and replicates each
 * partition, waits until every replica is back in sync, and the nodes as stack services.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { kafkaClient } from "../../lib/kafka/client.ts";
import { waitFor } from "../../lib/util/retry.ts";
import { BOOTSTRAP, KAFKA_NODES } from "../../tools/stack/config.ts";
import {
  KAFKA_SERVICES,
  type KafkaServiceName,
  kafkaServiceName,
  startService,
} from "../../tools/stack/services.ts";

/** One partition's place in the cluster. */
export interface PartitionLayout {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

/** A kafkajs admin client over every node (connected). */
export async function clusterAdmin(): Promise<Admin> {
  const admin = kafkaClient({ brokers: BOOTSTRAP.split(",") }, "cdc-cluster-test").admin();
  await admin.connect();
  return admin;
}

/** The partitions of `topic`, by partition number, as the cluster's metadata has them now. */
export async function layout(admin: Admin, topic: string): Promise<PartitionLayout[]> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0].partitions
    .map(({ partitionId, leader, replicas, isr }) => ({
      partition: partitionId,
      leader,
      replicas,
      isr,
    }))
    .sort((a, b) => a.partition - b.partition);
}

/** The node leading most of `partitions` (the lowest id of those tied). */
export function busiestLeader(partitions: readonly PartitionLayout[]): number {
  const counts = new Map<number, number>();
  for (const { leader } of partitions) counts.set(leader, (counts.get(leader) ?? 0) + 1);
  return [...counts].sort(([a, m], [b, n]) => n - m || a - b)[0][0];
}

/** `{node: partitions led}`, for messages: `1:2 2:2 3:2`. */
export function leaderCounts(partitions: readonly PartitionLayout[]): string {
  const counts = new Map<number, number>();
  for (const { leader } of partitions) counts.set(leader, (counts.get(leader) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a - b).map(([node, n]) => `${node}:${n}`).join(" ");
}

/** Each partition's leader, in partition order, for messages: `[1 2 3 1 2 3]`. */
export function leaderList(partitions: readonly PartitionLayout[]): string {
  return `[${partitions.map((p) => p.leader).join(" ")}]`;
}

/** The stack service of Kafka node `node`. */
export function nodeService(node: number): KafkaServiceName {
  return kafkaServiceName(node);
}

/**
 * Waits until every partition of `topics` has a leader and all its replicas in sync: what an
 * operator waits for between two steps of a rolling restart, so that min ISR 2 always holds.
 * A topic that does not exist (yet: `__consumer_offsets` before a group's first use) is skipped.
 */
export async function waitForInSync(
  admin: Admin,
  topics: readonly string[],
  timeoutMs = 120_000,
): Promise<void> {
  let lagging: string[] = [];
  await waitFor(`every replica of ${topics.join(", ")} in sync`, async () => {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    const { topics: described } = await admin.fetchTopicMetadata({ topics: present });
    lagging = described.flatMap(({ name, partitions }) =>
      partitions
        .filter((p) => p.leader < 0 || p.isr.length < p.replicas.length)
        .map((p) => `${name}[${p.partitionId}] isr ${p.isr} of ${p.replicas}`)
    );
    return lagging.length === 0;
  }, timeoutMs).catch((error) => {
    throw new Error(`${error.message} (${lagging.join("; ")})`);
  });
}

/**
 * Starts every node that is not running (a no-op for those that are) and waits until the
 * group offsets topic is fully replicated: the state each test begins and must end in.
 */
export async function ensureClusterUp(admin?: Admin): Promise<void> {
  if (KAFKA_NODES < 3) {
    throw new Error(
      `the cluster tests need CDC_STACK_KAFKA_NODES=3 (this stack has ${KAFKA_NODES} node): ` +
        "deno task test:cluster",
    );
  }
  await Promise.all(KAFKA_SERVICES.map((name) => startService(name)));
  if (admin) await waitForInSync(admin, ["__consumer_offsets"]);
}
