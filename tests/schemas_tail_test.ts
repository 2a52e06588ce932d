/**
 * `cdc schemas` and `cdc tail` against the real registry and Kafka, on events
 * Debezium captured from the stack's MariaDB.
 */
import assert from "node:assert/strict";
import {
  CdcProcess,
  connectMysql,
  ensureInventoryConnector,
  query,
  runCdc,
  STACK,
  uniqueSuffix,
} from "./helpers.ts";
import { RegistryClient } from "../lib/avro/registry.ts";
import { steadyBackoff, waitFor } from "../lib/util/retry.ts";

const REGISTRY = ["--registry-url", STACK.registryUrl];
const KAFKA = ["--bootstrap-servers", STACK.bootstrapServers, ...REGISTRY];

interface TailLine {
  topic: string;
  partition: number;
  offset: number;
  timestamp: string;
  key: Record<string, unknown> | null;
  value: { op: string; before: unknown; after: Record<string, unknown> | null } | null;
  error?: string;
}

const lines = (stdout: string): TailLine[] =>
  stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));

/** A captured table with readable-rendering cases, and one row in it. */
async function capturedTable(): Promise<{ table: string; drop: () => Promise<void> }> {
  await ensureInventoryConnector();
  const table = `tail_${uniqueSuffix()}`;
  const db = await connectMysql("inventory");
  await query(
    db,
    `CREATE TABLE \`${table}\` (id BIGINT PRIMARY KEY, price DECIMAL(12,4), ` +
      `born DATE, at DATETIME(6), raw VARBINARY(8), note VARCHAR(20))`,
  );
  await query(
    db,
    `INSERT INTO \`${table}\` VALUES ` +
      `(9223372036854775807, 12345678.9012, '2024-02-29', '1999-12-31 23:59:59.123456', X'00FF', 'first'), ` +
      `(1, NULL, NULL, NULL, NULL, 'second')`,
  );
  return {
    table,
    drop: async () => {
      await query(db, `DROP TABLE IF EXISTS \`${table}\``);
      await db.end();
    },
  };
}

Deno.test({
  name: "tail: decoded key and value as JSON lines; decimals, dates, bytes, big longs readable",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { table, drop } = await capturedTable();
    try {
      const args = ["tail", "--table", table, "--from-beginning", ...KAFKA];
      let result = { code: -1, stdout: "", stderr: "" };
      await waitFor(
        "both rows on the topic",
        async () => {
          result = await runCdc([...args, "--max", "2"]);
          return result.code === 0 && lines(result.stdout).length === 2;
        },
        60_000,
        { backoff: steadyBackoff(500) },
      );
      const [first, second] = lines(result.stdout);
      assert.ok(!result.stderr.includes("TimeoutNegativeWarning"), "kafkajs#1751 noise kept out");
      assert.equal(first.topic, `dbserver1.inventory.${table}`);
      assert.deepEqual(first.key, { id: "9223372036854775807" });
      assert.equal(first.value?.op, "c");
      assert.deepEqual(first.value?.after, {
        id: "9223372036854775807",
        price: "12345678.9012",
        born: "2024-02-29",
        at: "1999-12-31 23:59:59.123456",
        raw: "0x00ff",
        note: "first",
      });
      assert.deepEqual(second.value?.after, {
        id: 1,
        price: null,
        born: null,
        at: null,
        raw: null,
        note: "second",
      }); // deno-fmt-ignore
      assert.ok(!Number.isNaN(Date.parse(first.timestamp)));

      // without --follow it stops at the end; --last counts back from it
      const last = await runCdc(["tail", "--table", table, "--last", "1", ...KAFKA]);
      assert.equal(last.code, 0, last.stderr);
      assert.deepEqual(lines(last.stdout).map((l) => l.offset), [second.offset]);
    } finally {
      await drop();
    }
  },
});

Deno.test({
  name: "tail --follow prints events as they happen and exits 0 on SIGTERM",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { table, drop } = await capturedTable();
    const db = await connectMysql("inventory");
    try {
      await waitFor(
        "the table's topic",
        async () => {
          const probe = await runCdc(["tail", "--table", table, "--last", "0", ...KAFKA]);
          return probe.code === 0;
        },
        60_000,
        { backoff: steadyBackoff(500) },
      );
      const tail = new CdcProcess(["tail", "--table", table, "--last", "0", "--follow", ...KAFKA]);
      await waitFor(
        "tail to join",
        async () => {
          await query(db, `UPDATE \`${table}\` SET note = ? WHERE id = 1`, [`seen-${Date.now()}`]);
          return /"op":"u"/.test(tail.stdout);
        },
        60_000,
        { backoff: steadyBackoff(1_000) },
      );
      const status = await tail.stop("SIGTERM");
      assert.equal(status.code, 0, tail.stderr);
      const updates = lines(tail.stdout).filter((l) => l.value?.op === "u");
      assert.ok(updates.length >= 1);
      assert.match(String(updates[0].value?.after?.note), /^seen-\d+$/);
    } finally {
      await db.end();
      await drop();
    }
  },
});

Deno.test({
  name: "tail: a topic that does not exist is a clear error",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const result = await runCdc(["tail", "--table", `absent_${uniqueSuffix()}`, ...KAFKA]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /no such topic: dbserver1\.inventory\.absent_\w+ \(is the connector/,
    );
  },
});

Deno.test({
  name: "schemas: subjects, versions with ids, a schema by id; an unknown id is a clear error",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { table, drop } = await capturedTable();
    try {
      const subject = `dbserver1.inventory.${table}-value`;
      await waitFor(
        "the value subject",
        async () => {
          const subjects = await runCdc(["schemas", "subjects", ...REGISTRY]);
          return subjects.stdout.split("\n").includes(subject);
        },
        60_000,
        { backoff: steadyBackoff(500) },
      );

      const versions = await runCdc(["schemas", "versions", subject, ...REGISTRY]);
      assert.equal(versions.code, 0, versions.stderr);
      const match = /^version 1: schema id (\d+)$/m.exec(versions.stdout);
      assert.ok(match, versions.stdout);

      // the id the subject lists is the id on the wire, and `get` shows its schema
      const tail = await runCdc([
        "tail",
        "--table",
        table,
        "--from-beginning",
        "--max",
        "1",
        ...KAFKA,
      ]);
      const get = await runCdc(["schemas", "get", match[1], ...REGISTRY]);
      assert.equal(get.code, 0, get.stderr);
      const schema = JSON.parse(get.stdout);
      assert.equal(schema.name, "Envelope");
      assert.ok(get.stdout.includes('\n  "type": "record"'), "pretty-printed");
      assert.equal(lines(tail.stdout)[0].value?.op, "c");

      const unknown = await runCdc(["schemas", "get", "987654321", ...REGISTRY]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /has no schema with id 987654321/);

      const notAnId = await runCdc(["schemas", "get", "abc", ...REGISTRY]);
      assert.equal(notAnId.code, 2);
    } finally {
      await drop();
    }
  },
});

Deno.test("schemas: subjects are read page by page, none left out past a registry's page size", async () => {
  // Apicurio answers at most 1,000 subjects per request by default: a stack that has run many
  // tests holds more. Small pages read the whole list through the same paging.
  const registry = new RegistryClient(STACK.registryUrl);
  const paged = await registry.subjects(7);
  const whole = await registry.subjects();
  assert.ok(whole.length > 7 * 2, `${whole.length} subjects: too few to need three pages`);
  assert.deepEqual([...paged].sort(), [...whole].sort());
  assert.equal(new Set(paged).size, paged.length, "no subject twice");
  // Apicurio's own API counts the artifacts that are the subjects, without a page limit
  const search = STACK.registryUrl.replace(
    /\/apis\/ccompat\/v7$/,
    "/apis/registry/v3/search/artifacts",
  );
  const { count } = await (await fetch(`${search}?limit=1`)).json();
  assert.equal(whole.length, count, "every subject the registry holds");
});
