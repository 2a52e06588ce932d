/**
 * Two `cdc stream` processes in one consumer group share the tables' partitions;
 * when one is killed, the other takes its partitions over (a Kafka rebalance) and
 * `_cdc` still holds every change exactly once.
 */
import assert from "node:assert/strict";
import type mysql from "mysql2/promise";
import {
  CdcProcess,
  connectMysql,
  connectorStatus,
  ensureInventoryConnector,
  query,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";
import { CONNECTOR_NAME } from "../tools/stack/config.ts";
import { errorMessage } from "../lib/util/errors.ts";
import { waitFor } from "../lib/util/retry.ts";

const ROWS = 3_000;
const PER_STATEMENT = 100;

/** The topics of the process's latest assignment (its last "joined consumer group" line). */
function assigned(cdc: CdcProcess): string[] {
  const joins = [...cdc.stderr.matchAll(/joined consumer group \S+: (.*)$/gm)];
  const last = joins.at(-1)?.[1] ?? "";
  return [...last.matchAll(/([\w.]+)\[[\d,]+\]/g)].map((m) => m[1]).sort();
}

/**
 * Two processes of `mode` share a group over two tables while rows are inserted and
 * updated; one is killed; `verify` checks each table's target once the survivor is done.
 */
async function takeOver(
  mode: string,
  verify: (db: mysql.Connection, sink: string, table: string) => Promise<void>,
): Promise<void> {
  await ensureInventoryConnector();
  const suffix = uniqueSuffix();
  const tables = [`grp_a_${suffix}`, `grp_b_${suffix}`];
  const sink = `cdc_group_${suffix}`;
  const db = await connectMysql("inventory");
  for (const table of tables) {
    await query(db, `CREATE TABLE ${table} (id INT PRIMARY KEY, note VARCHAR(100) NOT NULL)`);
    await query(db, `INSERT INTO ${table} VALUES (0, 'first')`); // creates the topic
  }
  const args = streamArgs(tables, sink, "--flush-ms", "100", "--mode", mode);
  const first = new CdcProcess(args);
  let second: CdcProcess | undefined;
  try {
    // the topics appear with the inserts above (the connector's snapshot is through)
    await first.waitForLog(/streaming /, 120_000);
    second = new CdcProcess(args);
    await second.waitForLog(/streaming /);

    const writing = (async () => {
      for (let start = 1; start <= ROWS; start += PER_STATEMENT) {
        for (const table of tables) {
          const rows = Array.from(
            { length: PER_STATEMENT },
            (_, i) => [start + i, `row ${start + i}`],
          );
          await db.query(`INSERT INTO ${table} (id, note) VALUES ?`, [rows]);
          // changes that a replay would undo in a mirror: each row's note grows
          await db.query(`UPDATE ${table} SET note = CONCAT(note, '+') WHERE id < ?`, [start]);
        }
      }
    })();
    // Kafka splits the two single-partition topics between the two processes.
    const survivor = second;
    await waitFor("one table's partition on each process", () => {
      const [a, b] = [assigned(first), assigned(survivor)];
      return a.length === 1 && b.length === 1 && a[0] !== b[0];
    }, 60_000);
    first.child.kill("SIGKILL");
    assert.equal((await first.done).signal, "SIGKILL");
    await writing;
    await waitFor(
      "the survivor to take both partitions over",
      () => assigned(survivor).length === 2,
      60_000,
    );

    for (const table of tables) await verify(db, sink, table);
  } catch (error) {
    // what each process did is what tells a stall from a loss (or a connector that stalled)
    console.error(`the first process's log:\n${first.stderr}`);
    if (second) console.error(`the second process's log:\n${second.stderr}`);
    console.error(
      `the inventory connector: ${
        JSON.stringify(await connectorStatus(CONNECTOR_NAME).catch(errorMessage))
      }`,
    );
    throw error;
  } finally {
    const status = await second?.stop("SIGTERM");
    await first.stop("SIGKILL");
    await query(db, `DROP DATABASE IF EXISTS \`${sink}\``);
    for (const table of tables) await query(db, `DROP TABLE IF EXISTS ${table}`);
    await db.end();
    if (second && status) assert.equal(status.code, 0, second.stderr);
  }
}

Deno.test({
  name: "stream: two processes share a group; one is killed, the other takes over, nothing lost",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    takeOver("history", async (db, sink, table) => {
      const inserts = async () =>
        (await query<{ n: string; ids: string }>(
          db,
          `SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM \`${sink}\`.\`${table}_cdc\`
            WHERE (__op = 'c' OR (id = 0 AND __op = 'r'))
              AND note = IF(id = 0, 'first', CONCAT('row ', id))`,
        ))[0];
      // Row 0 creates the topic: when this test is the first to register the inventory
      // connector, its snapshot reads row 0 (op r) instead of streaming its insert (op c).
      // A failed query counts as not yet, and the deadline's error names the last one.
      let seen = { n: "none yet", ids: "" };
      await waitFor(
        `all ${ROWS + 1} inserts of ${table} in ${table}_cdc`,
        async () => Number((seen = await inserts()).n) >= ROWS + 1,
        120_000,
      ).catch((error) => {
        throw new Error(`${error.message}; last count ${seen.n} (${seen.ids} ids)`, {
          cause: error,
        });
      });
      const { n, ids } = await inserts();
      assert.equal(Number(n), ROWS + 1, `${table}: every insert once, with its values`);
      assert.equal(Number(ids), ROWS + 1);
    }),
});

Deno.test({
  name:
    "stream --mode mirror: two processes share a group; one is killed; the mirror equals the source",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    takeOver("mirror", async (db, sink, table) => {
      const target = `\`${sink}\`.\`${table}_mirror\``;
      const equal = `SELECT COUNT(*) AS n FROM ${table} s JOIN ${target} m
        ON m.id = s.id AND m.note = s.note`;
      await waitFor(`${target} to equal ${table}`, async () => {
        const [{ n }] = await query<{ n: string }>(db, equal).catch(() => [{ n: "0" }]);
        const [{ all }] = await query<{ all: string }>(
          db,
          `SELECT COUNT(*) AS \`all\` FROM ${target}`,
        )
          .catch(() => [{ all: "-1" }]);
        return Number(n) === ROWS + 1 && Number(all) === ROWS + 1;
      }, 120_000);
    }),
});

Deno.test({
  name: "stream: restarted after a kill -9, it gets its partition after --session-timeout",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const sink = `cdc_rejoin_${uniqueSuffix()}`;
    const args = streamArgs("customers", sink, "--session-timeout", "6s");
    const db = await connectMysql();
    try {
      const first = new CdcProcess(args);
      await first.waitForRows(db, sink, "customers_cdc", 4);
      await first.waitForLog(/joined consumer group/);
      first.child.kill("SIGKILL");
      await first.done;
      const killed = performance.now();
      const second = new CdcProcess(args);
      try {
        await second.waitForLog(/joined consumer group .*: assigned/, 30_000);
        const ms = performance.now() - killed;
        // Kafka frees the killed member's partition after its session timeout (the default
        // 10 s took 10.0 s here; 6 s took 6.0 s)
        assert.ok(ms < 9_000, `rejoined ${Math.round(ms)} ms after the kill`);
      } finally {
        assert.equal((await second.stop()).code, 0, second.stderr);
      }
    } finally {
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
    }
  },
});
