/**
 * One fault on the three-node cluster while two `cdc stream` processes of one group stream a
 * topic of 6 partitions (replication factor 3) under a steady feed: afterwards every record is
 * in `_cdc` exactly once, the stored positions are the partitions' end offsets, neither process
 * exited, and the stall (the longest gap in the sink's row growth from the fault on) is printed.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { createTopic } from "../../lib/kafka/admin.ts";
import { errorMessage } from "../../lib/util/errors.ts";
import { FinalError, waitFor } from "../../lib/util/retry.ts";
import { KAFKA_NODES } from "../../tools/stack/config.ts";
import { itemsTopic } from "../fixtures/produce.ts";
import { CdcProcess, connectMysql, query, STACK, streamArgs, uniqueSuffix } from "../helpers.ts";
import {
  clusterAdmin,
  ensureClusterUp,
  layout,
  type PartitionLayout,
  waitForInSync,
} from "./cluster.ts";
import { assertDeliveredOnce, assertRunning } from "./delivery.ts";
import { Feed } from "./feed.ts";
import { SinkGrowth } from "./sink_growth.ts";

/** Partitions of the streamed topic, and its replicas. */
export const PARTITIONS = 6;
const REPLICATION_FACTOR = 3;

/** What a fault works with. */
export interface FaultContext {
  admin: Admin;
  topic: string;
  /** Rows of the sink's `_cdc` table that match `condition` (SQL, e.g. `__partition > 5`). */
  sinkRows(condition: string): Promise<number>;
  /** The topic's partitions as the cluster has them now. */
  layout(): Promise<PartitionLayout[]>;
  /** Waits until every replica of the topic and of the group offsets is in sync. */
  inSync(): Promise<void>;
}

/** A fault, and what comes before it unmeasured. */
export interface Scenario {
  /** For the printed line: `kill -9 of the busiest leader`. */
  name: string;
  /** While streaming, before the measured fault (e.g. moving leaders off preferred replicas). */
  prepare?(context: FaultContext): Promise<void>;
  /** The fault; the stall is measured from its start. */
  fault(context: FaultContext): Promise<void>;
}

/** The topics of the process's latest assignment (its last "joined consumer group" line). */
function assignedPartitions(cdc: CdcProcess): number {
  const joins = [...cdc.stderr.matchAll(/joined consumer group \S+: (.*)$/gm)];
  const last = joins.at(-1)?.[1] ?? "";
  return [...last.matchAll(/\[([\d,]+)\]/g)].reduce((n, m) => n + m[1].split(",").length, 0);
}

/** What the feed and the processes were doing, for a failure's message (status lines left out). */
function diagnosis(feed: Feed, processes: readonly CdcProcess[]): string {
  const tail = (text: string) =>
    text.split("\n").filter((line) => !line.includes("cdc.status")).slice(-40).join("\n");
  return [
    `feed: ${feed.sent} records acknowledged${feed.failure ? `, failed: ${feed.failure}` : ""}`,
    ...processes.map((cdc, i) =>
      `--- cdc ${i + 1}${cdc.exited ? " (exited)" : ""}:\n${tail(cdc.stderr)}`
    ),
  ].join("\n");
}

/**
 * A test of `scenario` ({@linkcode streamThroughFault}); ignored on a stack of fewer than three
 * Kafka nodes, such as the one `deno task test` runs on (`deno test --ignore` does not leave a
 * folder out when several are given).
 */
export function clusterTest(name: string, scenario: Scenario): void {
  Deno.test({
    name,
    ignore: KAFKA_NODES < 3,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => streamThroughFault(scenario),
  });
}

/** Runs `scenario`'s fault while streaming and checks exactly-once delivery around it. */
export async function streamThroughFault(scenario: Scenario): Promise<void> {
  const started = performance.now();
  const admin = await clusterAdmin();
  await ensureClusterUp(admin);
  const database = `cluster_${uniqueSuffix()}`;
  const sink = `${database}_sink`;
  const { topic, created } = await itemsTopic(STACK, database);
  await createTopic(admin, {
    topic,
    numPartitions: PARTITIONS,
    replicationFactor: REPLICATION_FACTOR,
  });
  const db = await connectMysql();
  const context: FaultContext = {
    admin,
    topic,
    sinkRows: async (condition) =>
      Number(
        (await query<{ n: string }>(
          db,
          `SELECT COUNT(*) AS n FROM \`${sink}\`.items_cdc WHERE ${condition}`,
        ).catch(() => [{ n: "0" }]))[0].n,
      ),
    layout: () => layout(admin, topic),
    inSync: () => waitForInSync(admin, [topic, "__consumer_offsets"]),
  };
  await context.inSync();

  const feed = new Feed(topic, created);
  const args = streamArgs("items", sink, "--database", database, "--flush-ms", "100");
  const processes = [new CdcProcess(args), new CdcProcess(args)];
  const growth = new SinkGrowth(db, sink, "items_cdc");
  const rowsGrowBy = async (rows: number, what: string) => {
    const target = growth.rows + rows;
    await waitFor(`${what}: ${target} rows in ${sink}.items_cdc`, () => {
      assertRunning(processes);
      if (feed.failure) throw new FinalError(`the feed failed: ${feed.failure.message}`);
      return growth.rows >= target;
    }, 180_000);
  };
  try {
    await feed.start();
    await waitFor("the two processes to share the partitions", () => {
      assertRunning(processes);
      return processes.every((cdc) => assignedPartitions(cdc) > 0) &&
        processes.reduce((n, cdc) => n + assignedPartitions(cdc), 0) === PARTITIONS;
    }, 120_000);
    await rowsGrowBy(400, "streaming");
    if (scenario.prepare) {
      await scenario.prepare(context);
      await rowsGrowBy(400, "streaming after the preparation");
    }
    // the sink's usual cadence, to compare the stall with: the last 400 rows before the fault
    const calmFrom = performance.now();
    await rowsGrowBy(400, "streaming before the fault");

    const faultStart = performance.now();
    await scenario.fault(context);
    const faultMs = performance.now() - faultStart;
    await rowsGrowBy(600, "streaming after the fault");
    const total = await feed.stop();
    const fedUntil = performance.now();

    const duplicated = await assertDeliveredOnce(db, sink, topic, total, processes);
    assertRunning(processes);
    const stall = growth.longestGap(faultStart, fedUntil);
    const before = growth.longestGap(calmFrom, faultStart);
    const partitions = (await context.layout()).length;
    console.log(
      `[cluster] ${scenario.name}: stall ${(stall / 1000).toFixed(1)} s (longest gap in the ` +
        `sink's row growth from the fault's start while fed; before it: ` +
        `${(before / 1000).toFixed(1)} s); fault ${(faultMs / 1000).toFixed(1)} s; ${total} ` +
        `records over ${partitions} partitions (${duplicated} written twice by the feed's ` +
        `retries); test ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  } catch (error) {
    throw new Error(`${errorMessage(error)}\n${diagnosis(feed, processes)}`, { cause: error });
  } finally {
    await feed.stop().catch(() => {});
    await growth.stop();
    for (const cdc of processes) await cdc.stop();
    await query(db, `DROP DATABASE IF EXISTS \`${sink}\``);
    await db.end();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    // the next test starts from a whole cluster, whatever this one left
    await ensureClusterUp(admin);
    await admin.disconnect();
  }
}
