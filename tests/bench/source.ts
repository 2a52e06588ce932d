/**
 * The benchmark's source: a generated 10-column table in the stack's MariaDB whose inserts the
 * stack's Debezium MariaDB connector captures, so every contender reads real Debezium events
 * (with the full `source` block) from one topic.
 *
 * @module
 */
import type mysql from "mysql2/promise";
import type { Admin } from "kafkajs";
import { kafkaClient } from "../../lib/kafka/client.ts";
import { BOOTSTRAP } from "../../tools/stack/config.ts";
import { steadyBackoff, waitFor } from "../../lib/util/retry.ts";
import { databaseConnectorConfig, deleteConnector, registerConnector } from "../helpers.ts";
import { partitionOf } from "./stats.ts";

/** The source table's name in every benchmark database. */
export const TABLE = "items";

/** The source table: every column kind of the benchmark's 10-column shape. */
export const SOURCE_DDL = `CREATE TABLE ${TABLE} (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  email VARCHAR(200) NOT NULL,
  amount DECIMAL(10,2) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  quantity INT NOT NULL,
  price DOUBLE NOT NULL,
  active TINYINT(1) NOT NULL,
  note VARCHAR(200) NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
)`;

const COLUMNS = "id, name, email, amount, created_at, quantity, price, active, note, updated_at";

const BASE_MS = Date.UTC(2024, 0, 1);

/** `YYYY-MM-DD hh:mm:ss.mmm` (UTC) of epoch milliseconds `ms`. */
function datetime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 23);
}

/**
 * Row `i` as a SQL tuple. `updated_at` is a fixed time, or the server's `NOW(6)` when `stamp`
 * (the latency source stamps each change with its commit time).
 */
export function rowTuple(i: number, stamp = false): string {
  // quotes, backslashes and 4-byte UTF-8: the escaping every sink has to get right
  const note = i % 10 === 0 ? "NULL" : `'it''s a "note" with \\\\ and ünï 😀 #${i}'`;
  const updated = stamp
    ? "NOW(6)"
    : `'${datetime(BASE_MS + i)}${String(i % 1000).padStart(3, "0")}'`;
  return `(${i}, 'customer ${i}', 'customer${i}@example.com', ${
    (i * 7 % 1_000_000 / 100).toFixed(2)
  }, '${datetime(BASE_MS + i)}', ${i % 100}, ${i / 3}, ${
    i % 2 === 0 ? 1 : 0
  }, ${note}, ${updated})`;
}

/** `INSERT` of rows `from` (inclusive) to `to` (exclusive) into the source table. */
export function insertRows(from: number, to: number, stamp = false): string {
  const tuples: string[] = [];
  for (let i = from; i < to; i++) tuples.push(rowTuple(i, stamp));
  return `INSERT INTO ${TABLE} (${COLUMNS}) VALUES ${tuples.join(",")}`;
}

/**
 * What the backlog's events are: `inserts` (every event a new row) or `updates` (a tenth of the
 * events insert the keys, then every key is updated 9 times: each key changes 10 times).
 */
export type Workload = "inserts" | "updates";

/** The passes of updates over every key in an `updates` backlog. */
export const UPDATE_PASSES = 9;

/**
 * An UPDATE of rows `from` (inclusive) to `to` (exclusive) in pass `pass`: one event per row,
 * each carrying the row's whole after image.
 */
export function updateRows(from: number, to: number, pass: number): string {
  return `UPDATE ${TABLE} SET quantity = quantity + 1, amount = amount + ${pass}, ` +
    `name = CONCAT('customer ', id, ' v${pass}') WHERE id >= ${from} AND id < ${to}`;
}

/** A source database with its table, captured by a Debezium connector of its own. */
export interface CapturedSource {
  database: string;
  topicPrefix: string;
  topic: string;
  connector: string;
}

/**
 * Creates `database` with the source table and registers a Debezium connector capturing it
 * (the product's connector configuration, as tests/helpers.ts `databaseConnectorConfig`), so the
 * rows inserted afterwards become streaming `c` events on `topic`.
 */
export async function captureSource(
  db: mysql.Connection,
  database: string,
): Promise<CapturedSource> {
  await db.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await db.query(`CREATE DATABASE \`${database}\``);
  await db.query(`USE \`${database}\``);
  await db.query(SOURCE_DDL);
  const topicPrefix = database;
  const connector = `${database}-source`;
  await registerConnector(connector, databaseConnectorConfig(database, topicPrefix));
  return { database, topicPrefix, topic: `${topicPrefix}.${database}.${TABLE}`, connector };
}

/** The number of records in `topic` (the sum of its partitions' watermark spans); 0 while absent. */
export async function topicSize(admin: Admin, topic: string): Promise<number> {
  if (!(await admin.listTopics()).includes(topic)) return 0;
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

/** A Kafka admin client on the stack's broker, connected. */
export async function stackAdmin(): Promise<Admin> {
  const admin = kafkaClient({ brokers: [BOOTSTRAP] }, "cdc-bench").admin();
  await admin.connect();
  return admin;
}

/**
 * The first `count` record values of `topic`, read from the start by a fresh group with the
 * stream's fetch size (tests/bench/stage_split.ts, tests/bench/stages_bench.ts).
 */
export async function readRecordValues(topic: string, count: number): Promise<Uint8Array[]> {
  const consumer = kafkaClient({ brokers: [BOOTSTRAP] }, "cdc-bench").consumer({
    groupId: `cdc-bench-read-${Date.now()}`,
    maxBytesPerPartition: 256 * 1024,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const values: Uint8Array[] = [];
  await new Promise<void>((resolve) =>
    consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const m of batch.messages) if (values.length < count) values.push(m.value!);
        if (values.length >= count) resolve();
        return Promise.resolve();
      },
    })
  );
  await consumer.disconnect();
  return values;
}

/** A consumer noting when each record of a one-partition topic arrived. */
export interface TopicWatch {
  /** Records arrived so far (each offset counted once). */
  received(): number;
  stop(): Promise<void>;
}

/**
 * Consumes `topic` from the start, noting in `arrivedAt[offset]` when each record arrived in this
 * process (only offsets below its length): what Debezium adds between commit and topic.
 */
export async function watchTopic(
  topic: string,
  groupId: string,
  arrivedAt: Float64Array,
): Promise<TopicWatch> {
  const consumer = kafkaClient({ brokers: [BOOTSTRAP] }, "cdc-bench").consumer({
    groupId,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let received = 0;
  await consumer.run({
    eachBatch: ({ batch }) => {
      const now = performance.now();
      for (const message of batch.messages) {
        const offset = Number(message.offset);
        if (offset < arrivedAt.length && arrivedAt[offset] === 0) {
          arrivedAt[offset] = now;
          received++;
        }
      }
      return Promise.resolve();
    },
  });
  return { received: () => received, stop: () => consumer.disconnect() };
}

/**
 * Makes the benchmark's backlog of `n` events: for `inserts`, `n` inserts (5000-row statements)
 * into a fresh captured source; for `updates`, `n / 10` inserts and then 9 passes of UPDATEs over
 * every key (5000-row statements). Then waits, printing progress, until Debezium has put all `n`
 * events on the topic; the source connector is deleted afterwards so that it does not compete
 * with the contenders.
 */
export async function makeBacklog(
  db: mysql.Connection,
  database: string,
  n: number,
  say: (line: string) => void,
  workload: Workload = "inserts",
): Promise<CapturedSource> {
  const source = await captureSource(db, database);
  const started = performance.now();
  const keys = workload === "inserts" ? n : n / (UPDATE_PASSES + 1);
  for (let i = 1; i <= keys; i += 5000) {
    await db.query(insertRows(i, Math.min(i + 5000, keys + 1)));
  }
  for (let pass = 1; workload === "updates" && pass <= UPDATE_PASSES; pass++) {
    for (let i = 1; i <= keys; i += 5000) {
      await db.query(updateRows(i, Math.min(i + 5000, keys + 1), pass));
    }
  }
  say(
    `${workload}: ${n} changes to ${keys} rows of ${database}.${TABLE} in ${
      secondsSince(started)
    } s`,
  );
  const admin = await stackAdmin();
  try {
    let size = 0;
    await waitFor(
      `${n} events on ${source.topic}`,
      async () => {
        size = await topicSize(admin, source.topic);
        return size >= n;
      },
      30 * 60_000,
      {
        backoff: steadyBackoff(1000),
        progressEveryMs: 10_000,
        onProgress: () => say(`Debezium: ${size}/${n} events on ${source.topic}`),
      },
    );
  } finally {
    await admin.disconnect();
  }
  say(
    `Debezium: all ${n} events on ${source.topic} ${
      secondsSince(started)
    } s after the first insert`,
  );
  await deleteConnector(source.connector);
  return source;
}

/** Seconds since `started` (a `performance.now()`), one decimal. */
export function secondsSince(started: number): string {
  return ((performance.now() - started) / 1000).toFixed(1);
}

/** The `<topic> <records>` arguments of a Kafka read benchmark (`script`), or its usage and exit 2. */
export function readBenchArgs(script: string): { topic: string; count: number } {
  const [topic, count] = [Deno.args[0], Number(Deno.args[1])];
  if (!topic || !(count > 0)) {
    console.error(`usage: deno run -A tests/bench/${script} <topic> <records>`);
    Deno.exit(2);
  }
  return { topic, count };
}

/** Says how long reading `read` records took since `started`, and the process's CPU time. */
export function reportRead(read: number, started: number): void {
  const seconds = (performance.now() - started) / 1000;
  const [utime, stime] = Deno.readTextFileSync("/proc/self/stat").split(" ").slice(13, 15);
  console.error(
    `${read} records in ${seconds.toFixed(2)} s wall; process CPU ${
      ((Number(utime) + Number(stime)) / 100).toFixed(2)
    } s (start-up included)`,
  );
}

/** Kafka's topic-level codec names (`compression.type`), as `--codecs` takes them. */
export const TOPIC_CODECS = ["uncompressed", "gzip", "snappy", "lz4", "zstd"] as const;

/** One of {@linkcode TOPIC_CODECS}. */
export type TopicCodec = typeof TOPIC_CODECS[number];

/**
 * Copies the `count` records of `from` (one partition), keys and values as they are, into a new
 * topic `to` whose `compression.type` is `codec`: the broker recompresses what it is sent, so
 * the copy's log holds batches of that codec, as a user's topic configured so does. With
 * `partitions` above 1, each record goes to its key's partition (tests/bench/workloads.ts).
 */
export async function copyTopic(
  from: string,
  to: string,
  count: number,
  codec: TopicCodec,
  partitions = 1,
): Promise<void> {
  const kafka = kafkaClient({ brokers: [BOOTSTRAP] }, "cdc-bench");
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: `cdc-bench-copy-${to}` });
  await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
  try {
    await admin.createTopics({
      topics: [{
        topic: to,
        numPartitions: partitions,
        configEntries: [{ name: "compression.type", value: codec }],
      }],
      waitForLeaders: true,
    });
    await consumer.subscribe({ topics: [from], fromBeginning: true });
    let copied = 0;
    await new Promise<void>((resolve, reject) =>
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const messages = batch.messages.slice(0, count - copied)
            .map(({ key, value }) => ({ key, value, partition: partitionOf(key, partitions) }));
          if (messages.length === 0) return;
          await producer.send({ topic: to, messages, acks: -1 }).catch(reject);
          copied += messages.length;
          if (copied >= count) resolve();
        },
      })
    );
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteGroups([`cdc-bench-copy-${to}`]).catch(() => undefined);
    await admin.disconnect();
  }
}
