/**
 * Transient failures: the Kafka broker and, separately, the sink MariaDB
 * restart while changes flow; the registry is down when the stream starts.
 * The same `cdc stream` process carries on by itself, losing and duplicating
 * nothing.
 */
import assert from "node:assert/strict";
import {
  restartService,
  type ServiceName,
  startService,
  stopService,
} from "../tools/stack/services.ts";
import {
  CdcProcess,
  connectMysql,
  countRows,
  ensureInventoryConnector,
  query,
  STACK,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";
import { waitFor } from "../lib/util/retry.ts";
import { produceItems } from "./fixtures/produce.ts";

const ROWS = 4_000;

/** Inserts ROWS rows while `service` restarts once a quarter of them is in `_cdc`. */
async function survivesRestartOf(service: ServiceName): Promise<void> {
  await ensureInventoryConnector();
  const suffix = uniqueSuffix();
  const table = `restart_${service}_${suffix}`;
  const sink = `cdc_restart_${suffix}`;
  let db = await connectMysql();
  await db.query(`CREATE TABLE inventory.${table} (id INT PRIMARY KEY, v VARCHAR(20))`);
  const cdc = new CdcProcess(streamArgs(table, sink, "--batch-size", "200", "--flush-ms", "100")); // deno-fmt-ignore
  const count = () => countRows(db, sink, `${table}_cdc`);
  try {
    let inserted = 0;
    const insertChunk = async () => {
      const source = await connectMysql("inventory");
      const rows = Array.from(
        { length: 100 },
        (_, i) => [inserted + i + 1, `v${inserted + i + 1}`],
      );
      await source.query(`INSERT INTO ${table} VALUES ?`, [rows]);
      await source.end();
      inserted += rows.length;
    };
    while (inserted < ROWS / 2) await insertChunk();
    await waitFor(
      `${ROWS / 4} rows before the restart`,
      async () => await count() >= ROWS / 4,
      120_000,
    );
    await restartService(service);
    if (service === "mariadb") db = await connectMysql(); // the old connection died with the server
    while (inserted < ROWS) await insertChunk();
    await waitFor(
      `all ${ROWS} rows after the ${service} restart`,
      async () => await count() >= ROWS,
      180_000,
    );
    const [{ n, ids }] = await query<{ n: string; ids: string }>(
      db,
      `SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM \`${sink}\`.\`${table}_cdc\``,
    );
    assert.equal(Number(n), ROWS, "nothing duplicated");
    assert.equal(Number(ids), ROWS, "nothing lost");
    assert.equal(
      await Promise.race([cdc.done.then(() => "exited"), Promise.resolve("running")]),
      "running",
    );
  } finally {
    const status = await cdc.stop("SIGTERM");
    await db.end().catch(() => undefined);
    const cleanup = await connectMysql();
    await cleanup.query(`DROP DATABASE IF EXISTS \`${sink}\``);
    await cleanup.query(`DROP TABLE IF EXISTS inventory.${table}`);
    await cleanup.end();
    assert.equal(status.code, 0, cdc.stderr);
  }
}

Deno.test({
  name: "stream: the Kafka broker restarts mid-stream; the stream resumes by itself",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => survivesRestartOf("kafka"),
});

Deno.test({
  name: "stream: the sink MariaDB restarts mid-stream; the stream resumes by itself",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => survivesRestartOf("mariadb"),
});

Deno.test({
  name: "stream: the registry is down at start; the stream waits, saying so, then proceeds",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const sink = `cdc_registry_${uniqueSuffix()}`;
    const db = await connectMysql();
    await stopService("registry");
    const cdc = new CdcProcess(streamArgs("customers", sink));
    try {
      await cdc.waitForLog(
        new RegExp(`waiting for the schema registry at ${RegExp.escape(STACK.registryUrl)}`),
        30_000,
      );
      await startService("registry");
      await waitFor(
        "customers in customers_cdc",
        async () => await countRows(db, sink, "customers_cdc") >= 4,
        120_000,
      );
    } finally {
      await startService("registry"); // idempotent: a no-op when it already runs
      const status = await cdc.stop("SIGTERM");
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
      assert.equal(status.code, 0, cdc.stderr);
    }
  },
});

Deno.test({
  name: "stream: a sink write retried past the session timeout keeps the group membership",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const records = 2_000; // before the outage, and as many again during it
    const sessionMs = 6_000;
    const database = `hb_${uniqueSuffix()}`;
    await produceItems(STACK, database, records);

    const sink = `${database}_sink`;
    let db = await connectMysql();
    const cdc = new CdcProcess(
      streamArgs(
        "items",
        sink,
        "--database",
        database,
        "--batch-size",
        "200",
        "--session-timeout",
        "6s",
      ),
    ); // deno-fmt-ignore
    try {
      await cdc.waitForRows(db, sink, "items_cdc", 1);
      await stopService("mariadb");
      const stoppedAt = performance.now();
      // records to write while the sink is down (the first ones may all be written already)
      await produceItems(STACK, database, records);
      // the write is retried for longer than the session: heartbeats must go on meanwhile
      await waitFor(
        `a write retried for more than ${sessionMs + 2_000} ms`,
        () => /writing a batch failed/.test(cdc.stderr) && performance.now() - stoppedAt > sessionMs + 2_000,
        30_000,
      ); // deno-fmt-ignore
      await startService("mariadb");
      db = await connectMysql();
      await cdc.waitForRows(db, sink, "items_cdc", 2 * records, 120_000);
      assert.equal(await countRows(db, sink, "items_cdc"), 2 * records, "nothing duplicated");
      assert.equal(cdc.stderr.match(/joined consumer group/g)?.length, 1, `one join\n${cdc.stderr}`);
    } finally {
      await startService("mariadb"); // a no-op when it runs
      const status = await cdc.stop("SIGTERM");
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``).catch(() => undefined);
      await db.end().catch(() => undefined);
      assert.equal(status.code, 0, cdc.stderr);
    }
  },
});
