/**
 * `cdc status` against the stack: with a running and a stopped stream, as text
 * and `--json`, and its exit codes (0 ok, 1 past --max-lag/--max-age or a
 * service it cannot reach, 2 usage).
 */
import assert from "node:assert/strict";
import {
  CdcProcess,
  connectMysql,
  ensureInventoryConnector,
  query,
  runCdc,
  STACK,
  STACK_FLAGS,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";
import { waitFor } from "../lib/util/retry.ts";
import type { StatusReport } from "../lib/ops/status.ts";
import { CONNECTOR_NAME } from "../tools/stack/config.ts";

/** The stack's flags without --registry-url: status reads no schemas. */
const KAFKA_MYSQL_FLAGS = STACK_FLAGS.filter((flag, i, all) =>
  flag !== "--registry-url" && all[i - 1] !== "--registry-url"
);

Deno.test({
  name: "cdc status: a running and a stopped stream, --json, --max-lag, --max-age, exit codes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureInventoryConnector();
    const suffix = uniqueSuffix();
    const table = `status_${suffix}`;
    const sink = `cdc_status_${suffix}`; // also the group id (streamArgs)
    const topic = `dbserver1.inventory.${table}`;
    const db = await connectMysql();
    const statusArgs = (...extra: string[]) => [
      "status",
      "--table",
      table,
      "--sink-database",
      sink,
      "--group-id",
      sink,
      ...KAFKA_MYSQL_FLAGS,
      ...extra,
    ];
    const json = async (...extra: string[]) => {
      const result = await runCdc(statusArgs("--json", ...extra));
      assert.ok(result.code === 0 || result.code === 1, result.stderr);
      return {
        code: result.code,
        stderr: result.stderr,
        report: JSON.parse(result.stdout) as StatusReport,
      };
    };
    let cdc: CdcProcess | undefined;
    try {
      await db.query(`CREATE TABLE inventory.\`${table}\` (id INT PRIMARY KEY)`);
      await db.query(`INSERT INTO inventory.\`${table}\` VALUES (1), (2), (3)`);
      cdc = new CdcProcess(streamArgs(table, sink, "--flush-ms", "100"));
      await cdc.waitForRows(db, sink, `${table}_cdc`, 3);

      // Running: one member holding the partition, caught up, fresh; the connector runs.
      await waitFor(
        "the group to be stable",
        async () => (await json()).report.group.state === "Stable",
      );
      const running = await runCdc(
        statusArgs("--connect-url", STACK.connectUrl, "--max-lag", "0", "--max-age", "10m"),
      );
      assert.equal(running.code, 0, running.stderr);
      assert.match(
        running.stdout,
        new RegExp(
          `^group ${sink}: Stable, 1 member\\(s\\)\\n  cdc-${sink} on .*: ${topic}\\[0\\]$`,
          "m",
        ),
      );
      assert.match(
        running.stdout,
        new RegExp(`^connector ${CONNECTOR_NAME}: RUNNING, task 0 RUNNING$`, "m"),
      );
      assert.match(running.stdout, /^TABLE +PARTITION +STORED +END +LAG +NEWEST SOURCE TS +AGE$/m);
      assert.match(
        running.stdout,
        new RegExp(`^${table}_cdc +0 +3 +3 +0 +\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z +\\d+s$`, "m"),
      );

      const { report } = await json();
      assert.equal(report.group.members.length, 1);
      assert.deepEqual(report.group.members[0].assignment, { [topic]: [0] });
      assert.equal(report.connector, undefined, "no connector without --connect-url");
      const [t] = report.tables;
      assert.deepEqual([t.table, t.topic, t.cdcTable, t.lag], [table, topic, `${table}_cdc`, 0]);
      const [p] = t.partitions;
      assert.deepEqual([p.partition, p.stored, p.earliest, p.end, p.lag, p.newestOffset], [
        0,
        3,
        0,
        3,
        0,
        2,
      ]);
      // the newest __source_ts is the source's commit time of the last insert
      const [{ ts }] = await query<{ ts: string }>(
        db,
        `SELECT __source_ts AS ts FROM \`${sink}\`.\`${table}_cdc\` ORDER BY __offset DESC LIMIT 1`,
      );
      assert.equal(p.newestSourceTs, new Date(`${ts.replace(" ", "T")}Z`).toISOString());
      assert.ok(p.ageSeconds! >= 0 && p.ageSeconds! < 600, `age ${p.ageSeconds}`);

      // Stopped: no member, and changes made meanwhile show as lag.
      assert.equal((await cdc.stop()).code, 0, cdc.stderr);
      await db.query(`INSERT INTO inventory.\`${table}\` VALUES (4), (5)`);
      await waitFor(
        "Debezium to write the two inserts",
        async () => (await json()).report.tables[0].partitions[0].end === 5,
      );
      const stopped = await json("--max-lag", "2");
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.deepEqual([stopped.report.group.state, stopped.report.group.members], ["Empty", []]);
      assert.deepEqual([stopped.report.tables[0].lag, stopped.report.exceeded], [2, []]);
      const text = await runCdc(statusArgs());
      assert.match(
        text.stdout,
        new RegExp(`^group ${sink}: Empty, 0 member\\(s\\) \\(no stream runs\\)$`, "m"),
      );

      // Exit 1, saying which threshold, on stdout (report) and stderr (log).
      const lagging = await runCdc(statusArgs("--max-lag", "1"));
      assert.equal(lagging.code, 1, lagging.stderr);
      assert.match(
        lagging.stdout,
        new RegExp(`EXCEEDED ${table}_cdc: lag 2 records > --max-lag 1`),
      );
      assert.match(
        lagging.stderr,
        new RegExp(`ERR.*exceeded: ${table}_cdc: lag 2 records > --max-lag 1`),
      );
      const old = await json("--max-age", "1ms");
      assert.equal(old.code, 1);
      assert.match(
        old.report.exceeded.join("\n"),
        new RegExp(`^${table}_cdc: newest __source_ts .* old > --max-age 0s$`),
      );

      // A sink that holds nothing yet: everything in Kafka is lag, and no row is too old.
      const other = await runCdc(statusArgs("--sink-database", `${sink}_none`, "--max-age", "1h"));
      assert.equal(other.code, 1, other.stderr);
      assert.match(other.stdout, new RegExp(`^${table}_cdc +0 +- +5 +5 +- +-$`, "m"));
      assert.match(other.stdout, /no row with a __source_ts written yet \(--max-age 1h\)/);

      // Usage errors exit 2; a table whose topic does not exist, or an unreachable Kafka, exit 1.
      assert.equal((await runCdc(statusArgs("--max-lag", "-1"))).code, 2);
      assert.equal((await runCdc(statusArgs("--max-age", "soon"))).code, 2);
      assert.equal((await runCdc(["status", ...KAFKA_MYSQL_FLAGS])).code, 2);
      const missing = await runCdc(statusArgs("--table", "no_such_table"));
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /topic\(s\) dbserver1\.inventory\.no_such_table do not exist/);
      const noKafka = await runCdc(statusArgs("--bootstrap-servers", "127.0.0.1:1"));
      assert.equal(noKafka.code, 1);
      assert.match(noKafka.stderr, /cannot reach Kafka at 127\.0\.0\.1:1/);
    } finally {
      await cdc?.stop();
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.query(`DROP TABLE IF EXISTS inventory.\`${table}\``);
      await db.end();
    }
  },
});
