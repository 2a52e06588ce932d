/**
 * What Kafka knows about a consumer group's topics: each partition's earliest
 * and end offsets and the group's committed offsets (where `stream` starts,
 * what `status` reports), and the group's state and members.
 *
 * @module
 */
import { type Admin, AssignerProtocol } from "kafkajs";
import { type Positions, setPosition } from "./positions.ts";
import { type KafkaPartitionOffsets, withCommitted } from "./resume.ts";

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
  for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
    for (const { partition, offset } of partitions) {
      // -1: the group has committed nothing for this partition
      if (Number(offset) >= 0) setPosition(committed, topic, partition, Number(offset));
    }
  }
  return committed;
}

/** Each partition's earliest and end offsets (the high watermark), by topic. */
export async function partitionWatermarks(
  admin: Admin,
  topics: readonly string[],
): Promise<Map<string, KafkaPartitionOffsets[]>> {
  const result = new Map<string, KafkaPartitionOffsets[]>();
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    result.set(
      topic,
      offsets.map(({ partition, low, high }) => ({
        partition,
        earliest: Number(low),
        end: Number(high),
      })).sort((a, b) => a.partition - b.partition),
    );
  }
  return result;
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
