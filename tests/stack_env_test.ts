/**
 * `deno task stack env`: its exports, eval'd by a shell into the environment of real `cdc`
 * processes (and nothing else: no CDC_* variable of this process, no flag naming a
 * service), make `cdc wait`, `connector register`, `connector list`, `tail` and `stream` work
 * against the stack.
 */
import assert from "node:assert/strict";
import { RUN_FLAGS } from "../tools/compile.ts";
import { PORTS } from "../tools/stack/config.ts";
import {
  connectMysql,
  countRows,
  deleteConnector,
  ensureInventoryConnector,
  uniqueSuffix,
} from "./helpers.ts";
import { FinalError, waitFor } from "../lib/util/retry.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** The stack's exports, as `deno task stack env` prints them. */
async function stackEnv(): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "stack", "env"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `deno task stack env: ${stderr}`);
  return new TextDecoder().decode(output.stdout);
}

/**
 * `cdc args` started by bash after `eval "$exports"`, with an environment cleared of
 * everything but what a shell and the stack's location need.
 */
function spawnCdc(exports: string, args: string[]): Deno.ChildProcess {
  const keep = ["PATH", "HOME", "CDC_STACK_PORT_OFFSET", "CDC_STACK_DIR"];
  return new Deno.Command("bash", {
    args: [
      "-c",
      'eval "$CDC_TEST_EXPORTS" && unset CDC_TEST_EXPORTS && exec "$@"',
      "bash",
      Deno.execPath(),
      "run",
      ...RUN_FLAGS,
      `${ROOT}main.ts`,
      ...args,
    ],
    clearEnv: true,
    env: {
      ...Object.fromEntries(keep.flatMap((name) => {
        const value = Deno.env.get(name);
        return value === undefined ? [] : [[name, value]];
      })),
      CDC_TEST_EXPORTS: exports,
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function runCdc(exports: string, args: string[]) {
  const output = await spawnCdc(exports, args).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test({
  name: "stack env: eval'd exports make cdc wait, connector, tail and stream work without flags",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const exports = await stackEnv();
    assert.match(exports, /^export CDC_BOOTSTRAP_SERVERS='[^']+'$/m);
    assert.doesNotMatch(exports, /^(?!export CDC_[A-Z_]+='[^']*'$).+$/m, "only CDC_* exports");

    const wait = await runCdc(exports, ["wait", "--timeout", "30s"]);
    assert.equal(wait.code, 0, wait.stdout + wait.stderr);
    for (const service of ["kafka", "registry", "connect", "mysql"]) {
      assert.match(wait.stdout, new RegExp(`^ok +${service} `, "m"));
    }

    // a connector of its own (server id, prefix, history and table are isolation, not
    // endpoints): Connect, Kafka, registry and the MariaDB it reads come from the exports
    const name = `cdc-env-${uniqueSuffix()}`;
    try {
      const register = await runCdc(exports, [
        "connector",
        "register",
        "--name",
        name,
        "--server-id",
        String(300_000 + Math.floor(Math.random() * 100_000)),
        "--topic-prefix",
        name,
        "--history-topic",
        `${name}.history`,
        "--set",
        "table.include.list=inventory\\.customers",
        "--timeout",
        "90s",
      ]); // deno-fmt-ignore
      assert.equal(register.code, 0, register.stderr);
      assert.match(register.stdout, new RegExp(`^${name}: RUNNING`, "m"));
      const config = JSON.parse(
        (await runCdc(exports, ["connector", "config", "--name", name])).stdout,
      );
      assert.equal(config["connector.class"], "io.debezium.connector.mariadb.MariaDbConnector");
      assert.equal(config["database.port"], String(PORTS.mariadb));
      const list = await runCdc(exports, ["connector", "list"]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, new RegExp(`^${name}: connector RUNNING, task 0 RUNNING$`, "m"));
    } finally {
      await deleteConnector(name);
    }

    await ensureInventoryConnector();
    const tail = await runCdc(exports, ["tail", "--table", "customers", "--last", "1"]);
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(JSON.parse(tail.stdout.split("\n")[0]).topic, "dbserver1.inventory.customers");

    const sink = `cdc_env_${uniqueSuffix()}`;
    const stream = spawnCdc(exports, [
      "stream",
      "--table",
      "customers",
      "--sink-database",
      sink,
      "--group-id",
      sink,
    ]); // deno-fmt-ignore
    const ended = stream.output(); // reads its output all along, so no pipe fills up
    let exited = false;
    ended.then(() => exited = true);
    const db = await connectMysql();
    try {
      await waitFor(`the customers' snapshot in ${sink}.customers_cdc`, async () => {
        if (exited) {
          const { stderr } = await ended;
          throw new FinalError(`cdc stream exited:\n${new TextDecoder().decode(stderr)}`);
        }
        return await countRows(db, sink, "customers_cdc") >= 4;
      }, 90_000);
    } finally {
      if (!exited) stream.kill("SIGTERM");
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
    }
    const { code, stderr } = await ended;
    assert.equal(
      code,
      0,
      `cdc stream stops cleanly on SIGTERM:\n${new TextDecoder().decode(stderr)}`,
    );
  },
});
