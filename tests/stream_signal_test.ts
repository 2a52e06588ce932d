/**
 * SIGINT/SIGTERM end `cdc stream` promptly with exit 0 in every phase: the start-up waits
 * (registry, MySQL, Kafka, a missing topic), the group join after a kill -9 of the group's
 * previous process, a backlog drain, and streaming; and nothing is written after the last
 * committed batch.
 */
import assert from "node:assert/strict";
import { PORTS } from "../tools/stack/config.ts";
import { produceItems } from "./fixtures/produce.ts";
import {
  CdcProcess,
  connectMysql,
  countRows,
  ensureInventoryConnector,
  query,
  STACK,
  STACK_FLAGS,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";
import { waitFor } from "../lib/util/retry.ts";

/** What "promptly" means here: the exit follows the signal within this many ms. */
const PROMPT_MS = 3_000;

/**
 * Sends `signal`, and returns the exit code and how long the exit took. A process still
 * running 30 s later is killed, and the test fails (it would never have stopped).
 */
async function stopTimed(cdc: CdcProcess, signal: Deno.Signal = "SIGTERM") {
  const sent = performance.now();
  cdc.child.kill(signal);
  try {
    await waitFor(`cdc to exit after ${signal}`, () => cdc.exited, 30_000);
  } catch (error) {
    cdc.child.kill("SIGKILL");
    await cdc.done;
    throw new Error(`${(error as Error).message}\n${cdc.stderr}`);
  }
  return { code: (await cdc.done).code, ms: Math.round(performance.now() - sent) };
}

function assertPromptExit(result: { code: number; ms: number }, cdc: CdcProcess, what: string) {
  assert.equal(result.code, 0, `${what}: exit code\n${cdc.stderr}`);
  assert.ok(
    result.ms < PROMPT_MS,
    `${what}: exited ${result.ms} ms after the signal\n${cdc.stderr}`,
  );
}

const closedPort = PORTS.connect + 7;

Deno.test({
  name: "signals: the start-up waits for the registry, MySQL and Kafka end at once, exit 0",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const waits = [
      {
        what: "the schema registry",
        flags: ["--registry-url", `http://127.0.0.1:${closedPort}/apis/ccompat/v7`],
        signal: "SIGTERM",
      },
      { what: "MySQL", flags: ["--mysql-port", String(closedPort)], signal: "SIGINT" },
      {
        what: "Kafka",
        flags: ["--bootstrap-servers", `127.0.0.1:${closedPort}`],
        signal: "SIGTERM",
      },
    ] as const;
    for (const wait of waits) {
      await t.step(`${wait.signal} while waiting for ${wait.what}`, async () => {
        const cdc = new CdcProcess([
          "stream",
          "--table",
          "customers",
          ...STACK_FLAGS,
          ...wait.flags,
          "--wait-timeout",
          "40s",
        ]); // deno-fmt-ignore
        await cdc.waitForLog(new RegExp(`waiting for ${wait.what}`));
        assertPromptExit(await stopTimed(cdc, wait.signal), cdc, wait.what);
        assert.match(cdc.stderr, new RegExp(`${wait.signal}: finishing`));
        assert.doesNotMatch(cdc.stderr, /gave up/);
      });
    }
  },
});

Deno.test({
  name: "signals: SIGTERM while waiting for a missing topic, exit 0",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sink = `cdc_sig_topic_${uniqueSuffix()}`;
    const cdc = new CdcProcess(streamArgs(`missing_${uniqueSuffix()}`, sink));
    const db = await connectMysql();
    try {
      await cdc.waitForLog(/waiting for topic\(s\)/);
      assertPromptExit(await stopTimed(cdc), cdc, "waiting for a topic");
    } finally {
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
    }
  },
});

Deno.test({
  name: "signals: SIGTERM during the group join after a kill -9: exit 0 at once, no rejoin",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const sink = `cdc_sig_join_${uniqueSuffix()}`;
    const db = await connectMysql();
    try {
      const first = new CdcProcess(streamArgs("customers", sink));
      await first.waitForRows(db, sink, "customers_cdc", 4);
      first.child.kill("SIGKILL");
      await first.done;
      const rows = await countRows(db, sink, "customers_cdc");

      // Kafka holds the killed member's place for its session timeout (10 s): the join waits.
      const second = new CdcProcess(streamArgs("customers", sink));
      await second.waitForLog(/streaming dbserver1\.inventory\.customers/);
      assertPromptExit(await stopTimed(second), second, "joining the group");
      assert.doesNotMatch(second.stderr, /joined consumer group/, "stopped during the join");
      assert.equal(await countRows(db, sink, "customers_cdc"), rows, "nothing written after");
    } finally {
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
    }
  },
});

Deno.test({
  name: "signals: SIGTERM during a backlog drain: exit 0 at once, rows match the stored position",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const records = 60_000;
    const database = `sig_${uniqueSuffix()}`;
    const topic = await produceItems(STACK, database, records);

    const sink = `${database}_sink`;
    const db = await connectMysql();
    try {
      // small batches: many commits, so the signal lands mid-drain
      const cdc = new CdcProcess(
        streamArgs("items", sink, "--database", database, "--batch-size", "100"),
      );
      await cdc.waitForRows(db, sink, "items_cdc", 1_000);
      assertPromptExit(await stopTimed(cdc), cdc, "draining a backlog");
      const written = await countRows(db, sink, "items_cdc");
      const [{ next }] = await query<{ next: string }>(
        db,
        `SELECT next_offset AS next FROM \`${sink}\`.__cdc_offsets WHERE topic = ?`,
        [topic],
      );
      assert.ok(written < records, `stopped mid-drain (${written} of ${records} rows)`);
      assert.equal(written, Number(next), "every row written is under the stored position");
      // the last line sums the run up: its events at their average rate (was always "0.0/s")
      const [, events, rate] = cdc.stderr.match(/stopped: (\d+) events \(([\d.]+)\/s\)/) ?? [];
      assert.ok(Number(events) >= written, `stopped line counts the events\n${cdc.stderr}`);
      assert.ok(Number(rate) > 0, `stopped line gives the run's rate\n${cdc.stderr}`);
    } finally {
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
    }
  },
});

Deno.test({
  name: "signals: SIGINT while streaming, exit 0 at once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const sink = `cdc_sig_stream_${uniqueSuffix()}`;
    const db = await connectMysql();
    try {
      const cdc = new CdcProcess(streamArgs("customers", sink));
      await cdc.waitForRows(db, sink, "customers_cdc", 4);
      await cdc.waitForLog(/joined consumer group/);
      assertPromptExit(await stopTimed(cdc, "SIGINT"), cdc, "streaming");
    } finally {
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
    }
  },
});
