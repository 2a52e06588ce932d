/**
 * `cdc stream` as a command: usage errors, start-up waits with deadlines,
 * secrets kept out of logs, and `--dry-run`.
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
  streamCustomersSnapshot,
  uniqueSuffix,
} from "./helpers.ts";
import { waitFor } from "../lib/util/retry.ts";

Deno.test("stream: a usage error exits 2 and says what is missing", async () => {
  const result = await runCdc(["stream"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /name the tables to stream: --table \(repeat it\) or --table-regex/);
  const regex = await runCdc(["stream", "--table-regex", "t[0-9"]);
  assert.equal(regex.code, 2);
  assert.match(regex.stderr, /--table-regex.*not a regular expression/);
  const bad = await runCdc(["stream", "--table", "t", "--batch-size", "zero"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--batch-size.*expected a whole number >= 1, got "zero"/);
});

Deno.test("stream: --help documents options with defaults and environment variables", async () => {
  const result = await runCdc(["stream", "--help"]);
  assert.equal(result.code, 0);
  for (
    const text of [
      "--on-error <policy>",
      "CDC_BATCH_SIZE",
      "BOOTSTRAP_SERVERS",
      "{table}_mirror or {table}_scd2 by --mode)",
      "CDC_MODE",
    ]
  ) {
    assert.ok(result.stdout.includes(text), `help mentions ${text}`);
  }
});

Deno.test("stream: MySQL unreachable at start: it waits, saying so, then exits 1 naming it", async () => {
  const result = await runCdc([
    "stream",
    "--table",
    "customers",
    ...STACK_FLAGS,
    "--mysql-port",
    "1",
    "--wait-timeout",
    "2s",
  ]); // deno-fmt-ignore
  assert.equal(result.code, 1);
  assert.match(result.stderr, /waiting for MySQL cdc@127\.0\.0\.1:1\/inventory/);
  assert.match(result.stderr, /gave up on MySQL cdc@127\.0\.0\.1:1\/inventory after 2s/);
});

Deno.test("stream: Kafka unreachable at start: it waits, saying so, then exits 1 naming it", async () => {
  const result = await runCdc([
    "stream",
    "--table",
    "customers",
    ...STACK_FLAGS,
    "--bootstrap-servers",
    "127.0.0.1:1",
    "--wait-timeout",
    "2s",
  ]); // deno-fmt-ignore
  assert.equal(result.code, 1);
  assert.match(result.stderr, /waiting for Kafka at 127\.0\.0\.1:1/);
  assert.match(result.stderr, /gave up on Kafka at 127\.0\.0\.1:1 after 2s/);
});

Deno.test("stream: the MySQL password never reaches the logs, even at debug level", async () => {
  const secret = `s3cret-${uniqueSuffix()}`;
  const result = await runCdc(
    [
      "stream",
      "--table",
      "customers",
      ...STACK_FLAGS,
      "--wait-timeout",
      "2s",
      "--log-level",
      "debug",
    ],
    { CDC_MYSQL_PASSWORD: secret },
  );
  assert.equal(result.code, 1, "a wrong password fails the start-up");
  assert.match(result.stderr, /Access denied for user 'cdc'/);
  assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret), "password absent");
  const help = await runCdc(["stream", "--help"], { MYSQL_PASSWORD: secret });
  assert.ok(!help.stdout.includes(secret), "help shows (set), not the value");
});

Deno.test({
  name: "stream: --dry-run prints rows as JSON lines and writes nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const sink = `cdc_dry_${uniqueSuffix()}`;
    const cdc = new CdcProcess(streamArgs("customers", sink, "--dry-run"));
    try {
      await cdc.waitForLog(/streaming dbserver1\.inventory\.customers/);
      await waitFor("snapshot rows on stdout", () => cdc.stdout.includes('"__op":"r"'));
      const first = JSON.parse(cdc.stdout.split("\n")[0]);
      assert.equal(first.table, "customers_cdc");
      assert.deepEqual(Object.keys(first.row).slice(0, 4), [
        "id",
        "first_name",
        "last_name",
        "email",
      ]);
      assert.equal(first.row.__partition, 0);
    } finally {
      assert.equal((await cdc.stop("SIGINT")).code, 0, cdc.stderr);
    }
    const db = await connectMysql();
    const schemas = await query(
      db,
      "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
      [sink],
    );
    await db.end();
    assert.deepEqual(schemas, [], "nothing was created in the sink");
  },
});

Deno.test("every command answers --help and --version with exit 0", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const commands = [
    [],
    ["stream"],
    ["connector"],
    ["connector", "register"],
    ["connector", "status"],
    ["schemas"],
    ["schemas", "get"],
    ["tail"],
    ["wait"],
  ]; // deno-fmt-ignore
  for (const command of commands) {
    const help = await runCdc([...command, "--help"]);
    assert.equal(help.code, 0, `${command.join(" ")} --help`);
    assert.match(help.stdout, new RegExp(`^Usage: cdc ${command.join(" ")}`.trimEnd()));
    const version = await runCdc([...command, "--version"]);
    assert.equal(version.code, 0, `${command.join(" ")} --version`);
    assert.equal(version.stdout.trim(), denoJson.version);
  }
});

Deno.test({
  name: "stream: host names and a password file work under the binary's permissions",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const passwordFile = await Deno.makeTempFile();
    await Deno.writeTextFile(passwordFile, `${STACK.mysql.password}\n`);
    try {
      // name resolution and reading the file are what the permissions must allow
      const cdc = await streamCustomersSnapshot({
        adapt: (args) => [
          ...args.map((arg) => arg.replace("127.0.0.1", "localhost")),
          "--mysql-password-file",
          passwordFile,
        ],
        env: { CDC_MYSQL_PASSWORD: "" },
      });
      assert.match(cdc.stderr, /into MySQL cdc@localhost:/);
    } finally {
      await Deno.remove(passwordFile);
    }
  },
});
