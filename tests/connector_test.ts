/**
 * `cdc connector` against the real Kafka Connect worker of the local stack:
 * idempotent registration, every lifecycle verb, and the failures operators
 * meet (wrong password, a task failing later, Connect unreachable).
 */
import assert from "node:assert/strict";
import { PORTS, SOURCE_DB } from "../tools/stack/config.ts";
import { stackRegisterFlags } from "../tools/stack/connector.ts";
import { kafkaClient } from "../lib/kafka/client.ts";
import {
  connectMysql,
  connectorStatus,
  deleteConnector,
  query,
  runCdc,
  STACK,
  uniqueSuffix,
} from "./helpers.ts";
import { steadyBackoff, waitFor } from "../lib/util/retry.ts";

const CONNECT = ["--connect-url", STACK.connectUrl];

/** Flags registering a MariaDB connector on the stack under a unique name, prefix and id. */
function registerArgs(name: string, serverId: number, ...extra: string[]): string[] {
  // deno-fmt-ignore
  return [
    "connector", "register", "--name", name, ...stackRegisterFlags(),
    "--server-id", String(serverId), "--topic-prefix", name, "--history-topic", `${name}.history`,
    "--set", "table.include.list=inventory\\.customers", "--timeout", "90s", ...extra,
  ];
}

const serverId = () => 200_000 + Math.floor(Math.random() * 100_000);
const env = { CDC_SOURCE_PASSWORD: SOURCE_DB.password };

async function cdc(args: string[], extraEnv: Record<string, string> = {}) {
  return await runCdc(args, { ...env, ...extraEnv });
}

Deno.test({
  name: "connector: register twice, then config, list, status, pause, resume, restart, delete",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const name = `cdc-test-${uniqueSuffix()}`;
    const id = serverId();
    try {
      const first = await cdc(registerArgs(name, id));
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, new RegExp(`connector ${name} created`));
      assert.match(first.stdout, new RegExp(`^${name}: RUNNING .*\\n  task 0: RUNNING`, "m"));

      const second = await cdc(registerArgs(name, id, "--set", "max.batch.size=1234"));
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, new RegExp(`connector ${name} updated`));

      const config = await cdc(["connector", "config", "--name", name, ...CONNECT]);
      assert.equal(config.code, 0, config.stderr);
      const shown = JSON.parse(config.stdout);
      assert.equal(shown["max.batch.size"], "1234", "the second registration updated the config");
      assert.equal(shown["database.password"], "***");
      assert.ok(!config.stdout.includes(SOURCE_DB.password), "the password never shows");

      const list = await cdc(["connector", "list", ...CONNECT]);
      assert.match(list.stdout, new RegExp(`^${name}: connector RUNNING, task 0 RUNNING$`, "m"));

      const status = await cdc(["connector", "status", "--name", name, ...CONNECT]);
      assert.equal(status.code, 0);
      assert.match(status.stdout, /task 0: RUNNING/);

      const pause = await cdc(["connector", "pause", "--name", name, ...CONNECT]);
      assert.equal(pause.code, 0, pause.stderr);
      assert.match(pause.stdout, new RegExp(`${name}: PAUSED`));
      const resume = await cdc(["connector", "resume", "--name", name, ...CONNECT]);
      assert.equal(resume.code, 0, resume.stderr);
      assert.match(resume.stdout, new RegExp(`${name}: RUNNING`));
      const restart = await cdc(["connector", "restart", "--name", name, ...CONNECT]);
      assert.equal(restart.code, 0, restart.stderr);
      assert.match(restart.stdout, /task 0: RUNNING/);

      const deleted = await cdc(["connector", "delete", "--name", name, ...CONNECT]);
      assert.equal(deleted.code, 0, deleted.stderr);
      const gone = await cdc(["connector", "status", "--name", name, ...CONNECT]);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, new RegExp(`answered 404: there is no connector named "${name}"`));
    } finally {
      await deleteConnector(name);
    }
  },
});

Deno.test({
  name: "connector: a wrong source password is refused at registration with the reason",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const name = `cdc-test-${uniqueSuffix()}`;
    const result = await cdc(registerArgs(name, serverId()), { CDC_SOURCE_PASSWORD: "wrong" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /answered 400: .*Access denied for user 'debezium'/s);
    assert.ok(!result.stderr.includes("wrong"), "the password never shows");
  },
});

Deno.test({
  name: "connector: a task failing later shows its error readably in status and restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const suffix = uniqueSuffix();
    const name = `cdc-test-${suffix}`;
    const user = `dbz_${suffix}`;
    const admin = await connectMysql();
    try {
      await query(admin, `CREATE USER '${user}'@'%' IDENTIFIED BY 'first'`);
      await query(
        admin,
        `GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, ` +
          `BINLOG MONITOR ON *.* TO '${user}'@'%'`,
      );
      const registered = await cdc(
        registerArgs(name, serverId(), "--source-user", user),
        { CDC_SOURCE_PASSWORD: "first" },
      );
      assert.equal(registered.code, 0, registered.stderr);

      // the password changes under a running connector; its next start fails
      await query(admin, `ALTER USER '${user}'@'%' IDENTIFIED BY 'second'`);
      // The restarted task may report RUNNING before its binlog connection is refused, so
      // `restart` can return before the failure: poll `status` until it shows it.
      await cdc(["connector", "restart", "--name", name, ...CONNECT, "--no-wait"]);
      let status = { code: 0, stdout: "", stderr: "" };
      await waitFor(
        "status to report the failed task",
        async () => {
          status = await cdc(["connector", "status", "--name", name, ...CONNECT]);
          return status.code === 1;
        },
        90_000,
        { backoff: steadyBackoff(500) },
      );
      assert.match(status.stdout, /task 0: FAILED/);
      assert.match(status.stdout, new RegExp(`task ${name}-0 FAILED:\\n {4}\\S`));
      assert.match(status.stdout, /Access denied for user/);
      assert.match(status.stderr, /fix the cause, then `cdc connector restart/);
      assert.ok(!/\n\s+at [\w.$]+\(/.test(status.stdout), "no Java stack frames");
    } finally {
      await deleteConnector(name);
      await query(admin, `DROP USER IF EXISTS '${user}'@'%'`);
      await admin.end();
    }
  },
});

Deno.test({
  name: "connector: Connect unreachable is a clear error and exit 1",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const closed = `http://127.0.0.1:${PORTS.connect + 7}`;
    const register = ["register", "--registry-url", STACK.registryUrl, "--timeout", "5s"];
    for (const verb of [["list"], ["status"], register]) {
      const result = await cdc(["connector", ...verb, "--connect-url", closed]);
      assert.equal(result.code, 1, verb.join(" "));
      assert.match(
        result.stderr,
        new RegExp(`Kafka Connect at ${closed} is unreachable .*is --connect-url right\\?`),
      );
    }
  },
});

Deno.test({
  name: "connector: a --config-file registration, and a broken file named with its fault",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const name = `cdc-test-${uniqueSuffix()}`;
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/connector.json`;
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          name,
          config: {
            "connector.class": "io.debezium.connector.mariadb.MariaDbConnector",
            "database.hostname": SOURCE_DB.host,
            "database.port": PORTS.mariadb,
            "database.user": SOURCE_DB.user,
            "database.password": "set-by-env",
            "database.server.id": serverId(),
            "topic.prefix": name,
            "table.include.list": "inventory\\.customers",
            "schema.history.internal.kafka.bootstrap.servers": STACK.bootstrapServers,
            "schema.history.internal.kafka.topic": `${name}.history`,
          },
        }),
      );
      const registered = await cdc(["connector", "register", "--config-file", file, ...CONNECT]);
      assert.equal(registered.code, 0, registered.stderr);
      assert.match(registered.stdout, new RegExp(`${name}: RUNNING`));

      await Deno.writeTextFile(file, '{"name": "x"');
      const broken = await cdc(["connector", "register", "--config-file", file, ...CONNECT]);
      assert.equal(broken.code, 2);
      assert.match(broken.stderr, new RegExp(`${file} is not JSON`));
    } finally {
      await deleteConnector(name);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "connector: a database named like 'Shop-Data x' gets a legal history topic and runs",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const suffix = uniqueSuffix();
    const name = `cdc-test-${suffix}`;
    const database = `Shop-Data x ${suffix}`;
    const historyTopic = `dbhistory.Shop-Data_x_${suffix}`;
    const dataTopic = `${name}.Shop-Data_x_${suffix}.orders`;
    const db = await connectMysql();
    const admin = kafkaClient({ brokers: [STACK.bootstrapServers] }).admin();
    try {
      await db.query(`CREATE DATABASE \`${database}\``);
      await db.query(`CREATE TABLE \`${database}\`.orders (id INT PRIMARY KEY)`);
      await db.query(`INSERT INTO \`${database}\`.orders VALUES (1)`);
      // deno-fmt-ignore
      const result = await cdc([
        "connector", "register", "--name", name, ...stackRegisterFlags(),
        "--server-id", String(serverId()), "--topic-prefix", name, "--database", database,
        "--timeout", "90s",
      ]);
      assert.equal(result.code, 0, result.stderr);
      const config = await cdc(["connector", "config", "--name", name, ...CONNECT]);
      assert.equal(JSON.parse(config.stdout)["schema.history.internal.kafka.topic"], historyTopic);
      // the task reads the schema history, snapshots, and writes the table's topic: it runs
      await admin.connect();
      await waitFor(`topics ${historyTopic} and ${dataTopic}`, async () => {
        await connectorStatus(name);
        const topics = await admin.listTopics();
        return topics.includes(historyTopic) && topics.includes(dataTopic);
      }, 90_000);
      const status = await cdc(["connector", "status", "--name", name, ...CONNECT]);
      assert.match(status.stdout, /task 0: RUNNING/);
    } finally {
      await admin.disconnect();
      await deleteConnector(name);
      await db.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await db.end();
    }
  },
});
