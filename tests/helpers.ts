/**
 * Test helpers for running `cdc` as users do (a subprocess) against the local
 * stack (waits go through `waitFor` of lib/util/retry.ts: deadlines, never fixed sleeps).
 *
 * @module
 */
import mysql from "mysql2/promise";
import {
  BOOTSTRAP,
  CONNECT_URL,
  CONNECTOR_NAME,
  REGISTRY_URL,
  SINK_DB,
  SOURCE_DATABASE,
  TOPIC_PREFIX,
} from "../tools/stack/config.ts";
import { kafkaClient } from "../lib/kafka/client.ts";
import { inventoryConnectorConfig } from "../tools/stack/connector.ts";
import { RUN_FLAGS } from "../tools/compile.ts";
import {
  ConnectClient,
  ConnectError,
  ConnectorFailedError,
  type ConnectorStatus,
  failureReport,
} from "../lib/debezium/connect.ts";
import type { ConnectorConfig } from "../lib/debezium/connector_config.ts";
import { FinalError, waitFor } from "../lib/util/retry.ts";

/** Endpoints of the local stack, as `cdc` options name them. */
export const STACK = {
  bootstrapServers: BOOTSTRAP,
  registryUrl: REGISTRY_URL,
  connectUrl: CONNECT_URL,
  mysql: SINK_DB,
} as const;

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Connection options and flags that point `cdc` at the local stack. */
export const STACK_FLAGS = [
  "--bootstrap-servers",
  STACK.bootstrapServers,
  "--registry-url",
  STACK.registryUrl,
  "--mysql-host",
  STACK.mysql.host,
  "--mysql-port",
  String(STACK.mysql.port),
  "--mysql-user",
  STACK.mysql.user,
]; // deno-fmt-ignore

/**
 * Arguments of `cdc stream` for `tables` into the sink database `sink`, which
 * also names the consumer group (so every test starts from the beginning).
 */
export function streamArgs(tables: string | string[], sink: string, ...extra: string[]): string[] {
  const tableFlags = [tables].flat().flatMap((table) => ["--table", table]);
  return ["stream", ...tableFlags, "--sink-database", sink, "--group-id", sink, ...STACK_FLAGS, ...extra];
}

/**
 * `cdc stream` arguments for `tables` of `database`, captured by a connector of its own
 * (`databaseConnectorConfig(database, database)`: the topic prefix is the database's
 * name), into `sink`, writing a partial batch after 100 ms.
 */
export function capturedStreamArgs(
  tables: string | string[],
  database: string,
  sink: string,
  ...extra: string[]
): string[] {
  return streamArgs(
    tables,
    sink,
    ...["--topic-prefix", database, "--database", database, "--flush-ms", "100"],
    ...extra,
  );
}

/** Rows in `database`.`table`; 0 while the table does not exist yet. */
export async function countRows(
  connection: mysql.Connection,
  database: string,
  table: string,
): Promise<number> {
  const name = `\`${database.replaceAll("`", "``")}\`.\`${table.replaceAll("`", "``")}\``;
  const rows = await query<{ n: string }>(connection, `SELECT COUNT(*) AS n FROM ${name}`)
    .catch(() => [{ n: "0" }]);
  return Number(rows[0].n);
}

/** A running `cdc` subprocess whose stdout and stderr are collected as they arrive. */
export class CdcProcess {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly done: Promise<Deno.CommandStatus>;

  constructor(args: string[], env: Record<string, string> = {}) {
    // the runner's environment without its CDC_ settings (`eval "$(deno task stack env)"` sets
    // them in a developer's shell): a test says every option it means
    const inherited = Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("CDC_"));
    this.child = new Deno.Command(Deno.execPath(), {
      // exactly the permissions the compiled binary gets
      args: ["run", ...RUN_FLAGS, MAIN, ...args],
      clearEnv: true,
      env: {
        ...Object.fromEntries(inherited),
        CDC_MYSQL_PASSWORD: STACK.mysql.password,
        NO_COLOR: "1",
        ...env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (stream: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) this[into] += chunk;
    };
    const reading = Promise.all([
      collect(this.child.stdout, "stdout"),
      collect(this.child.stderr, "stderr"),
    ]);
    this.done = reading.then(() => this.child.status);
    this.done.then(() => this.exited = true);
  }

  /** Whether the process has ended. */
  exited = false;

  /** Waits until stderr matches `pattern` (or the process ends, which fails). */
  async waitForLog(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    await waitFor(`log line ${pattern}`, () => {
      if (pattern.test(this.stderr)) return true;
      this.#failIfExited(`logging ${pattern}`);
      return false;
    }, timeoutMs);
  }

  /** Throws (ending a {@link waitFor} at once) when the process has ended. */
  #failIfExited(what: string): void {
    if (this.exited) throw new FinalError(`cdc exited before ${what}:\n${this.stderr}`);
  }

  /** Waits until `table` in `database` holds at least `n` rows (failing if cdc exits first). */
  async waitForRows(
    db: mysql.Connection,
    database: string,
    table: string,
    n: number,
    timeoutMs = 60_000,
  ): Promise<void> {
    await waitFor(`${n} rows in ${database}.${table}`, async () => {
      this.#failIfExited(`writing ${n} rows to ${database}.${table}`);
      return await countRows(db, database, table) >= n;
    }, timeoutMs);
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch { /* already exited */ }
    return await this.done;
  }
}

/** Runs `cdc` with `args` to completion. */
export async function runCdc(args: string[], env: Record<string, string> = {}) {
  const process = new CdcProcess(args, env);
  const status = await process.done;
  return { code: status.code, stdout: process.stdout, stderr: process.stderr };
}

/** A MariaDB connection to the stack as the admin user (`options`: mysql2's, beside these). */
export function connectMysql(
  database?: string,
  options: mysql.ConnectionOptions = {},
): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: STACK.mysql.host,
    port: STACK.mysql.port,
    user: STACK.mysql.user,
    password: STACK.mysql.password,
    database,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    ...options,
  });
}

/** Runs one statement and returns its rows. */
export async function query<T = Record<string, unknown>>(
  connection: mysql.Connection,
  sql: string,
  values?: unknown[],
): Promise<T[]> {
  const [rows] = await connection.query(sql, values);
  return rows as T[];
}

/** A short unique suffix for names a test creates. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}

/**
 * Registers the inventory connector (idempotent PUT) and waits until it and its task run
 * and its initial snapshot is through: the precondition of every test that captures real
 * changes. A task that failed (a test before stopped MariaDB under it) is restarted.
 */
export async function ensureInventoryConnector(): Promise<void> {
  await registerInventoryConnector();
  await waitForInventorySnapshot();
}

/** The seeded customers (tools/stack/inventory.sql). */
const SEEDED_CUSTOMERS = 4;

/**
 * Waits until the seeded customers are in their topic: the connector's initial snapshot is
 * through, and what a test writes from now on streams. A test that is the first to register
 * the connector on a fresh stack (the suites of `tools/test_stacks.ts`) otherwise waits for
 * the snapshot inside its own deadlines, and a slow snapshot looked like a stalled `cdc`.
 */
async function waitForInventorySnapshot(): Promise<void> {
  const topic = `${TOPIC_PREFIX}.${SOURCE_DATABASE}.customers`;
  const admin = kafkaClient({ brokers: BOOTSTRAP.split(",") }, "cdc-test-inventory").admin();
  await admin.connect();
  let records = 0;
  try {
    await waitFor(
      `the inventory connector's initial snapshot (${SEEDED_CUSTOMERS} customers in ${topic})`,
      async () => {
        const offsets = await admin.fetchTopicOffsets(topic);
        records = offsets.reduce((n, o) => n + Number(o.high), 0);
        if (records >= SEEDED_CUSTOMERS) return true;
        await connectorStatus(CONNECTOR_NAME); // a failed task ends the wait at once
        return false;
      },
      180_000,
    ).catch((error) => {
      throw new Error(`${error.message} (${records} there)`, { cause: error });
    });
  } finally {
    await admin.disconnect();
  }
}

/** Registers the inventory connector; restarts its task if it failed. */
async function registerInventoryConnector(): Promise<void> {
  try {
    await registerConnector(CONNECTOR_NAME, inventoryConnectorConfig());
  } catch (error) {
    if (!(error instanceof ConnectorFailedError)) throw error;
    await connect.restart(CONNECTOR_NAME, true);
    // the status says FAILED until the restarted task reports again
    await waitFor("the inventory connector's task restarted", async () => {
      try {
        await connect.waitForState(CONNECTOR_NAME, "RUNNING", 120_000);
        return true;
      } catch (failed) {
        if (failed instanceof ConnectorFailedError) return false;
        throw failed;
      }
    }, 120_000);
  }
}

/**
 * The configuration of a connector capturing `database` alone, under `topicPrefix`, with a
 * replication client id and a schema history topic of its own (several run side by side).
 */
export function databaseConnectorConfig(
  database: string,
  topicPrefix: string,
  extra: ConnectorConfig = {},
): ConnectorConfig {
  return inventoryConnectorConfig({
    serverId: 1_000_000 + Math.floor(Math.random() * 1_000_000_000),
    topicPrefix,
    databases: [database],
    historyTopic: `dbhistory.${topicPrefix}`,
    extra,
  });
}

/** The stack's Kafka Connect, through the client `cdc connector` uses. */
const connect = new ConnectClient(STACK.connectUrl);

/** Registers (idempotent PUT) connector `name` and waits until it and its task run. */
export async function registerConnector(
  name: string,
  config: ConnectorConfig,
  timeoutMs = 120_000,
): Promise<void> {
  await connect.putConfig(name, { ...config, name });
  await connect.waitForState(name, "RUNNING", timeoutMs);
}

/** Connect's status of connector `name` (undefined while unknown); throws if anything FAILED. */
export async function connectorStatus(name: string): Promise<ConnectorStatus | undefined> {
  const status = await connect.status(name).catch((error) => {
    if (error instanceof ConnectError && error.status === 404) return undefined;
    throw error;
  });
  const failed = status && failureReport(status);
  // final: a waitFor probing this gives up at once rather than wait for its deadline
  if (failed) throw new FinalError(`connector ${name} failed: ${failed}`);
  return status;
}

/** Deletes connector `name` (a missing one is fine), keeping the shared Connect worker light. */
export async function deleteConnector(name: string): Promise<void> {
  await connect.delete(name).catch((error) => {
    if (!(error instanceof ConnectError && error.status === 404)) throw error;
  });
}

/**
 * Streams the inventory's customers into a new sink database (`adapt` changes the
 * arguments, `env` adds variables), waits until the seeded customers' snapshot rows
 * landed, then stops the stream (exit 0 asserted) and drops the sink.
 * Returns the ended process, for its logs.
 */
export async function streamCustomersSnapshot(options: {
  adapt?: (args: string[]) => string[];
  env?: Record<string, string>;
} = {}): Promise<CdcProcess> {
  await ensureInventoryConnector();
  const sink = `cdc_snap_${uniqueSuffix()}`;
  const args = streamArgs("customers", sink);
  const cdc = new CdcProcess(options.adapt?.(args) ?? args, options.env);
  const db = await connectMysql();
  let status: Deno.CommandStatus;
  try {
    await cdc.waitForRows(db, sink, "customers_cdc", 4);
  } finally {
    status = await cdc.stop();
    await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
    await db.end();
  }
  if (status.code !== 0) throw new Error(`cdc stream exited ${status.code}:\n${cdc.stderr}`);
  return cdc;
}
