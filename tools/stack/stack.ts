/**
 * The local real-service stack: `deno task stack <command>`.
 *
 * ```
 * up [service...]          start what is not running (all services by default)
 * down [--wipe]            stop every service; --wipe also deletes their data
 * status                   each service, its endpoint and whether it answers
 * env                      the CDC_* exports pointing cdc at the stack: eval "$(deno task stack env)"
 * start|stop|restart NAME  one service: mariadb, kafka (kafka2, kafka3: more nodes), registry
 *                          or connect
 * kill NAME                SIGKILL one service (a crash, for experiments)
 * ```
 *
 * @module
 */

import { cdcEnv, shellExports } from "./cdc_env.ts";
import { KAFKA_NODES, KAFKA_VERSION, LOG_DIR, STATE_DIR, VERSIONS } from "./config.ts";
import {
  downloadAll,
  isServiceName,
  KAFKA_SERVICES,
  restartService,
  SERVICE_NAMES,
  type ServiceName,
  stackStatus,
  startService,
  stopService,
} from "./services.ts";
import { errorMessage } from "../../lib/util/errors.ts";
import { exists } from "./proc.ts";

const began = performance.now();

function say(line: string): void {
  const t = ((performance.now() - began) / 1000).toFixed(1).padStart(6);
  console.log(`[stack ${t}s] ${line}`);
}

const USAGE = `usage: deno task stack <command>
  up [service...]          start whatever is not running (default: all), wait until it answers
  down [--wipe]            stop every service and free its ports; --wipe deletes .stack data
  status                   show each service; exit 0 only if all answer
  env                      print the CDC_* exports that point cdc at the stack:
                             eval "$(deno task stack env)"; exit 1 if a service does not answer
  start|stop|restart NAME  act on one service
  kill NAME                SIGKILL one service (simulated crash)
services: ${SERVICE_NAMES.join(", ")}
  (CDC_STACK_KAFKA_NODES=3: three Kafka nodes, kafka, kafka2, kafka3; CDC_STACK_KAFKA_VERSION:
  the brokers' Kafka version; CDC_STACK_PORT_OFFSET: added to every port)`;

function services(args: string[]): ServiceName[] {
  if (args.length === 0) return [...SERVICE_NAMES];
  for (const arg of args) {
    if (!isServiceName(arg)) throw new UsageError(`unknown service "${arg}"`);
  }
  // keep dependency order whatever the order given
  return SERVICE_NAMES.filter((name) => args.includes(name));
}

class UsageError extends Error {}

function isKafka(name: ServiceName): boolean {
  return (KAFKA_SERVICES as readonly string[]).includes(name);
}

async function up(names: ServiceName[]): Promise<void> {
  say(
    `up: ${
      names.join(", ")
    } (Kafka ${KAFKA_VERSION} x ${KAFKA_NODES}, Connect ${VERSIONS.kafka}, ` +
      `Debezium ${VERSIONS.debezium}, ` +
      `Apicurio Registry ${VERSIONS.registry}, converter ${VERSIONS.converter}); state in ${STATE_DIR}`,
  );
  await Deno.mkdir(LOG_DIR, { recursive: true });
  await downloadAll(say);
  // Connect needs Kafka; the others start side by side.
  const first = names.filter((n) => n !== "connect");
  const results = await Promise.allSettled(first.map((n) => startService(n, { say })));
  const failed = results.flatMap((r, i) => r.status === "rejected" ? [[first[i], r.reason]] : []);
  if (failed.length === 0 && names.includes("connect")) {
    try {
      await startService("connect", { say });
    } catch (error) {
      failed.push(["connect", error]);
    }
  }
  if (failed.length > 0) {
    for (const [name, error] of failed) say(`${name}: FAILED: ${errorMessage(error)}`);
    throw new Error(`could not start ${failed.map(([n]) => n).join(", ")}`);
  }
  say(`up: all running (${((performance.now() - began) / 1000).toFixed(1)}s); logs in ${LOG_DIR}`);
}

async function down(wipe: boolean): Promise<void> {
  const errors: string[] = [];
  const stop = async (name: ServiceName) => {
    try {
      await stopService(name, {
        say,
        graceMs: KAFKA_NODES > 1 && isKafka(name) ? 15_000 : undefined,
      });
    } catch (error) {
      errors.push(`${name}: ${errorMessage(error)}`);
    }
  };
  // Kafka's nodes together: one at a time, the last one waits for a quorum that is gone (a
  // graceful stop of the third of three took the full 60 s grace; all three at once take ~7 s).
  // Even together, one may be left in its controlled shutdown as the others go: 15 s, then
  // SIGKILL (its logs are recovered at the next start).
  for (const group of [["connect"], ["registry"], KAFKA_SERVICES, ["mariadb"]] as const) {
    await Promise.all(group.map(stop));
  }
  if (errors.length > 0) throw new Error(errors.join("\n"));
  if (wipe && exists(STATE_DIR)) {
    for (const entry of Deno.readDirSync(STATE_DIR)) {
      if (entry.name === "logs") continue;
      await Deno.remove(`${STATE_DIR}/${entry.name}`, { recursive: true });
    }
    say(`down: data in ${STATE_DIR} wiped (logs kept)`);
  }
  say("down: all stopped");
}

async function status(): Promise<boolean> {
  const rows = await stackStatus();
  const mb = (bytes: number) => bytes ? `${(bytes / 1048576).toFixed(0)} MB` : "-";
  console.log(
    ["service".padEnd(9), "state".padEnd(8), "pid".padEnd(8), "rss".padEnd(8), "endpoint"].join(
      " ",
    ),
  );
  for (const row of rows) {
    const state = row.ready ? "up" : row.pid ? "starting" : "down";
    console.log(
      [
        row.name.padEnd(9),
        state.padEnd(8),
        String(row.pid ?? "-").padEnd(8),
        mb(row.rssBytes).padEnd(8),
        row.endpoint + (row.executable ? `  [${row.executable}]` : ""),
      ].join(" "),
    );
  }
  const total = rows.reduce((sum, row) => sum + row.rssBytes, 0);
  console.log(`total RSS ${mb(total)}; logs in ${LOG_DIR}`);
  return rows.every((row) => row.ready);
}

/**
 * Prints the exports (stdout, for `eval`); says on stderr which services do not answer, so
 * that a stopped stack is noticed before cdc waits for it.
 */
async function env(): Promise<boolean> {
  Deno.stdout.writeSync(new TextEncoder().encode(shellExports(cdcEnv())));
  const down = (await stackStatus()).filter((row) => !row.ready).map((row) => row.name);
  if (down.length > 0) {
    console.error(`stack: not answering: ${down.join(", ")} (deno task stack up)`);
  }
  return down.length === 0;
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "up":
      await up(services(rest));
      return 0;
    case "down":
      if (rest.some((a) => a !== "--wipe")) throw new UsageError(`down takes only --wipe`);
      await down(rest.includes("--wipe"));
      return 0;
    case "status":
      return await status() ? 0 : 1;
    case "env":
      if (rest.length > 0) throw new UsageError(`env takes no arguments`);
      return await env() ? 0 : 1;
    case "start":
    case "stop":
    case "restart":
    case "kill": {
      if (rest.length !== 1) throw new UsageError(`${command} takes one service`);
      const [name] = services(rest);
      if (command === "start") await startService(name, { say });
      if (command === "stop") await stopService(name, { say });
      if (command === "kill") await stopService(name, { say, kill: true });
      if (command === "restart") await restartService(name, { say });
      return 0;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`stack: ${error.message}\n${USAGE}`);
      Deno.exit(2);
    }
    console.error(`stack: ${errorMessage(error)}`);
    Deno.exit(1);
  }
}
