/**
 * The benchmark's sources: a generated 10-column table in the stack's MariaDB whose inserts the
 * stack's Debezium MariaDB connector captures, so every contender reads real Debezium events
 * (with the full `source` block) from one topic; and, for `--workload transactions`, orders and
 * their lines written as multi-table source transactions, captured with Debezium's transaction
 * metadata.
 *
 * @module
 */
import type mysql from "mysql2/promise";
import type { Admin } from "kafkajs";
import { AvroDecoder } from "../../lib/avro/decoder.ts";
import { RegistryClient } from "../../lib/avro/registry.ts";
import type { ConnectorConfig } from "../../lib/debezium/connector_config.ts";
import {
  dataCollectionOf,
  eventsOf,
  transactionMarker,
  transactionTopic,
} from "../../lib/debezium/transactions.ts";
import { createTopic } from "../../lib/kafka/admin.ts";
import { kafkaClient } from "../../lib/kafka/client.ts";
import { BOOTSTRAP, REGISTRY_URL } from "../../tools/stack/config.ts";
import { steadyBackoff, waitFor } from "../../lib/util/retry.ts";
import {
  connectMysql,
  databaseConnectorConfig,
  deleteConnector,
  registerConnector,
} from "../helpers.ts";
import { partitionOf, unitSize } from "./stats.ts";

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
 * What the backlog's events are: `inserts` (every event a new row), `updates` (a tenth of the
 * events insert the keys, then every key is updated 9 times: each key changes 10 times) or
 * `transactions` (orders and their lines, each order one source transaction of 5 inserts in two
 * tables, captured with Debezium's transaction metadata).
 */
export type Workload = "inserts" | "updates" | "transactions";

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

/**
 * What a source is made of: its tables, and the SQL that makes its changes in units (one row of
 * the one-table source; one source transaction of the orders source), each unit making
 * `perUnit` changes in each table, in the order of `tables` ({@linkcode changeOf}).
 */
export interface SourceShape {
  tables: readonly { name: string; ddl: string; perUnit: number }[];
  /**
   * The statements making units `from` (inclusive) to `to` (exclusive), in order; `stamp`:
   * `updated_at` is the server's `NOW(6)` (the latency source stamps each change so).
   */
  units(from: number, to: number, stamp?: boolean): string;
  /** Connector properties beyond the product's configuration. */
  connector?: ConnectorConfig;
}

/** The one-table source: a unit is one row of `items` (a multi-row INSERT is one transaction). */
export const ONE_TABLE: SourceShape = {
  tables: [{ name: TABLE, ddl: SOURCE_DDL, perUnit: 1 }],
  units: insertRows,
};

/** The orders source's tables: an order, and its lines. */
export const ORDERS = "orders";
export const ORDER_LINES = "order_lines";
/** Lines per order: each source transaction of the orders source makes 1 + this many changes. */
export const LINES_PER_ORDER = 4;

const ORDERS_DDL = `CREATE TABLE ${ORDERS} (
  id INT NOT NULL PRIMARY KEY,
  customer VARCHAR(100) NOT NULL,
  email VARCHAR(200) NOT NULL,
  status VARCHAR(20) NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  placed_at DATETIME(3) NOT NULL,
  note VARCHAR(200) NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
)`;

const ORDER_LINES_DDL = `CREATE TABLE ${ORDER_LINES} (
  id INT NOT NULL PRIMARY KEY,
  order_id INT NOT NULL,
  line_no INT NOT NULL,
  sku VARCHAR(40) NOT NULL,
  quantity INT NOT NULL,
  unit_price DECIMAL(10,2) NOT NULL,
  discount DOUBLE NOT NULL,
  gift TINYINT(1) NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY (order_id)
)`;

/**
 * Order `i` as one source transaction: the order's INSERT, then one INSERT of its
 * {@linkcode LINES_PER_ORDER} lines (ids `4i` .. `4i + 3`), committed; what an application
 * placing an order does.
 */
export function orderTransaction(i: number, stamp = false): string {
  const updated = (n: number) =>
    stamp ? "NOW(6)" : `'${datetime(BASE_MS + n)}${String(n % 1000).padStart(3, "0")}'`;
  const note = i % 10 === 0 ? "NULL" : `'ring twice, it''s "urgent" \\\\ ünï 😀 #${i}'`;
  const lines: string[] = [];
  let total = 0;
  for (let l = 0; l < LINES_PER_ORDER; l++) {
    const id = i * LINES_PER_ORDER + l;
    const price = (id * 37 % 10_000) / 100;
    const quantity = 1 + id % 5;
    total += price * quantity;
    lines.push(
      `(${id}, ${i}, ${l + 1}, 'SKU-${id % 997}', ${quantity}, ${price.toFixed(2)}, ${
        (id % 4) / 20
      }, ${id % 7 === 0 ? 1 : 0}, ${updated(id)})`,
    );
  }
  return `START TRANSACTION;
INSERT INTO ${ORDERS} (id, customer, email, status, total, placed_at, note, updated_at) VALUES (${i}, 'customer ${
    i % 5000
  }', 'customer${i % 5000}@example.com', 'placed', ${total.toFixed(2)}, '${
    datetime(BASE_MS + i)
  }', ${note}, ${updated(i)});
INSERT INTO ${ORDER_LINES} (id, order_id, line_no, sku, quantity, unit_price, discount, gift, updated_at) VALUES ${
    lines.join(",")
  };
COMMIT;`;
}

/**
 * The orders source (`--workload transactions`): a unit is one source transaction of an order
 * and its lines ({@linkcode orderTransaction}), captured with Debezium's transaction metadata.
 */
export const ORDERS_SOURCE: SourceShape = {
  tables: [
    { name: ORDERS, ddl: ORDERS_DDL, perUnit: 1 },
    { name: ORDER_LINES, ddl: ORDER_LINES_DDL, perUnit: LINES_PER_ORDER },
  ],
  units: (from, to, stamp) => {
    const transactions: string[] = [];
    for (let i = from; i < to; i++) transactions.push(orderTransaction(i, stamp));
    return transactions.join("\n");
  },
  connector: { "provide.transaction.metadata": "true" },
};

/** A source database with its tables, captured by a Debezium connector of its own. */
export interface CapturedSource {
  database: string;
  topicPrefix: string;
  /** Its tables, and their topics in the same order. */
  tables: readonly string[];
  topics: readonly string[];
  connector: string;
  /** Set when the connector writes transaction metadata: its `<prefix>.transaction` topic. */
  transactionTopic?: string;
}

/** The topic of `table` in `database` under `topicPrefix`. */
export function topicOf(topicPrefix: string, database: string, table: string): string {
  return `${topicPrefix}.${database}.${table}`;
}

/** `source` as if its topics were under `topicPrefix` (a copy of its topics, tables alike). */
export function withTopicPrefix(source: CapturedSource, topicPrefix: string): CapturedSource {
  const topics = source.tables.map((table) => topicOf(topicPrefix, source.database, table));
  return { ...source, topicPrefix, topics };
}

/**
 * Creates `database` with `shape`'s tables and registers a Debezium connector capturing it
 * (the product's connector configuration, as tests/helpers.ts `databaseConnectorConfig`, with
 * the shape's own properties), so the rows written afterwards become streaming events on its
 * tables' topics.
 */
export async function captureSource(
  db: mysql.Connection,
  database: string,
  shape: Pick<SourceShape, "connector"> & { tables: readonly { name: string; ddl: string }[] } =
    ONE_TABLE,
): Promise<CapturedSource> {
  await db.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await db.query(`CREATE DATABASE \`${database}\``);
  await db.query(`USE \`${database}\``);
  for (const table of shape.tables) await db.query(table.ddl);
  const topicPrefix = database;
  const connector = `${database}-source`;
  await registerConnector(
    connector,
    databaseConnectorConfig(database, topicPrefix, shape.connector),
  );
  const tables = shape.tables.map((t) => t.name);
  return {
    database,
    topicPrefix,
    tables,
    topics: tables.map((table) => topicOf(topicPrefix, database, table)),
    connector,
    ...(shape.connector?.["provide.transaction.metadata"] === "true"
      ? { transactionTopic: transactionTopic(topicPrefix) }
      : {}),
  };
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

/** A consumer noting when each record of its topics arrived. */
export interface TopicWatch {
  /** Records arrived so far (each counted once). */
  received(): number;
  stop(): Promise<void>;
}

/**
 * Consumes `topics` (one partition each) from the start with a group of its own, handing each
 * record to `each` with the time it arrived in this process.
 */
async function consumeTopics(
  topics: readonly string[],
  groupId: string,
  each: (topic: number, offset: number, value: Uint8Array | null, at: number) => unknown,
): Promise<() => Promise<void>> {
  const consumer = kafkaClient({ brokers: [BOOTSTRAP] }, "cdc-bench").consumer({
    groupId,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = performance.now();
      const topic = topics.indexOf(batch.topic);
      for (const message of batch.messages) {
        await each(topic, Number(message.offset), message.value, now);
      }
    },
  });
  return () => consumer.disconnect();
}

/**
 * Consumes `topics` (one partition each) from the start, noting in `arrivedAt[change]` when the
 * record of each change arrived in this process (only changes below its length; `change` maps a
 * topic's index and an offset to the change it carries): what Debezium adds between commit and
 * topic.
 */
export async function watchTopics(
  topics: readonly string[],
  groupId: string,
  arrivedAt: Float64Array,
  change: (topic: number, offset: number) => number = (_, offset) => offset,
): Promise<TopicWatch> {
  let received = 0;
  const stop = await consumeTopics(topics, groupId, (topic, offset, _, now) => {
    const i = change(topic, offset);
    if (i < arrivedAt.length && arrivedAt[i] === 0) {
      arrivedAt[i] = now;
      received++;
    }
  });
  return { received: () => received, stop };
}

/**
 * Consumes `source`'s transaction topic from the start, counting the END markers of the source
 * transactions that changed its tables (Debezium writes one for every transaction of the server,
 * a sink's writes included), in commit order: the `k`th such END (from 0) is noted in
 * `endedAt[k]` when it arrived, where `endedAt` is long enough.
 */
export async function watchTransactionEnds(
  source: CapturedSource,
  groupId: string,
  endedAt = new Float64Array(0),
): Promise<TopicWatch> {
  if (!source.transactionTopic) throw new Error(`${source.database}: no transaction metadata`);
  const collections = source.topics.map((topic) => dataCollectionOf(source.topicPrefix, topic));
  const decoder = new AvroDecoder(new RegistryClient(REGISTRY_URL));
  let ends = 0;
  const stop = await consumeTopics([source.transactionTopic], groupId, async (_, __, value, at) => {
    const marker = transactionMarker((await decoder.decode(value!)).value);
    if (marker.status !== "END") return;
    if (!collections.some((c) => eventsOf(marker, c) > 0)) return;
    if (ends < endedAt.length) endedAt[ends] = at;
    ends++;
  });
  return { received: () => ends, stop };
}

/**
 * Makes the benchmark's backlog of `n` events in a fresh captured source: for `inserts`, `n`
 * inserts (5000-row statements); for `updates`, `n / 10` inserts and then 9 passes of UPDATEs
 * over every key (5000-row statements); for `transactions`, `n / 5` source transactions of the
 * orders source, each an order and its 4 lines ({@linkcode orderTransaction}), 1,000 to a
 * multi-statement query. Then waits, printing progress, until Debezium has put all `n` events on
 * the topics (and, for `transactions`, every END marker on the transaction topic); the source
 * connector is deleted afterwards so that it does not compete with the contenders.
 */
export async function makeBacklog(
  db: mysql.Connection,
  database: string,
  n: number,
  say: (line: string) => void,
  workload: Workload = "inserts",
): Promise<CapturedSource> {
  const shape = workload === "transactions" ? ORDERS_SOURCE : ONE_TABLE;
  const source = await captureSource(db, database, shape);
  const started = performance.now();
  const size = unitSize(shape.tables.map((t) => t.perUnit));
  const units = workload === "updates" ? n / (UPDATE_PASSES + 1) : n / size;
  const writer = await connectMysql(database, { multipleStatements: true });
  try {
    // 5000 changes to a query
    const chunk = 5000 / size;
    for (let i = 1; i <= units; i += chunk) {
      await writer.query(shape.units(i, Math.min(i + chunk, units + 1)));
    }
    for (let pass = 1; workload === "updates" && pass <= UPDATE_PASSES; pass++) {
      for (let i = 1; i <= units; i += 5000) {
        await writer.query(updateRows(i, Math.min(i + 5000, units + 1), pass));
      }
    }
  } finally {
    await writer.end();
  }
  say(
    `${workload}: ${n} changes in ${units} units to ${source.tables.join(", ")} of ${database} ` +
      `in ${secondsSince(started)} s`,
  );
  return await awaitBacklog(source, n, say, started, workload === "transactions" ? units : 0);
}

/**
 * Waits, printing progress, until Debezium has put `n` events on `source`'s topics and the END
 * markers of `transactions` source transactions on its transaction topic, then deletes the
 * source connector so that it does not compete with the contenders.
 */
export async function awaitBacklog(
  source: CapturedSource,
  n: number,
  say: (line: string) => void,
  started: number,
  transactions = 0,
): Promise<CapturedSource> {
  const ends = transactions > 0
    ? await watchTransactionEnds(source, `cdc-bench-ends-${source.database}`)
    : undefined;
  const admin = await stackAdmin();
  const topics = `${source.topics.length} topic(s) of ${source.database}`;
  try {
    let events = 0;
    await waitFor(
      `${n} events on ${topics}${ends ? ` and ${transactions} END markers` : ""}`,
      async () => {
        const sizes = await Promise.all(source.topics.map((topic) => topicSize(admin, topic)));
        events = sizes.reduce((a, b) => a + b, 0);
        return events >= n && (ends?.received() ?? 0) >= transactions;
      },
      30 * 60_000,
      {
        backoff: steadyBackoff(1000),
        progressEveryMs: 10_000,
        onProgress: () =>
          say(
            `Debezium: ${events}/${n} events on ${topics}${
              ends ? `, ${ends.received()}/${transactions} END markers` : ""
            }`,
          ),
      },
    );
  } finally {
    await admin.disconnect();
    await ends?.stop();
  }
  say(`Debezium: all ${n} events on ${topics} ${secondsSince(started)} s after the first write`);
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
    await createTopic(admin, {
      topic: to,
      numPartitions: partitions,
      configEntries: [{ name: "compression.type", value: codec }],
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
