/**
 * A partition assignment that gives every partition of every topic to one process of the
 * group, the others standing by: what applying source transactions whole needs, since a
 * transaction spans the topics of several tables and the transaction topic. The process that
 * holds the partitions keeps them when others join (it says so in its member metadata); when
 * it leaves or dies, the process that joined first takes over.
 *
 * Every process of a group must assign alike: a process without it in the same group is
 * refused by the broker (INCONSISTENT_GROUP_PROTOCOL).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  AssignerProtocol,
  type GroupMember,
  type GroupMemberAssignment,
  type PartitionAssigner,
} from "kafkajs";

/** The protocol's name, as the broker compares it between the group's members. */
export const ONE_PROCESS_PROTOCOL = "cdc-one-process";

/** What a member tells the others when it joins. */
export interface MemberState {
  /** It holds the group's partitions now. */
  active: boolean;
  /** When it started (ms since the epoch): the earliest takes over. */
  since: number;
}

/** The member that gets every partition: the active one, else the one that started first. */
export function chooseMember(members: readonly { memberId: string; state: MemberState }[]) {
  return [...members].sort((a, b) =>
    Number(b.state.active) - Number(a.state.active) || a.state.since - b.state.since ||
    a.memberId.localeCompare(b.memberId)
  )[0]?.memberId;
}

/** The assigner, for a process whose state `state()` tells at each join. */
export function oneProcessAssigner(state: () => MemberState): PartitionAssigner {
  return ({ cluster }) => ({
    name: ONE_PROCESS_PROTOCOL,
    version: 0,
    assign({ members, topics }: { members: GroupMember[]; topics: string[] }) {
      const chosen = chooseMember(members.map((m) => ({
        memberId: m.memberId,
        state: memberState(m.memberMetadata),
      })));
      const assignment = Object.fromEntries(
        topics.map((topic) => [
          topic,
          cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId),
        ]),
      );
      return Promise.resolve(members.map(({ memberId }): GroupMemberAssignment => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: memberId === chosen ? assignment : {},
          userData: Buffer.alloc(0),
        }),
      })));
    },
    protocol({ topics }: { topics: string[] }) {
      return {
        name: ONE_PROCESS_PROTOCOL,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 0,
          topics,
          userData: Buffer.from(JSON.stringify(state())),
        }),
      };
    },
  });
}

/** A member's state from its metadata; an unreadable one counts as a newcomer. */
function memberState(metadata: Buffer): MemberState {
  try {
    const { userData } = AssignerProtocol.MemberMetadata.decode(metadata)!;
    const state = JSON.parse(userData.toString());
    return { active: state.active === true, since: Number(state.since) || Infinity };
  } catch {
    return { active: false, since: Infinity };
  }
}
