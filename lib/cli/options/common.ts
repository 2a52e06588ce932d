/**
 * The options that are not a client's connection: where the topics are, the schema
 * registry and Kafka Connect URLs, start-up waits, logging, tables and output.
 *
 * @module
 */
import { Option } from "commander";
import { legalTopicName } from "../../debezium/connector_config.ts";
import { collectList, duration, envOption } from "./option.ts";

/** Schema registry options. */
export interface RegistryOptions {
  registryUrl: string;
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
    default: "2m",
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
