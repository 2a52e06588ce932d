/**
 * `cdc wait`: waits until Kafka, the schema registry, Kafka Connect and MySQL
 * answer (and, asked for, an HTTP URL such as a stream's `/readyz`), printing a
 * checklist; exit 0 when all do, 1 naming those that did not within
 * `--timeout`. Meant for scripts, CI, container start-up and healthchecks (the
 * image has no shell and no curl).
 *
 * @module
 */
import { type Command, InvalidArgumentError } from "commander";
import { print, subcommand } from "../command.ts";
import { CliError } from "../errors.ts";
import { ConnectClient } from "../../debezium/connect.ts";
import { describeKafka, isRetriableKafkaError, probeKafka } from "../../kafka/mod.ts";
import { logger } from "../../util/log.ts";
import { describeMysql, pingMysql } from "../../mysql/endpoint.ts";
import {
  type ConnectOptions,
  connectOptions,
  type RegistryOptions,
  registryOptions,
} from "../options/common.ts";
import { kafkaConnection, type KafkaOptions, kafkaOptions } from "../options/kafka.ts";
import { mysqlEndpoint, type MysqlOptions, mysqlOptions } from "../options/mysql.ts";
import { duration, envOption } from "../options/option.ts";
import { RegistryClient } from "../../avro/registry.ts";
import { retry } from "../../util/retry.ts";
import { errorMessage } from "../../util/errors.ts";

const log = logger("wait");

/** The services `cdc wait` knows; `http` (`--http-url`) only when named. */
export const SERVICES = ["kafka", "registry", "connect", "mysql", "http"] as const;
type Service = typeof SERVICES[number];
/** Waited for when `--services` is not given. */
const DEFAULT_SERVICES: readonly Service[] = ["kafka", "registry", "connect", "mysql"];

/** Options of `cdc wait`. */
export interface WaitCommandOptions
  extends KafkaOptions, RegistryOptions, ConnectOptions, MysqlOptions {
  services: Service[];
  timeout: number;
  httpUrl: string;
}

/** Parses `kafka,mysql` into known service names. */
export function parseServices(value: string): Service[] {
  const names = value.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(SERVICES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(
      `expected a comma-separated list of ${SERVICES.join(", ")}; got "${value}"`,
    );
  }
  return [...new Set(names)] as Service[];
}

/** The `wait` subcommand. */
export function waitCommand(): Command {
  const command = subcommand<WaitCommandOptions>(
    "wait",
    "wait until Kafka, the schema registry, Kafka Connect and MySQL answer",
    runWait,
  );
  const options = [
    envOption({
      flags: "--services <list>",
      description: `which to wait for, comma-separated`,
      env: "CDC_WAIT_SERVICES",
      default: DEFAULT_SERVICES.join(","),
      parse: parseServices,
    }),
    envOption({
      flags: "--timeout <duration>",
      description: "how long to wait for all of them",
      env: "CDC_WAIT_TIMEOUT",
      default: "2m",
      parse: duration,
    }),
    envOption({
      flags: "--http-url <url>",
      description: "the URL the http service is probed at: any 2xx answer is ready " +
        "(e.g. a stream's /readyz, for a container healthcheck)",
      env: "CDC_WAIT_HTTP_URL",
      default: "http://127.0.0.1:9464/readyz",
    }),
    ...kafkaOptions(),
    ...registryOptions(),
    ...connectOptions(),
    ...mysqlOptions(),
  ];
  for (const option of options) command.addOption(option);
  return command;
}

/** What one check probes, and where. */
interface Check {
  service: Service;
  where: string;
  probe: () => Promise<void>;
  /** Failures not worth waiting out (a refused password). Default: all are retried. */
  isTransient?: (error: unknown) => boolean;
}

async function runWait(options: WaitCommandOptions): Promise<void> {
  const checks = await Promise.all(options.services.map((service) => check(service, options)));
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  const outcomes = await Promise.all(checks.map(async ({ service, where, probe, isTransient }) => {
    try {
      await retry(probe, {
        what: `${service} at ${where}`,
        timeoutMs: options.timeout,
        isTransient,
        onRetry: ({ error, delayMs }) =>
          log.info(
            `waiting for ${service} at ${where}: ${
              errorMessage(error)
            } (next try in ${delayMs} ms)`,
          ),
      });
      print(`ok      ${service.padEnd(8)} ${where} (${seconds()}s)`);
      return undefined;
    } catch (error) {
      print(`FAILED  ${service.padEnd(8)} ${where}: ${errorMessage(error)}`);
      return service;
    }
  }));
  const failed = outcomes.filter((s) => s !== undefined);
  if (failed.length > 0) {
    throw new CliError(
      `not ready within ${Math.round(options.timeout / 1000)}s: ${
        failed.join(", ")
      } (the reasons are above)`,
    );
  }
}

async function check(service: Service, options: WaitCommandOptions): Promise<Check> {
  switch (service) {
    case "kafka": {
      const connection = await kafkaConnection(options);
      return {
        service,
        where: describeKafka(connection),
        probe: () => probeKafka(connection),
        isTransient: isRetriableKafkaError,
      };
    }
    case "registry": {
      const registry = new RegistryClient(options.registryUrl, { requestTimeoutMs: 5_000 });
      return { service, where: registry.baseUrl, probe: () => registry.ping() };
    }
    case "connect": {
      const connect = new ConnectClient(options.connectUrl, { requestTimeoutMs: 5_000 });
      return {
        service,
        where: connect.baseUrl,
        probe: async () => void await connect.info(),
      };
    }
    case "mysql": {
      const endpoint = await mysqlEndpoint(options);
      return {
        service,
        where: describeMysql(endpoint),
        probe: () => pingMysql(endpoint, 5_000),
      };
    }
    case "http":
      return { service, where: options.httpUrl, probe: () => probeHttp(options.httpUrl) };
  }
}

/** GETs `url`: resolves on a 2xx answer, rejects with the status and body otherwise. */
async function probeHttp(url: string): Promise<void> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const body = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${body.trim().slice(0, 200)}`);
}
