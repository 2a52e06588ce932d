/**
 * Source transactions applied whole (`--transactions`), proven the way a reader of the sink
 * would notice: a bank on the source moves money between two rows of `accounts` and records
 * each move in `transfers`, one source transaction each, so the balances always sum to what
 * they started at and the ledger explains every balance. While it runs, `cdc` streams it in
 * mirror and in scd2 mode, with and without `--transactions`, each killed again and again
 * (SIGKILL, SIGTERM; the transactional mirror as two processes, active and standby, so that
 * a kill -9 of the active one is a fail-over), and a reader checks every sink continuously
 * in consistent snapshots (scd2: its current versions, and "as of" an instant it holds, picked
 * at random). With `--transactions` no snapshot may break either rule; without, some must
 * (else the test shows nothing).
 */
import assert from "node:assert/strict";
import type mysql from "mysql2/promise";
import { capturedStreamArgs, type CdcProcess, connectMysql, query, STACK } from "./helpers.ts";
import { kafkaClient } from "../lib/kafka/client.ts";
import { Scratch } from "./fixtures/scratch.ts";
import { FinalError, waitFor } from "../lib/util/retry.ts";

const ACCOUNTS = 20;
const START_BALANCE = 1_000;
const TRANSFERS = 500;

/** The four sinks: a mode, with or without --transactions. */
const SINKS = [
  { name: "mirror_tx", mode: "mirror", transactions: true, processes: 2 },
  { name: "scd2_tx", mode: "scd2", transactions: true, processes: 1 },
  { name: "mirror_plain", mode: "mirror", transactions: false, processes: 1 },
  { name: "scd2_plain", mode: "scd2", transactions: false, processes: 1 },
] as const;
type Sink = typeof SINKS[number];

/** What a snapshot of a sink breaks: the constant sum, or the ledger; undefined: neither. */
async function violation(db: mysql.Connection, database: string, sink: Sink) {
  const q = `\`${database}\``;
  await db.query("START TRANSACTION WITH CONSISTENT SNAPSHOT");
  try {
    if (sink.mode === "mirror") {
      return await brokenRule(db, `${q}.accounts_mirror`, `${q}.transfers_mirror`);
    }
    // scd2: the current versions, and the state "as of" an instant the sink holds, picked at
    // random, as a reader would ask for either
    const current = (table: string) =>
      `(SELECT * FROM ${q}.${table}_scd2 WHERE __deleted = 0 AND __valid_to IS NULL)`;
    const broken = await brokenRule(db, current("accounts"), current("transfers"));
    if (broken) return `now: ${broken}`;
    const [{ at }] = await query<{ at: string | null }>(
      db,
      `SELECT CAST(__valid_from AS CHAR) AS at FROM ${q}.accounts_scd2 ORDER BY RAND() LIMIT 1`,
    );
    if (at === null || at === undefined) return undefined;
    const asOf = (table: string) =>
      `(SELECT * FROM ${q}.${table}_scd2 WHERE __deleted = 0 AND __valid_from <= '${at}'
          AND (__valid_to IS NULL OR __valid_to > '${at}'))`;
    const past = await brokenRule(db, asOf("accounts"), asOf("transfers"));
    return past && `as of ${at}: ${past}`;
  } finally {
    await db.query("COMMIT");
  }
}

/** Which rule the balances in `accounts` and the ledger in `transfers` break, if any. */
async function brokenRule(db: mysql.Connection, accounts: string, transfers: string) {
  const [{ n, total }] = await query<{ n: string; total: string }>(
    db,
    `SELECT COUNT(*) AS n, COALESCE(SUM(balance), 0) AS total FROM ${accounts} a`,
  );
  if (Number(n) !== ACCOUNTS) return undefined; // the snapshot is not in yet
  if (Number(total) !== ACCOUNTS * START_BALANCE) return `balances sum to ${total}`;
  const [{ wrong }] = await query<{ wrong: string }>(
    db,
    `SELECT COUNT(*) AS wrong FROM ${accounts} a LEFT JOIN (
       SELECT id, SUM(delta) AS delta FROM (
         SELECT src AS id, -amount AS delta FROM ${transfers} s
         UNION ALL SELECT dst, amount FROM ${transfers} d) moves GROUP BY id
     ) ledger ON ledger.id = a.id
     WHERE a.balance <> ${START_BALANCE} + COALESCE(ledger.delta, 0)`,
  );
  return Number(wrong) > 0 ? `${wrong} balances the ledger does not explain` : undefined;
}

Deno.test({
  name:
    "transactions: a sink never shows part of a transaction with --transactions, and does without",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using scratch = await Scratch.open("bank");
    const db = scratch.db;
    const source = await scratch.database();
    await db.query(`CREATE TABLE ${source}.accounts (id INT PRIMARY KEY, balance BIGINT)`);
    await db.query(
      `CREATE TABLE ${source}.transfers (id INT AUTO_INCREMENT PRIMARY KEY, src INT, dst INT,
        amount BIGINT)`,
    );
    const ids = Array.from({ length: ACCOUNTS }, (_, i) => i + 1);
    await db.query(
      `INSERT INTO ${source}.accounts VALUES ${ids.map((id) => `(${id}, ${START_BALANCE})`)}`,
    );
    await scratch.capture(source, { "provide.transaction.metadata": "true" });
    // the connector's snapshot first: a transfer committed before it would be in the snapshot
    // (two account updates fewer in the topic than the catch-up below waits for)
    const admin = kafkaClient({ brokers: [STACK.bootstrapServers] }, "cdc-test-bank").admin();
    await admin.connect();
    try {
      await waitFor("the connector's snapshot of the accounts", async () => {
        const [end] = await admin.fetchTopicOffsets(`${source}.${source}.accounts`)
          .catch(() => [{ high: "0" }]);
        return Number(end.high) >= ACCOUNTS;
      }, 120_000);
    } finally {
      await admin.disconnect();
    }
    // the bank: each transfer one source transaction
    let seed = 42;
    const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    const transfer = async () => {
      const src = 1 + Math.floor(rnd() * ACCOUNTS);
      const dst = 1 + (src + Math.floor(rnd() * (ACCOUNTS - 1))) % ACCOUNTS;
      const amount = 1 + Math.floor(rnd() * 50);
      await db.query("START TRANSACTION");
      await db.query(`UPDATE ${source}.accounts SET balance = balance - ? WHERE id = ?`, [
        amount,
        src,
      ]);
      await db.query(`UPDATE ${source}.accounts SET balance = balance + ? WHERE id = ?`, [
        amount,
        dst,
      ]);
      await db.query(`INSERT INTO ${source}.transfers (src, dst, amount) VALUES (?, ?, ?)`, [
        src,
        dst,
        amount,
      ]);
      await db.query("COMMIT");
    };
    // the first makes the transfers' topic and the transaction topic, which cdc waits for
    await transfer();

    const args = (sink: Sink) =>
      capturedStreamArgs(
        ["accounts", "transfers"],
        source,
        scratch.name(sink.name),
        "--mode",
        sink.mode,
        "--group-id",
        scratch.name(sink.name),
        "--session-timeout",
        "6s",
        // every event its own sink transaction where transactions are not kept whole
        "--batch-size",
        "1",
        ...(sink.transactions ? ["--transactions"] : []),
      );
    // killed at random: their exit codes say nothing
    const start = (sink: Sink) => scratch.stream(args(sink), { exitCode: undefined });
    const running = new Map<Sink, CdcProcess[]>(
      SINKS.map((sink) => [sink, Array.from({ length: sink.processes }, () => start(sink))]),
    );
    // every process ever started, for what they said when the test fails
    const started = new Map<Sink, CdcProcess[]>(
      [...running].map(([sink, processes]) => [sink, [...processes]]),
    );

    // the snapshot of the accounts is in every sink before money moves
    await waitFor("every sink to hold the accounts", async () => {
      for (const [sink, processes] of running) {
        for (const p of processes) {
          if (p.exited) throw new FinalError(`cdc (${sink.name}) exited:\n${p.stderr}`);
        }
      }
      const counts = await Promise.all(SINKS.map((sink) =>
        query<{ a: string; t: string }>(
          db,
          `SELECT (SELECT COUNT(*) FROM \`${scratch.name(sink.name)}\`.accounts_${sink.mode}) AS a,
                  (SELECT COUNT(*) FROM \`${
            scratch.name(sink.name)
          }\`.transfers_${sink.mode}) AS t`,
        ).then(([r]) => Number(r.a) >= ACCOUNTS && Number(r.t) >= 1, () => false)
      ));
      return counts.every(Boolean);
    }, 120_000);

    const checks = new Map<Sink, { snapshots: number; violations: string[] }>(
      SINKS.map((sink) => [sink, { snapshots: 0, violations: [] }]),
    );
    let reading = true;
    const reader = (async () => {
      const connection = await connectMysql();
      try {
        while (reading) {
          for (const sink of SINKS) {
            const found = await violation(connection, scratch.name(sink.name), sink)
              .catch((error) => reading ? Promise.reject(error) : undefined);
            const check = checks.get(sink)!;
            check.snapshots++;
            if (found) check.violations.push(found);
          }
        }
      } finally {
        await connection.end();
      }
    })();

    // the rest, the processes killed as it runs
    let kills = 0;
    for (let i = 1; i < TRANSFERS; i++) {
      await transfer();
      if (i % 60 === 59) {
        // one process of a sink killed, by turns, and started again
        const sink = SINKS[kills % SINKS.length];
        const processes = running.get(sink)!;
        await processes.shift()!.stop(kills % 3 === 2 ? "SIGTERM" : "SIGKILL");
        const restarted = start(sink);
        processes.push(restarted);
        started.get(sink)!.push(restarted);
        kills++;
      }
    }

    try {
      await catchUp();
    } finally {
      reading = false;
      await reader;
    }
    await report();

    /** Every sink catches up: the stored positions reach the tables' topics' ends. */
    async function catchUp() {
      const [{ accountsEnd }] = await query<{ accountsEnd: string }>(
        db,
        `SELECT COUNT(*) + ${TRANSFERS * 2} AS accountsEnd FROM ${source}.accounts`,
      );
      for (const sink of SINKS) {
        await waitFor(`${sink.name} to catch up`, async () => {
          const [row] = await query<{ a: string | null; t: string | null }>(
            db,
            `SELECT
             (SELECT next_offset FROM \`${scratch.name(sink.name)}\`.__cdc_offsets
               WHERE topic = '${source}.${source}.accounts') AS a,
             (SELECT next_offset FROM \`${scratch.name(sink.name)}\`.__cdc_offsets
               WHERE topic = '${source}.${source}.transfers') AS t`,
          ).catch(() => [{ a: null, t: null }]);
          return Number(row.a) >= Number(accountsEnd) && Number(row.t) >= TRANSFERS;
        }, 180_000).catch((error) => {
          throw new Error(`${error.message}\n${said(sink)}`);
        });
      }
    }

    /** How many source transactions `sink`'s processes applied not whole, by reason. */
    function notWhole(sink: Sink): string[] {
      const reasons = new Map<string, number>();
      for (const p of started.get(sink)!) {
        for (const [, reason] of p.stderr.matchAll(/applied as it is, \d+ change\(s\): (.*)/g)) {
          const why = reason.replace(/\d+/g, "N");
          reasons.set(why, (reasons.get(why) ?? 0) + 1);
        }
      }
      return [...reasons].map(([why, n]) => `${n} (${why})`);
    }

    /** What each process of `sink` logged beyond its status lines, and its last status. */
    function said(sink: Sink): string {
      return started.get(sink)!.map((p, i) => {
        const lines = p.stderr.split("\n");
        const status = lines.filter((line) => line.includes("cdc.status")).at(-1) ?? "";
        const other = lines.filter((line) => line && !line.includes("cdc.status"));
        return `process ${i + 1}${p.exited ? " (stopped)" : ""}:\n${
          [...other.slice(-40), status].join("\n")
        }`;
      }).join("\n---\n");
    }

    async function report() {
      const summary = SINKS.map((sink) => {
        const { snapshots, violations } = checks.get(sink)!;
        const forced = sink.transactions
          ? `; ${notWhole(sink).join("; ") || "none"} not whole`
          : "";
        return `${sink.name}: ${violations.length} of ${snapshots} snapshots broke an invariant` +
          (violations.length ? ` (e.g. ${violations[0]})` : "") + forced;
      });
      console.log(`${kills} kills\n${summary.join("\n")}`);
      for (const sink of SINKS) {
        const { snapshots, violations } = checks.get(sink)!;
        assert.ok(snapshots > 20, `${sink.name}: only ${snapshots} snapshots read`);
        if (sink.transactions) {
          assert.deepEqual(violations, [], `${sink.name}\n${said(sink)}`);
          // every END is in the topic and every change arrives, restarts or not: none may be
          // applied "as it is" (that would be atomic only by luck)
          assert.deepEqual(notWhole(sink), [], `${sink.name}\n${said(sink)}`);
        } else {
          assert.ok(
            violations.length > 0,
            `${sink.name}: no violation seen without --transactions`,
          );
        }
      }
      // and in the end every mirror equals the source
      for (const sink of SINKS.filter((s) => s.mode === "mirror")) {
        const [{ differ }] = await query<{ differ: string }>(
          db,
          `SELECT COUNT(*) AS differ FROM ${source}.accounts s
           LEFT JOIN \`${scratch.name(sink.name)}\`.accounts_mirror m USING (id)
          WHERE NOT (s.balance <=> m.balance)`,
        );
        assert.equal(Number(differ), 0, `${sink.name} equals the source`);
      }
    }
  },
});

Deno.test({
  name:
    "transactions: a transaction larger than --transaction-buffer is applied in parts, none lost",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using scratch = await Scratch.open("bigtx");
    const db = scratch.db;
    const source = await scratch.database();
    await db.query(`CREATE TABLE ${source}.items (id INT PRIMARY KEY, note VARCHAR(100))`);
    await db.query(`CREATE TABLE ${source}.log (id INT PRIMARY KEY)`);
    await db.query(`INSERT INTO ${source}.log VALUES (0)`);
    await scratch.capture(source, { "provide.transaction.metadata": "true" });
    const ROWS = 30_000;
    // one source transaction: 30,000 rows of items and one of log
    await db.query("START TRANSACTION");
    for (let from = 1; from <= ROWS; from += 5_000) {
      const values = Array.from({ length: 5_000 }, (_, i) => `(${from + i}, 'row ${from + i}')`);
      await db.query(`INSERT INTO ${source}.items VALUES ${values}`);
    }
    await db.query(`INSERT INTO ${source}.log VALUES (1)`);
    await db.query("COMMIT");
    // a second one, so that the first's END is followed by another transaction
    await db.query(`INSERT INTO ${source}.log VALUES (2)`);

    const run = async (sink: string, buffer: string) => {
      const cdc = scratch.stream(capturedStreamArgs(
        ["items", "log"],
        source,
        scratch.name(sink),
        "--transactions",
        "--transaction-buffer",
        buffer,
      ));
      await cdc.waitForRows(db, scratch.name(sink), "items_cdc", ROWS, 120_000);
      await cdc.waitForRows(db, scratch.name(sink), "log_cdc", 3);
      assert.equal((await cdc.stop()).code, 0, cdc.stderr);
      return cdc.stderr;
    };
    const small = await run("small", "1MiB");
    assert.match(small, /applied as it is, \d+ change\(s\): more than 1048576 bytes of changes/);
    const large = await run("large", "256MiB");
    assert.doesNotMatch(large, /applied as it is/);
    assert.match(
      large,
      /[1-9]\d* source transactions whole, 0 not/,
    );
  },
});
