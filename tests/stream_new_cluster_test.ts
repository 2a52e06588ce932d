/**
 * A first start against a brand-new Kafka cluster: a single KRaft node formatted for this
 * test, on which no consumer group was ever used. Its group coordinator (the
 * `__consumer_offsets` partition of the group) is created and loaded when `cdc stream` first
 * asks for it, answering COORDINATOR_NOT_AVAILABLE or COORDINATOR_LOAD_IN_PROGRESS meanwhile:
 * `cdc` must wait that out like any other start-up wait (it exited 1 on the first start).
 */
import assert from "node:assert/strict";
import { kafkaClient } from "../lib/kafka/client.ts";
import { itemsTopic, produceAll } from "./fixtures/produce.ts";
import { CdcProcess, connectMysql, STACK, streamArgs, uniqueSuffix } from "./helpers.ts";

/** A second stack's port offset: its Kafka node only, beside the running stack. */
const OFFSET = "3100";
const STACK_CLI = new URL("../tools/stack/stack.ts", import.meta.url).pathname;

/** `deno task stack <args>` for the fresh node's own state directory and ports. */
async function stack(dir: string, ...args: string[]): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", STACK_CLI, ...args],
    env: { CDC_STACK_DIR: dir, CDC_STACK_PORT_OFFSET: OFFSET },
  }).output();
  const text = new TextDecoder();
  assert.equal(code, 0, `stack ${args.join(" ")}:\n${text.decode(stdout)}${text.decode(stderr)}`);
}

Deno.test({
  name: "stream: the first start on a new cluster waits for its group coordinator",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cdc-new-cluster-" });
    const bootstrap = `127.0.0.1:${19092 + Number(OFFSET)}`;
    const database = `newcluster_${uniqueSuffix()}`;
    // several processes of their own groups at once: each group's coordinator is created and
    // loaded as one of them first asks for it
    const sinks = Array.from({ length: 4 }, (_, i) => `${database}_sink${i}`);
    const db = await connectMysql();
    const processes: CdcProcess[] = [];
    try {
      await stack(dir, "up", "kafka");
      const addresses = { ...STACK, bootstrapServers: bootstrap };
      const { topic, created } = await itemsTopic(addresses, database);
      const producer = kafkaClient({ brokers: [bootstrap] }, "cdc-test-producer").producer();
      await producer.connect();
      await produceAll(producer, topic, Array.from({ length: 100 }, (_, id) => created(id)));
      await producer.disconnect();

      for (const sink of sinks) {
        processes.push(
          new CdcProcess([
            ...streamArgs("items", sink, "--database", database, "--flush-ms", "100"),
            "--bootstrap-servers",
            bootstrap,
          ]),
        );
      }
      await Promise.all(processes.map((p, i) => p.waitForRows(db, sinks[i], "items_cdc", 100)));
      const waited = processes.flatMap((p) =>
        p.stderr.match(/looking up the committed offsets[^\n]*/g) ?? []
      );
      console.log(`coordinator waits at start-up: ${waited.length}\n${waited.join("\n")}`);
    } finally {
      const statuses = await Promise.all(processes.map((p) => p.stop()));
      await stack(dir, "down", "--wipe").catch((error) => console.error(error));
      await Deno.remove(dir, { recursive: true }).catch(() => undefined);
      for (const sink of sinks) await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
      statuses.forEach((s, i) => assert.equal(s.code, 0, processes[i].stderr));
    }
  },
});
