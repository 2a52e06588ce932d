/**
 * What Kafka knows about a consumer group's topics: each partition's earliest
 * and end offsets and the group's committed offsets (where `stream` starts,
 * what `status` reports), and the group's state and members.
 *
 * @module
 */
import { type Admin, AssignerProtocol, type ITopicConfig } from "kafkajs";
import { waitFor } from "../util/retry.ts";
import { kafkaClient } from "./client.ts";
import type { KafkaConnection } from "./connection.ts";
import { type Positions, setPosition } from "./positions.ts";

/** Offsets Kafka reports for one partition. */
export interface KafkaPartitionOffsets {
  partition: number;
  /** The group's committed offset (next to read); undefined when it has none. */
  committed?: number;
  /** First offset still in the partition (retention deletes older ones). */
  earliest: number;
  /** Offset the next record will get (the high watermark). */
  end: number;
}

/** `watermarks` with the group's `committed` offsets filled in. */
export function withCommitted(
  watermarks: ReadonlyMap<string, readonly KafkaPartitionOffsets[]>,
  committed: Positions,
): Map<string, KafkaPartitionOffsets[]> {
  return new Map(
    [...watermarks].map(([topic, partitions]) => [
      topic,
      partitions.map((p) => {
        const offset = committed.get(topic)?.get(p.partition);
        return offset === undefined ? { ...p } : { ...p, committed: offset };
      }),
    ]),
  );
}

/** Earliest, end and committed offsets of every partition of `topics`, by topic. */
export async function partitionOffsets(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
): Promise<Map<string, KafkaPartitionOffsets[]>> {
  return withCommitted(
    await partitionWatermarks(admin, topics),
    await committedOffsets(admin, groupId, topics),
  );
}

/** The offsets the consumer group committed (the next to read), by topic and partition. */
export async function committedOffsets(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
): Promise<Positions> {
  const committed: Positions = new Map();
  await knowTopics(admin, topics);
  for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
    for (const { partition, offset } of partitions) {
      // -1: the group has committed nothing for this partition
      if (Number(offset) >= 0) setPosition(committed, topic, partition, Number(offset));
    }
  }
  return committed;
}

/**
 * Asks for the metadata of every topic in `topics` at once. kafkajs's look-ups by topic (its
 * offsets, a group's committed offsets) otherwise ask for the metadata of every topic seen so
 * far at each new one (200 topics: 200 requests, 20,100 topic entries decoded: the largest
 * surviving allocations in a heap sample of a 200-table stream, and most of its start-up).
 */
async function knowTopics(admin: Admin, topics: readonly string[]): Promise<void> {
  if (topics.length > 1) await admin.fetchTopicMetadata({ topics: [...topics] });
}

/** How many topics' offsets are asked for at once. */
const OFFSETS_AT_ONCE = 16;

/** Each partition's earliest and end offsets (the high watermark), by topic. */
export async function partitionWatermarks(
  admin: Admin,
  topics: readonly string[],
): Promise<Map<string, KafkaPartitionOffsets[]>> {
  const result = new Map<string, KafkaPartitionOffsets[]>();
  await knowTopics(admin, topics);
  for (let i = 0; i < topics.length; i += OFFSETS_AT_ONCE) {
    const some = topics.slice(i, i + OFFSETS_AT_ONCE);
    const offsets = await Promise.all(some.map((topic) => admin.fetchTopicOffsets(topic)));
    some.forEach((topic, t) =>
      result.set(
        topic,
        offsets[t].map(({ partition, low, high }) => ({
          partition,
          earliest: Number(low),
          end: Number(high),
        })).sort((a, b) => a.partition - b.partition),
      )
    );
  }
  return result;
}

/**
 * Creates `topic` unless it exists and waits until each of its partitions has a leader; true
 * when it was created. kafkajs's own `waitForLeaders` gives up at the first answer of a broker
 * that has not yet heard of the topic the controller just created (UNKNOWN_TOPIC_OR_PARTITION:
 * the metadata reaches each broker of a cluster in its own time); here that means "not yet".
 */
export async function createTopic(
  admin: Admin,
  topic: ITopicConfig,
  timeoutMs = 60_000,
): Promise<boolean> {
  const created = await admin.createTopics({ topics: [topic], waitForLeaders: false });
  await waitForLeaders(admin, topic.topic, timeoutMs);
  return created;
}

/**
 * Waits until the metadata of `topic` names a leader for each of its partitions; an unknown
 * topic counts as not yet (it may be being created).
 */
export async function waitForLeaders(
  admin: Admin,
  topic: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(`a leader for each partition of ${topic}`, async () => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = topics.find(({ name }) => name === topic)?.partitions ?? [];
    return partitions.length > 0 && partitions.every(({ leader }) => leader >= 0);
  }, timeoutMs);
}

/** A member of a consumer group and the partitions it holds. */
export interface GroupMember {
  clientId: string;
  host: string;
  memberId: string;
  /** Partitions by topic. */
  assignment: Record<string, number[]>;
}

/** A consumer group as the broker describes it. */
export interface GroupState {
  groupId: string;
  /** `Stable`, `Empty` (no process runs), `PreparingRebalance`, `Dead` (unknown group), ... */
  state: string;
  members: GroupMember[];
}

/** The group's state and its members with their assigned partitions. */
export async function describeGroup(admin: Admin, groupId: string): Promise<GroupState> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups.find((g) => g.groupId === groupId);
  return {
    groupId,
    state: group?.state ?? "Dead",
    members: (group?.members ?? []).map((m) => ({
      clientId: m.clientId,
      host: m.clientHost,
      memberId: m.memberId,
      assignment: m.memberAssignment.length
        ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {}
        : {},
    })),
  };
}

/**
 * Look-ups in Kafka for the subcommands (`status`, `tail`): topics, partition offsets, a
 * group's committed offsets and members, through one kafkajs admin client with few retries
 * of its own (a subcommand reports what it finds; it does not wait for Kafka).
 */
export class KafkaAdmin {
  readonly #admin: Admin;

  private constructor(admin: Admin) {
    this.#admin = admin;
  }

  /** Connects; throws when no broker answers (or the login is refused). */
  static async connect(connection: KafkaConnection, clientId: string): Promise<KafkaAdmin> {
    const admin = kafkaClient(connection, clientId, 2).admin();
    await admin.connect();
    return new KafkaAdmin(admin);
  }

  /** The topics of the cluster. */
  async topics(): Promise<Set<string>> {
    return new Set(await this.#admin.listTopics());
  }

  /** Each partition's earliest and end offsets, by topic. */
  watermarks(topics: readonly string[]): Promise<Map<string, KafkaPartitionOffsets[]>> {
    return partitionWatermarks(this.#admin, topics);
  }

  /** Earliest, end and the group's committed offsets of every partition, by topic. */
  partitionOffsets(
    groupId: string,
    topics: readonly string[],
  ): Promise<Map<string, KafkaPartitionOffsets[]>> {
    return partitionOffsets(this.#admin, groupId, topics);
  }

  /** The group's state and members. */
  describeGroup(groupId: string): Promise<GroupState> {
    return describeGroup(this.#admin, groupId);
  }

  /**
   * Creates `topic` with `partitions` partitions (the broker's default replication) unless it
   * exists; true when it was created.
   */
  async ensureTopic(topic: string, partitions: number): Promise<boolean> {
    if ((await this.topics()).has(topic)) return false;
    return await createTopic(this.#admin, { topic, numPartitions: partitions });
  }

  /** Closes the client; never throws. */
  async close(): Promise<void> {
    await this.#admin.disconnect().catch(() => undefined);
  }
}
