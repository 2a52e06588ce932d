/**
 * Cluster operations kafkajs cannot do (it has no partition reassignment and no leader
 * election), through Kafka's own tools on the stack's pinned classpath, as an operator runs
 * `kafka-reassign-partitions` and `kafka-leader-election`. The tools speak the admin protocol,
 * so they work on brokers of every version the stack runs.
 *
 * @module
 */

import { BOOTSTRAP } from "./config.ts";
import { kafkaTool } from "./services.ts";
import { steadyBackoff, waitFor } from "../../lib/util/retry.ts";

/** A partition and the brokers it should live on, the preferred leader first. */
export interface PartitionReplicas {
  topic: string;
  partition: number;
  replicas: number[];
}

const REASSIGN = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand";
const ELECT = "org.apache.kafka.tools.LeaderElectionCommand";

/** Runs `use(file)` with `json` in a temporary file, the tools' way of taking a plan. */
async function withJsonFile<T>(json: unknown, use: (file: string) => Promise<T>): Promise<T> {
  const file = await Deno.makeTempFile({ prefix: "cdc-kafka-admin-", suffix: ".json" });
  try {
    await Deno.writeTextFile(file, JSON.stringify(json));
    return await use(file);
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/**
 * Moves `plan`'s partitions to their replicas (`kafka-reassign-partitions --execute`) and
 * returns once the tool's `--verify` says every one is done. A leader left out of its new
 * replicas hands leadership to the first of them that is in sync.
 */
export function reassignPartitions(
  plan: readonly PartitionReplicas[],
  timeoutMs = 120_000,
): Promise<void> {
  const json = {
    version: 1,
    partitions: plan.map(({ topic, partition, replicas }) => ({ topic, partition, replicas })),
  };
  return withJsonFile(json, async (file) => {
    const args = ["--bootstrap-server", BOOTSTRAP, "--reassignment-json-file", file];
    await kafkaTool(REASSIGN, [...args, "--execute"]);
    let last = "";
    await waitFor(
      `the reassignment of ${plan.length} partition(s) to complete`,
      async () => {
        last = await kafkaTool(REASSIGN, [...args, "--verify"]);
        return !/still in progress|failed/i.test(last);
      },
      timeoutMs,
      { backoff: steadyBackoff(500) }, // each probe starts a JVM
    ).catch((error) => {
      throw new Error(`${error.message}\n${last}`);
    });
    if (!/is completed/.test(last)) throw new Error(`reassignment: ${last}`);
  });
}

/**
 * A preferred leader election for `partitions` (`kafka-leader-election --election-type
 * PREFERRED`): each goes back to the first of its replicas, if that one is in sync. Returns the
 * tool's report; partitions whose preferred replica already leads are no error.
 */
export function electPreferredLeaders(
  partitions: readonly { topic: string; partition: number }[],
): Promise<string> {
  const json = { partitions: partitions.map(({ topic, partition }) => ({ topic, partition })) };
  return withJsonFile(json, (file) =>
    kafkaTool(ELECT, [
      "--bootstrap-server",
      BOOTSTRAP,
      "--election-type",
      "PREFERRED",
      "--path-to-json-file",
      file,
    ]));
}
