/**
 * Smoke test of the local stack (`deno task stack up` first): Debezium captures an
 * insert into MariaDB, the Apicurio converter writes it to Kafka in the Confluent wire
 * format, and the schema ids in key and value resolve through the registry's
 * Confluent-compatible API (`/apis/ccompat/v7/schemas/ids/{id}`).
 *
 * It also proves which of the registry's ids the converter writes. Apicurio keeps two
 * counters, globalId (per version) and contentId (per distinct content); ccompat serves
 * contentIds. The test first makes the contentId counter run ahead of the globalId one
 * (asking the native API to find-or-create content that already exists uses up a
 * contentId), then captures a table created for the test, whose schemas are therefore
 * registered afterwards with contentId != globalId: the id on the wire must be the
 * contentId.
 */

import { strict as assert } from "node:assert";
import { Buffer } from "node:buffer";
import { Kafka, logLevel } from "kafkajs";
import avro from "avsc";
import mysql from "mysql2/promise";
import {
  BOOTSTRAP,
  CONNECT_URL,
  CONNECTOR_NAME,
  REGISTRY_NATIVE_URL,
  REGISTRY_URL,
  SINK_DB,
  SOURCE_DATABASE,
  TOPIC_PREFIX,
} from "../tools/stack/config.ts";
import { inventoryConnectorConfig } from "../tools/stack/connector.ts";
import { SERVICE_NAMES, serviceReady } from "../tools/stack/services.ts";
import { tableTopic } from "../lib/cli/options/common.ts";
import { waitFor } from "../lib/util/retry.ts";

/** Topic Debezium writes the inventory's `table` to. */
const topicFor = (table: string) =>
  tableTopic({ topicPrefix: TOPIC_PREFIX, database: SOURCE_DATABASE }, table);

const SR_JSON = "application/vnd.schemaregistry.v1+json";

async function http(method: string, url: string, body?: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method,
    headers: body === undefined
      ? {}
      : { "content-type": url.startsWith(REGISTRY_URL) ? SR_JSON : "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

interface ConnectorStatus {
  connector: { state: string; trace?: string };
  tasks: { id: number; state: string; trace?: string }[];
}

interface VersionMeta {
  globalId: number;
  contentId: number;
  version: string;
}

/** Splits a Confluent-framed record into its schema id and Avro payload. */
function unframe(bytes: Buffer | null, what: string): { id: number; payload: Buffer } {
  assert.ok(bytes && bytes.length > 5, `${what}: missing or too short`);
  assert.equal(bytes[0], 0, `${what}: magic byte is ${bytes[0]}, not 0`);
  return { id: bytes.readInt32BE(1), payload: bytes.subarray(5) };
}

/** Avro longs as BigInt: Debezium's `ts_us` / `ts_ns` exceed 2^53. */
const bigLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (v: number | string) => BigInt(v),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === "bigint",
  compare: (a: bigint, b: bigint) => a === b ? 0 : a < b ? -1 : 1,
});

const schemas = new Map<number, { type: avro.Type; name: string }>();

/** The schema of an id, fetched from the Confluent API and parsed with avsc. */
async function schemaById(id: number): Promise<{ type: avro.Type; name: string }> {
  let schema = schemas.get(id);
  if (!schema) {
    const body = await http("GET", `${REGISTRY_URL}/schemas/ids/${id}`) as { schema: string };
    const parsed = JSON.parse(body.schema);
    schema = {
      type: avro.Type.forSchema(parsed, { registry: { long: bigLong } }),
      name: parsed.name,
    };
    schemas.set(id, schema);
  }
  return schema;
}

/** Decodes a Confluent-framed record. */
async function decode(bytes: Buffer | null, what: string) {
  const { id, payload } = unframe(bytes, what);
  const schema = await schemaById(id);
  return { id, schemaName: schema.name, data: schema.type.fromBuffer(payload) };
}

interface Envelope {
  op: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: { db: string; table: string; snapshot?: string | null };
}

type Message = { key: Buffer | null; value: Buffer | null };

/** Reads `topic` from the beginning until `wanted` accepts a record's decoded value. */
async function consumeUntil(
  kafka: Kafka,
  topic: string,
  wanted: (event: Envelope) => boolean,
): Promise<Message> {
  const admin = kafka.admin();
  const consumer = kafka.consumer({ groupId: `stack-smoke-${crypto.randomUUID()}` });
  try {
    await admin.connect();
    await waitFor(`topic ${topic}`, async () => (await admin.listTopics()).includes(topic), 60_000);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let match: Message | undefined;
    let failure: unknown;
    let seen = 0;
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen++;
        if (!message.value || match || failure) return; // tombstone, or done
        try {
          if (wanted((await decode(message.value, "value")).data as Envelope)) match = message;
        } catch (error) {
          failure = error;
        }
      },
    });
    const found = await waitFor(`the event on ${topic}`, () => failure ? "failed" : match, 120_000)
      .catch((error) => {
        throw new Error(`${error.message} (${seen} records read)`);
      });
    if (found === "failed") throw failure;
    return found;
  } finally {
    await consumer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

/** The registry's own ids for the version of `subject` whose ccompat id is `id`. */
async function versionWithId(subject: string, id: number): Promise<VersionMeta> {
  const versions = await http("GET", `${REGISTRY_URL}/subjects/${subject}/versions`) as number[];
  for (const version of versions) {
    const v = await http("GET", `${REGISTRY_URL}/subjects/${subject}/versions/${version}`);
    if ((v as { id: number }).id === id) {
      return await http(
        "GET",
        `${REGISTRY_NATIVE_URL}/groups/default/artifacts/${subject}/versions/${version}`,
      ) as VersionMeta;
    }
  }
  throw new Error(`${subject}: no version has ccompat id ${id} (versions ${versions})`);
}

async function deleteSubject(subject: string): Promise<void> {
  await http("DELETE", `${REGISTRY_URL}/subjects/${subject}`).catch(() => {});
  await http("DELETE", `${REGISTRY_URL}/subjects/${subject}?permanent=true`).catch(() => {});
}

Deno.test({
  name: "stack: Debezium -> Kafka (Confluent framing) -> ccompat registry ids",
  // kafkajs and mysql2 keep internal timers past disconnect()/end()
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    // a failed step stops the test: later steps depend on earlier ones
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
    };
    for (const name of SERVICE_NAMES) {
      assert.ok(await serviceReady(name), `${name} does not answer: run \`deno task stack up\``);
    }
    const runId = `${Date.now().toString(36)}${crypto.randomUUID().slice(0, 4)}`;
    const probe = `stack-smoke-probe-${runId}`;
    const table = `stack_smoke_${runId}`;
    const kafka = new Kafka({
      clientId: "stack-smoke",
      brokers: [BOOTSTRAP],
      logLevel: logLevel.ERROR,
    });
    const db = await mysql.createConnection({
      host: SINK_DB.host,
      port: SINK_DB.port,
      user: SINK_DB.user,
      password: SINK_DB.password,
      database: "inventory",
    });
    let customerId = 0;
    try {
      await step("make the registry's contentIds run ahead of its globalIds", async () => {
        const schema = JSON.stringify({
          type: "record",
          name: "StackSmokeProbe",
          namespace: "cdc.stack",
          fields: [{ name: "run", type: "string", default: runId }],
        });
        const metas: VersionMeta[] = [];
        for (let i = 0; i < 2; i++) {
          const created = await http(
            "POST",
            `${REGISTRY_NATIVE_URL}/groups/default/artifacts?ifExists=FIND_OR_CREATE_VERSION`,
            {
              artifactId: probe,
              artifactType: "AVRO",
              firstVersion: { content: { content: schema, contentType: "application/json" } },
            },
          ) as { version: VersionMeta };
          metas.push(created.version);
        }
        assert.deepEqual(metas[1], metas[0], "find-or-create made a second version");
        // ccompat serves this schema under its contentId
        const byId = await http("GET", `${REGISTRY_URL}/schemas/ids/${metas[0].contentId}`) as {
          schema: string;
        };
        assert.equal(JSON.parse(byId.schema).name, "StackSmokeProbe");
      });

      await step("register the connector; connector and task RUNNING", async () => {
        const base = `${CONNECT_URL}/connectors/${CONNECTOR_NAME}`;
        await http("PUT", `${base}/config`, inventoryConnectorConfig());
        // A task left FAILED by an earlier disruption (say MariaDB restarted while the task
        // was starting) stays FAILED until restarted: restart it, a few times at most.
        let restarts = 0;
        await waitFor("connector and task RUNNING", async () => {
          const response = await fetch(`${base}/status`);
          if (!response.ok) {
            await response.body?.cancel();
            return false;
          }
          const status = await response.json() as ConnectorStatus;
          const failed = [status.connector, ...status.tasks].find((s) => s.state === "FAILED");
          if (failed) {
            if (++restarts > 3) return `FAILED: ${failed.trace}`;
            console.log(`restarting failed connector/task: ${failed.trace?.split("\n")[0]}`);
            await http("POST", `${base}/restart?includeTasks=true&onlyFailed=true`);
            return false;
          }
          return status.connector.state === "RUNNING" && status.tasks.length > 0 &&
            status.tasks.every((task) => task.state === "RUNNING");
        }, 120_000).then((outcome) => {
          if (outcome !== true) throw new Error(`connector ${outcome}`);
        }).catch(async (error) => {
          const status = await http("GET", `${base}/status`);
          throw new Error(`${error.message}\n${JSON.stringify(status, null, 2)}`);
        });
      });

      await step("an insert into customers arrives framed, resolvable and decodable", async () => {
        // A task is RUNNING before its initial snapshot is done, and a row inserted during the
        // snapshot arrives as a snapshot read ("r"). Insert only once customers' snapshot is over.
        const topic = topicFor("customers");
        await consumeUntil(
          kafka,
          topic,
          (e) => ["last", "last_in_data_collection", "false"].includes(String(e.source.snapshot)),
        );
        const row = {
          first_name: "Smoke",
          last_name: `Test ${runId}`,
          email: `smoke-${runId}@example.com`,
        };
        const [result] = await db.execute(
          "INSERT INTO customers (first_name, last_name, email) VALUES (?, ?, ?)",
          [row.first_name, row.last_name, row.email],
        );
        customerId = (result as { insertId: number }).insertId;
        assert.ok(customerId > 0);
        const message = await consumeUntil(kafka, topic, (e) => e.after?.email === row.email);

        const value = await decode(message.value, "value");
        assert.equal(value.schemaName, "Envelope");
        const event = value.data as Envelope;
        assert.equal(event.op, "c");
        assert.equal(event.before, null);
        assert.deepEqual({ ...event.after }, { id: customerId, ...row });
        assert.equal(event.source.db, "inventory");
        assert.equal(event.source.table, "customers");

        const key = await decode(message.key, "key");
        assert.equal(key.schemaName, "Key");
        assert.deepEqual({ ...key.data as object }, { id: customerId });

        // the ids on the wire are ids ccompat lists for the topic's subjects
        for (
          const [subject, id] of [[`${topic}-key`, key.id], [`${topic}-value`, value.id]] as const
        ) {
          const meta = await versionWithId(subject, id);
          assert.equal(id, meta.contentId, `${subject}: wire id ${id} is not the contentId`);
        }
      });

      await step("the id on the wire is the contentId, not the globalId", async () => {
        await db.query(
          `CREATE TABLE \`${table}\` (id INT PRIMARY KEY, note VARCHAR(64) NOT NULL)`,
        );
        await db.execute(`INSERT INTO \`${table}\` VALUES (1, ?)`, [runId]);
        const topic = topicFor(table);
        const message = await consumeUntil(kafka, topic, (e) => e.after?.note === runId);
        const value = await decode(message.value, "value");
        assert.deepEqual({ ...(value.data as Envelope).after }, { id: 1, note: runId });
        const meta = await versionWithId(`${topic}-value`, value.id);
        console.log(
          `${topic}-value: wire id ${value.id}, contentId ${meta.contentId}, globalId ${meta.globalId}`,
        );
        assert.notEqual(meta.contentId, meta.globalId, "ids coincide: nothing proven");
        assert.equal(value.id, meta.contentId);
      });
    } finally {
      // leave the stack as the seed left it (the connector stays registered and running)
      if (customerId) await db.execute("DELETE FROM customers WHERE id = ?", [customerId]);
      await db.query(`DROP TABLE IF EXISTS \`${table}\``);
      await db.end();
      const admin = kafka.admin();
      await admin.connect();
      const topic = topicFor(table);
      if ((await admin.listTopics()).includes(topic)) await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
      for (const subject of [probe, `${topic}-key`, `${topic}-value`]) await deleteSubject(subject);
    }
  },
});
