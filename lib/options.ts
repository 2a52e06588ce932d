/**
 * The option vocabulary shared by the subcommands.
 *
 * Every option has an environment variable (12-factor): `CDC_<NAME>`, and the
 * seed's names (`BOOTSTRAP_SERVERS`, `MYSQL_HOST`, ...) where they map.
 * Precedence: flag, then `CDC_*`, then the seed's name, then the default.
 *
 * @module
 */
import { InvalidArgumentError, Option } from "commander";
import type { MysqlEndpoint } from "./mysql_endpoint.ts";
import { legalTopicName } from "./connector_config.ts";

/** How one option is spelled, documented and defaulted. */
export interface OptionSpec {
  /** Commander flags, e.g. `"--batch-size <n>"`. */
  flags: string;
  description: string;
  /** The primary environment variable. */
  env: string;
  /** Older names accepted too (the seed's), weaker than `env`. */
  aliases?: readonly string[];
  default?: string | number | boolean;
  /** A secret: its value never appears in help output or logs. */
  secret?: boolean;
  parse?: (value: string) => unknown;
  choices?: readonly string[];
  /** How the default reads in help, when its value does not (`10s` for 10000). */
  defaultLabel?: string;
}

/** Builds a commander option from a spec, defaults taken from alias variables. */
export function envOption(spec: OptionSpec): Option {
  const aliasSet = spec.aliases?.find((name) => Deno.env.get(name) !== undefined);
  const description = spec.aliases?.length
    ? `${spec.description} (also env ${spec.aliases.join(", ")})`
    : spec.description;
  const option = new Option(spec.flags, description).env(spec.env);
  if (spec.choices) option.choices(spec.choices);
  if (spec.parse) option.argParser((value: string) => spec.parse!(value));
  const fallback = aliasSet === undefined
    ? spec.default
    : (spec.parse ?? ((v: string) => v))(Deno.env.get(aliasSet)!);
  if (fallback !== undefined) {
    option.default(
      fallback,
      spec.secret ? "(set)" : aliasSet ? `${String(fallback)} from ${aliasSet}` : spec.defaultLabel,
    );
  }
  return option;
}

/** Parses a whole number of at least `min`, or explains what was wrong. */
export function integer(min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number >= ${min}, got "${value}"`);
    }
    return n;
  };
}

/** Parses a duration: `500ms`, `30s`, `2m`, or plain milliseconds. */
export function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) {
    throw new InvalidArgumentError(`expected a duration like 500ms, 30s or 2m, got "${value}"`);
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "ms"]!;
  return Math.round(Number(match[1]) * unit);
}

/** Kafka connection options. */
export interface KafkaOptions {
  bootstrapServers: string;
  kafkaSaslMechanism?: "plain" | "scram-sha-256" | "scram-sha-512";
  kafkaUsername?: string;
  kafkaPassword?: string;
  kafkaPasswordFile?: string;
  kafkaTls?: boolean;
  kafkaCaFile?: string;
}

/** Schema registry options. */
export interface RegistryOptions {
  registryUrl: string;
}

/** MySQL/MariaDB connection options (the sink, or the source for `wait`). */
export interface MysqlOptions {
  mysqlHost: string;
  mysqlPort: number;
  mysqlUser: string;
  mysqlPassword?: string;
  mysqlPasswordFile?: string;
  mysqlTls?: boolean;
  mysqlCaFile?: string;
}

/** Kafka Connect options. */
export interface ConnectOptions {
  connectUrl: string;
}

/** Where Debezium's topics are: `<prefix>.<database>.<table>`. */
export interface TopicOptions {
  topicPrefix: string;
  database: string;
}

/** Logging options. */
export interface LogOptions {
  logLevel: "debug" | "info" | "warning" | "error";
  logFormat: "text" | "json";
}

/** Start-up wait option. */
export interface WaitOptions {
  waitTimeout: number;
}

/** `--bootstrap-servers` alone: where Kafka is. */
export const bootstrapOption = (): Option =>
  envOption({
    flags: "--bootstrap-servers <hosts>",
    description: "Kafka bootstrap servers, comma-separated",
    env: "CDC_BOOTSTRAP_SERVERS",
    aliases: ["BOOTSTRAP_SERVERS"],
    default: "localhost:9092",
  });

/** Where Kafka is and how to authenticate to it (SASL, TLS). */
export const kafkaOptions = (): Option[] => [
  bootstrapOption(),
  envOption({
    flags: "--kafka-sasl-mechanism <mechanism>",
    description: "authenticate to Kafka with SASL (needs --kafka-username and a password)",
    env: "CDC_KAFKA_SASL_MECHANISM",
    choices: ["plain", "scram-sha-256", "scram-sha-512"],
  }),
  envOption({
    flags: "--kafka-username <user>",
    description: "SASL user name",
    env: "CDC_KAFKA_USERNAME",
  }),
  envOption({
    flags: "--kafka-password <password>",
    description: "SASL password (prefer the env variable or a file: flags show in ps)",
    env: "CDC_KAFKA_PASSWORD",
    secret: true,
  }),
  envOption({
    flags: "--kafka-password-file <path>",
    description: "read the SASL password from this file",
    env: "CDC_KAFKA_PASSWORD_FILE",
  }),
  envOption({
    flags: "--kafka-tls",
    description: "connect to Kafka over TLS (the system's CAs, or --kafka-ca-file)",
    env: "CDC_KAFKA_TLS",
    default: false,
  }),
  envOption({
    flags: "--kafka-ca-file <path>",
    description:
      "PEM file of the CA(s) that signed the brokers' certificates (implies --kafka-tls)",
    env: "CDC_KAFKA_CA_FILE",
  }),
];

export const registryOptions = (): Option[] => [
  envOption({
    flags: "--registry-url <url>",
    description:
      "schema registry base URL speaking the Confluent API (Apicurio: .../apis/ccompat/v7)",
    env: "CDC_REGISTRY_URL",
    aliases: ["SCHEMA_REGISTRY_URL"],
    default: "http://localhost:8081",
  }),
];

export const connectOptions = (): Option[] => [
  envOption({
    flags: "--connect-url <url>",
    description: "Kafka Connect REST API base URL",
    env: "CDC_CONNECT_URL",
    default: "http://localhost:8083",
  }),
];

export const mysqlOptions = (): Option[] => [
  envOption({
    flags: "--mysql-host <host>",
    description: "MySQL/MariaDB host",
    env: "CDC_MYSQL_HOST",
    aliases: ["MYSQL_HOST"],
    default: "localhost",
  }),
  envOption({
    flags: "--mysql-port <port>",
    description: "MySQL/MariaDB port",
    env: "CDC_MYSQL_PORT",
    aliases: ["MYSQL_PORT"],
    default: 3306,
    parse: integer(1),
  }),
  envOption({
    flags: "--mysql-user <user>",
    description: "MySQL/MariaDB user",
    env: "CDC_MYSQL_USER",
    aliases: ["MYSQL_USER"],
    default: "root",
  }),
  envOption({
    flags: "--mysql-password <password>",
    description: "MySQL/MariaDB password (prefer the env variable or a file: flags show in ps)",
    env: "CDC_MYSQL_PASSWORD",
    aliases: ["MYSQL_PASSWORD"],
    secret: true,
  }),
  envOption({
    flags: "--mysql-password-file <path>",
    description: "read the MySQL/MariaDB password from this file (e.g. a Docker secret)",
    env: "CDC_MYSQL_PASSWORD_FILE",
  }),
  envOption({
    flags: "--mysql-tls",
    description: "connect over TLS, verifying the server (the system's CAs, or --mysql-ca-file)",
    env: "CDC_MYSQL_TLS",
    default: false,
  }),
  envOption({
    flags: "--mysql-ca-file <path>",
    description: "PEM file of the CA(s) that signed the server's certificate (implies --mysql-tls)",
    env: "CDC_MYSQL_CA_FILE",
  }),
];

export const topicOptions = (): Option[] => [
  envOption({
    flags: "--topic-prefix <prefix>",
    description: "Debezium topic prefix (topic.prefix / database.server.name)",
    env: "CDC_TOPIC_PREFIX",
    default: "dbserver1",
  }),
  envOption({
    flags: "--database <name>",
    description: "source database whose tables are captured",
    env: "CDC_DATABASE",
    aliases: ["MYSQL_DATABASE"],
    default: "inventory",
  }),
];

export const waitOptions = (): Option[] => [
  envOption({
    flags: "--wait-timeout <duration>",
    description: "how long start-up waits for each service",
    env: "CDC_WAIT_TIMEOUT",
    default: 120_000,
    defaultLabel: "2m",
    parse: duration,
  }),
];

export const logOptions = (): Option[] => [
  envOption({
    flags: "--log-level <level>",
    description: "lowest level logged",
    env: "CDC_LOG_LEVEL",
    default: "info",
    choices: ["debug", "info", "warning", "error"],
  }),
  envOption({
    flags: "--log-format <format>",
    description: "log line format on stderr",
    env: "CDC_LOG_FORMAT",
    default: "text",
    choices: ["text", "json"],
  }),
];

/** Accumulates a repeatable option whose values (and env variable) may be comma-separated. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((v) => v.trim()).filter(Boolean)];
}

/** `--table <name>`, repeatable; `CDC_TABLES` holds a comma-separated list. */
export function tableOption(description: string): Option {
  return new Option("--table <name>", `${description}; repeat for several (env: comma-separated)`)
    .env("CDC_TABLES")
    .argParser(collectList);
}

/** The connector's `binary.handling.mode`, which the schema does not carry. */
export const binaryHandlingOption = (): Option =>
  envOption({
    flags: "--binary-handling-mode <mode>",
    description: "the connector's binary.handling.mode, to turn text back into bytes",
    env: "CDC_BINARY_HANDLING_MODE",
    default: "bytes",
    choices: ["bytes", "base64", "base64-url-safe", "hex"],
  });

/** `--json`: machine-readable output instead of a summary. */
export const jsonOption = (description: string): Option =>
  envOption({ flags: "--json", description, env: "CDC_JSON", default: false });

/**
 * The topic Debezium writes a table's changes to. Like Debezium's default
 * topic naming, characters Kafka does not allow in topic names become `_`.
 */
export function tableTopic(options: TopicOptions, table: string): string {
  return legalTopicName(`${options.topicPrefix}.${options.database}.${table}`);
}

/**
 * A secret given directly (flag or env) or as a file (trailing newline removed);
 * the file wins. `what` names it in the error when the file cannot be read.
 */
export async function secret(
  value: string | undefined,
  file: string | undefined,
  what: string,
): Promise<string | undefined> {
  if (!file) return value;
  try {
    return (await Deno.readTextFile(file)).replace(/\r?\n$/, "");
  } catch (error) {
    throw new Error(`cannot read the ${what} file ${file}: ${(error as Error).message}`);
  }
}

/** The endpoint the options describe: password from `--mysql-password`/env or its file. */
export async function mysqlEndpoint(options: MysqlOptions): Promise<MysqlEndpoint> {
  const endpoint: MysqlEndpoint = {
    host: options.mysqlHost,
    port: options.mysqlPort,
    user: options.mysqlUser,
    password: await secret(options.mysqlPassword, options.mysqlPasswordFile, "MySQL password"),
  };
  if (options.mysqlCaFile) {
    endpoint.ssl = {
      ca: await secret(undefined, options.mysqlCaFile, "MySQL CA"),
      rejectUnauthorized: true,
    };
  } else if (options.mysqlTls) {
    endpoint.ssl = { rejectUnauthorized: true };
  }
  return endpoint;
}
