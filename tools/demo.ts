/**
 * `deno task demo`: the whole pipeline once, end to end, with real services.
 *
 * With a Docker engine: `docker compose up` (compose.yaml registers the
 * connector and runs the `cdc` streams). Without one: the local stack
 * (tools/stack), then `cdc connector register` and `cdc stream` from source.
 * Either way it waits for the snapshot to land, makes inserts, updates and
 * deletes in the source, and prints the resulting `_cdc` rows as a table. On the local
 * stack the stream applies source transactions whole (`--transactions`): a customer and
 * their address inserted in one transaction are shown to reach the sink together.
 *
 * @module
 */
import mysql from "mysql2/promise";
import { waitFor } from "../lib/util/retry.ts";
import { stackRegisterFlags } from "./stack/connector.ts";
import { RUN_FLAGS } from "./compile.ts";
import { BOOTSTRAP, CONNECT_URL, REGISTRY_URL, SINK_DB, SOURCE_DB } from "./stack/config.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TABLES = ["customers", "addresses"] as const;
const began = performance.now();

function say(line: string): void {
  const t = ((performance.now() - began) / 1000).toFixed(1).padStart(5);
  console.log(`[demo ${t}s] ${line}`);
}

/** Runs a command with inherited output; throws when it fails. */
async function run(
  what: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
) {
  const status = await new Deno.Command(command, { args, env, stdin: "null" }).spawn().status;
  if (!status.success) throw new Error(`${what} failed (exit ${status.code})`);
}

/**
 * Polls `check` until it returns a truthy value (a throw counts as not yet), saying what it
 * waits for now and then; fails after `timeoutMs`, or at once when `signal` aborts.
 */
function waitUntil<T>(
  what: string,
  check: () => Promise<T>,
  timeoutMs = 180_000,
  signal?: AbortSignal,
): Promise<NonNullable<T>> {
  return waitFor(what, check, timeoutMs, {
    backoff: { initialMs: 250, maxMs: 1_000, factor: 2 },
    signal,
    progressEveryMs: 10_000,
    onProgress: ({ elapsedMs }) =>
      say(`waiting for ${what} (${Math.round(elapsedMs / 1000)}s) ...`),
  });
}

async function dockerEngineAnswers(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("docker", {
      args: ["info", "--format", "{{.ServerVersion}}"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false; // no docker client at all
  }
}

const cdcArgs = (...args: string[]) => ["run", ...RUN_FLAGS, `${ROOT}main.ts`, ...args];

/** The stack's port offset, as the next steps must repeat it (else they reach another stack). */
const offset = Deno.env.get("CDC_STACK_PORT_OFFSET");
const stackEnv = offset ? `CDC_STACK_PORT_OFFSET=${offset} ` : "";

/** Where the demo's source and sink database is, and how to stop what the demo started. */
interface Pipeline {
  db: mysql.ConnectionOptions;
  stop: () => Promise<void>;
  nextSteps: string[];
  /** True when the stream applies source transactions whole (`--transactions`). */
  transactions: boolean;
}

async function localPipeline(): Promise<Pipeline> {
  say("no Docker engine answers: using the local stack (Kafka, Apicurio, Connect, MariaDB)");
  await run("deno task stack up", Deno.execPath(), [
    "run",
    "-A",
    `${ROOT}tools/stack/stack.ts`,
    "up",
  ]);
  say("registering the Debezium connector (cdc connector register)");
  await run(
    "cdc connector register",
    Deno.execPath(),
    cdcArgs("connector", "register", ...stackRegisterFlags(), "--transaction-metadata"),
    { CDC_SOURCE_PASSWORD: SOURCE_DB.password },
  );
  const common = ["--bootstrap-servers", BOOTSTRAP, "--registry-url", REGISTRY_URL];

  const logFile = `${ROOT}.stack/logs/demo-stream.log`;
  say(`streaming ${TABLES.join(" and ")} (cdc stream); its log: ${logFile}`);
  await Deno.writeTextFile(logFile, "");
  const stream = new Deno.Command(Deno.execPath(), {
    args: cdcArgs(
      "stream",
      ...TABLES.flatMap((t) => ["--table", t]),
      ...common,
      "--mysql-host",
      SINK_DB.host,
      "--mysql-port",
      String(SINK_DB.port),
      "--mysql-user",
      SINK_DB.user,
      "--flush-ms",
      "200",
      "--transactions",
    ), // deno-fmt-ignore
    env: { CDC_MYSQL_PASSWORD: SINK_DB.password },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // keep the log file and show the stream's own errors if it dies
  let streamLog = "";
  const copying = stream.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write: async (chunk) => {
        streamLog += chunk;
        await Deno.writeTextFile(logFile, chunk, { append: true });
      },
    }),
  );
  let exited = false;
  const died = new AbortController();
  stream.status.then(() => {
    exited = true;
    died.abort(new Error(`cdc stream exited:\n${streamLog}`));
  });
  await waitUntil(
    "cdc stream to start",
    () => Promise.resolve(/streaming .* into /.test(streamLog)),
    120_000,
    died.signal,
  );
  return {
    db: { host: SINK_DB.host, port: SINK_DB.port, user: SINK_DB.user, password: SINK_DB.password },
    stop: async () => {
      if (!exited) stream.kill("SIGTERM");
      await stream.status;
      await copying.catch(() => {});
    },
    nextSteps: [
      `deno run -A main.ts tail --table customers --from-beginning --bootstrap-servers ${BOOTSTRAP} --registry-url ${REGISTRY_URL}`,
      `deno run -A main.ts connector status --connect-url ${CONNECT_URL}`,
      `deno run -A main.ts schemas subjects --registry-url ${REGISTRY_URL}`,
      `${stackEnv}deno task stack status        # services, ports, memory`,
      `${stackEnv}deno task stack down          # tear down (add --wipe to delete the data)`,
    ],
    transactions: true,
  };
}

async function dockerPipeline(): Promise<Pipeline> {
  say("a Docker engine answers: docker compose up (builds the cdc image on the first run)");
  await run("docker compose up", "docker", [
    "compose",
    "-f",
    `${ROOT}compose.yaml`,
    "up",
    "-d",
    "--build",
  ]);
  // not `up --wait`: the one-shot register-connector exits by design; readiness is
  // awaited below, through MySQL and the _cdc tables the streams create
  return {
    // compose.yaml publishes the example MySQL here
    db: { host: "127.0.0.1", port: 3306, user: "root", password: "debezium" },
    stop: () => Promise.resolve(),
    nextSteps: [
      "docker compose run --rm cdc-customers tail --table customers --from-beginning",
      "docker compose run --rm -e CDC_CONNECT_URL=http://connect:8083 cdc-customers connector status",
      "docker compose logs -f cdc-customers",
      "docker compose down -v        # tear down",
    ],
    // compose.yaml runs one stream per table
    transactions: false,
  };
}

/** A connection to the demo database once MySQL accepts one (containers may still be starting). */
function connectWhenReady(options: mysql.ConnectionOptions): Promise<mysql.Connection> {
  return waitUntil(
    `MySQL at ${options.host}:${options.port}`,
    () => mysql.createConnection({ ...options, database: "inventory", dateStrings: true }),
    600_000,
  );
}

/** The rows as an aligned text table. */
function textTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return "(no rows)";
  const columns = Object.keys(rows[0]);
  const cells = rows.map((row) => columns.map((c) => row[c] === null ? "NULL" : String(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join(" | ");
  return [line(columns), widths.map((w) => "-".repeat(w)).join("-+-"), ...cells.map(line)].join(
    "\n",
  );
}

/**
 * One source transaction over both tables, and the sink read in consistent snapshots until
 * either row shows: with `--transactions` the snapshot that first shows one shows both.
 */
async function transactionTogether(db: mysql.Connection, stamp: string): Promise<void> {
  say("one source transaction: a customer and their address, inserted together");
  await db.query("START TRANSACTION");
  const [customer] = await db.execute(
    "INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Demo', ?)",
    [`ada.${stamp}@example.com`],
  );
  const customerId = (customer as { insertId: number }).insertId;
  const [address] = await db.execute(
    "INSERT INTO addresses (customer_id, street, city, state, zip, type) " +
      "VALUES (?, '2 Demo Street', 'Portland', 'Maine', '04101', 'SHIPPING')",
    [customerId],
  );
  const addressId = (address as { insertId: number }).insertId;
  await db.query("COMMIT");
  let snapshots = 0;
  const seen = await waitUntil("the transaction in the sink", async () => {
    await db.query("START TRANSACTION WITH CONSISTENT SNAPSHOT");
    try {
      snapshots++;
      const [rows] = await db.query(
        `SELECT (SELECT COUNT(*) FROM customers_cdc WHERE id = ?) AS customers,
                (SELECT COUNT(*) FROM addresses_cdc WHERE id = ?) AS addresses`,
        [customerId, addressId],
      );
      const { customers, addresses } = (rows as { customers: number; addresses: number }[])[0];
      return Number(customers) + Number(addresses) > 0
        ? { customers: Number(customers), addresses: Number(addresses) }
        : undefined;
    } finally {
      await db.query("COMMIT");
    }
  }, 60_000);
  // leave the source's rows as the demo found them (the inventory's snapshot is compared later)
  await db.execute("DELETE FROM addresses WHERE id = ?", [addressId]);
  await db.execute("DELETE FROM customers WHERE id = ?", [customerId]);
  console.log(
    `  the first of ${snapshots} consistent snapshots of the sink that showed either row showed ` +
      `customers ${seen.customers}, addresses ${seen.addresses}: ${
        seen.customers && seen.addresses ? "together" : "NOT together"
      }`,
  );
}

async function main(): Promise<void> {
  const pipeline = await dockerEngineAnswers() ? await dockerPipeline() : await localPipeline();
  const db = await connectWhenReady(pipeline.db);
  try {
    // A row changed while the connector's initial snapshot runs arrives as a snapshot read
    // ("r"); change the source only once every current row has landed.
    for (const table of TABLES) {
      await waitUntil(`the snapshot of ${table} to land in ${table}_cdc`, async () => {
        // fails until the stream has created the table: not yet
        const [rows] = await db.query(
          `SELECT COUNT(*) AS missing FROM ${table} s WHERE NOT EXISTS ` +
            `(SELECT 1 FROM ${table}_cdc c WHERE c.id = s.id)`,
        );
        return Number((rows as { missing: number }[])[0].missing) === 0;
      });
    }

    const stamp = Date.now().toString(36);
    say("changing the source: inserts, updates and deletes in customers and addresses");
    const change = async (sql: string, values: (string | number)[]) => {
      const [result] = await db.execute(sql, values);
      let i = 0;
      console.log(`  ${sql.replace(/\?/g, () => JSON.stringify(values[i++]))}`);
      return (result as { insertId: number }).insertId;
    };
    const customerId = await change(
      "INSERT INTO customers (first_name, last_name, email) VALUES (?, ?, ?)",
      ["Grace", "Demo", `grace.${stamp}@example.com`],
    );
    const addressId = await change(
      "INSERT INTO addresses (customer_id, street, city, state, zip, type) VALUES (?, ?, ?, ?, ?, ?)",
      [customerId, "1 Demo Street", "Portland", "Maine", "04101", "SHIPPING"],
    );
    await change("UPDATE customers SET email = ? WHERE id = ?", [
      `grace.hopper.${stamp}@example.com`,
      customerId,
    ]);
    await change("UPDATE addresses SET type = 'BILLING', zip = '04102' WHERE id = ?", [addressId]);
    await change("DELETE FROM addresses WHERE id = ?", [addressId]);
    await change("DELETE FROM customers WHERE id = ?", [customerId]);

    const wanted = { customers: customerId, addresses: addressId } as const;
    for (const table of TABLES) {
      await waitUntil(`the changes in ${table}_cdc`, async () => {
        const [rows] = await db.query(
          `SELECT COUNT(*) AS n FROM ${table}_cdc WHERE id = ? AND __op IN ('c','u','d')`,
          [wanted[table]],
        );
        return Number((rows as { n: number }[])[0].n) >= 3;
      }, 120_000);
    }
    for (const table of TABLES) {
      const [rows] = await db.query(
        `SELECT * FROM ${table}_cdc WHERE id = ? ORDER BY __partition, __offset`,
        [wanted[table]],
      );
      console.log(
        `\n${table}_cdc (id ${wanted[table]}):\n${textTable(rows as Record<string, unknown>[])}`,
      );
    }
    if (pipeline.transactions) await transactionTogether(db, stamp);
    console.log("\nLook further:");
    for (const step of pipeline.nextSteps) console.log(`  ${step}`);
  } finally {
    await db.end();
    await pipeline.stop();
  }
}

if (import.meta.main) {
  try {
    await main();
    Deno.exit(0);
  } catch (error) {
    console.error(`demo: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
