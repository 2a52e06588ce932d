/**
 * Kafka with authentication: the stack's broker also listens with SASL (PLAIN, SCRAM-SHA-256
 * and SCRAM-SHA-512), with TLS (a certificate from the stack's CA), and with both at once
 * (SASL_SSL, as managed clusters run). `cdc` streams, tails and waits through them; a refused
 * password or an unknown CA is a clear error, and no secret shows.
 */
import assert from "node:assert/strict";
import {
  BOOTSTRAP_SASL,
  BOOTSTRAP_SASL_TLS,
  BOOTSTRAP_TLS,
  KAFKA_SASL_ACCOUNT,
  STACK_CA_FILE,
} from "../tools/stack/config.ts";
import {
  ensureInventoryConnector,
  runCdc,
  STACK,
  STACK_FLAGS,
  streamCustomersSnapshot,
} from "./helpers.ts";

const SASL = [
  "--bootstrap-servers",
  BOOTSTRAP_SASL,
  "--kafka-sasl-mechanism",
  "plain",
  "--kafka-username",
  KAFKA_SASL_ACCOUNT.username,
]; // deno-fmt-ignore
const SASL_ENV = { CDC_KAFKA_PASSWORD: KAFKA_SASL_ACCOUNT.password };
const TLS = ["--bootstrap-servers", BOOTSTRAP_TLS, "--kafka-ca-file", STACK_CA_FILE];
/** SASL_SSL: SCRAM-SHA-256 inside TLS. */
const SASL_TLS = [
  "--bootstrap-servers",
  BOOTSTRAP_SASL_TLS,
  "--kafka-sasl-mechanism",
  "scram-sha-256",
  "--kafka-username",
  KAFKA_SASL_ACCOUNT.username,
  "--kafka-ca-file",
  STACK_CA_FILE,
]; // deno-fmt-ignore

/** The first `max` events of customers, through Kafka reached with `kafka` flags. */
function tailCustomers(max: number, kafka: string[], env: Record<string, string> = {}) {
  return runCdc([
    "tail",
    "--table",
    "customers",
    "--from-beginning",
    "--max",
    String(max),
    "--registry-url",
    STACK.registryUrl,
    ...kafka,
  ], env); // deno-fmt-ignore
}

Deno.test({
  name:
    "kafka auth: stream over SASL/PLAIN, SASL/SCRAM-SHA-512, TLS and SCRAM-SHA-256 in TLS into _cdc; no password shows",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const scram = SASL.map((arg) => arg === "plain" ? "scram-sha-512" : arg);
    const ways = [
      [SASL, SASL_ENV, `${BOOTSTRAP_SASL} \\(SASL plain as cdc\\)`],
      [scram, SASL_ENV, `${BOOTSTRAP_SASL} \\(SASL scram-sha-512 as cdc\\)`],
      [TLS, {}, `${BOOTSTRAP_TLS} \\(TLS\\)`],
      [SASL_TLS, SASL_ENV, `${BOOTSTRAP_SASL_TLS} \\(SASL scram-sha-256 as cdc, TLS\\)`],
    ] as const;
    for (const [kafka, env, described] of ways) {
      // the later --bootstrap-servers wins over the one in streamArgs
      const cdc = await streamCustomersSnapshot({ adapt: (args) => [...args, ...kafka], env });
      assert.match(cdc.stderr, new RegExp(`from Kafka ${described}`));
      assert.match(
        cdc.stderr,
        /joined consumer group .*: assigned dbserver1\.inventory\.customers\[0\]/,
      );
      assert.ok(!cdc.stderr.includes(KAFKA_SASL_ACCOUNT.password), "the password never shows");
    }
  },
});

Deno.test({
  name: "kafka auth: tail over SASL/SCRAM-SHA-512; a wrong SCRAM password is refused at once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const scram = SASL.map((arg) => arg === "plain" ? "scram-sha-512" : arg);
    const tail = await tailCustomers(1, scram, SASL_ENV);
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(JSON.parse(tail.stdout).topic, "dbserver1.inventory.customers");

    const wrong = await runCdc(
      ["wait", "--services", "kafka", "--timeout", "60s", ...scram],
      { CDC_KAFKA_PASSWORD: "not-the-password" },
    );
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /FAILED +kafka .*SASL SCRAM-SHA-512 authentication failed/);
  },
});

Deno.test({
  name: "kafka auth: tail and wait over TLS with the broker's CA",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const tail = await tailCustomers(2, TLS);
    assert.equal(tail.code, 0, tail.stderr);
    const lines = tail.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.equal(lines[0].topic, "dbserver1.inventory.customers");

    const wait = await runCdc(["wait", "--services", "kafka", "--timeout", "20s", ...TLS]);
    assert.equal(wait.code, 0, wait.stderr);
    assert.match(wait.stdout, new RegExp(`^ok +kafka +${BOOTSTRAP_TLS} \\(TLS\\)`, "m"));
  },
});

Deno.test({
  name: "kafka auth: a wrong password, an unknown CA and a missing user name are clear errors",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const started = Date.now();
    const wrong = await runCdc(
      ["stream", "--table", "customers", ...STACK_FLAGS, ...SASL, "--wait-timeout", "60s"],
      { CDC_KAFKA_PASSWORD: "not-the-password" },
    );
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /SASL PLAIN authentication failed/);
    assert.ok(Date.now() - started < 30_000, "a refused password is not waited out");
    assert.ok(!wrong.stderr.includes("not-the-password"));

    const unknownCa = await runCdc(
      [
        "wait",
        "--services",
        "kafka",
        "--timeout",
        "3s",
        "--bootstrap-servers",
        BOOTSTRAP_TLS,
        "--kafka-tls",
      ],
    ); // deno-fmt-ignore
    assert.equal(unknownCa.code, 1);
    assert.match(unknownCa.stdout, /FAILED +kafka .*unable to verify the first certificate/);

    const noUser = await runCdc(
      [
        "wait",
        "--services",
        "kafka",
        "--bootstrap-servers",
        BOOTSTRAP_SASL,
        "--kafka-sasl-mechanism",
        "plain",
      ],
    ); // deno-fmt-ignore
    assert.equal(noUser.code, 2);
    assert.match(noUser.stderr, /needs --kafka-username and a password/);
  },
});
