/**
 * `cdc connector register|list|status|config|restart|pause|resume|delete`:
 * the Debezium connector through the Kafka Connect REST API.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { print, subcommand } from "../command.ts";
import { CliError, EXIT } from "../errors.ts";
import {
  ConnectClient,
  ConnectorFailedError,
  type ConnectorStatus,
  failureReport,
  stateSummary,
} from "../../debezium/connect.ts";
import {
  type ConnectorConfig,
  type ConnectorRegistration,
  type ConverterKind,
  converterRegistryUrl,
  debeziumConnectorConfig,
  defaultHistoryTopic,
  parseConnectorRegistration,
  redactConnectorConfig,
  type SourceFlavour,
} from "../../debezium/connector_config.ts";
import { logger } from "../../util/log.ts";
import {
  type ConnectOptions,
  connectOptions,
  jsonOption,
  type RegistryOptions,
  registryOptions,
  type TopicOptions,
  topicOptions,
} from "../options/common.ts";
import { bootstrapOption, kafkaConnection, type KafkaOptions } from "../options/kafka.ts";
import { KafkaAdmin } from "../../kafka/mod.ts";
import { duration, envOption, integer } from "../options/option.ts";
import { errorMessage } from "../../util/errors.ts";

const log = logger("connector");

interface NameOptions extends ConnectOptions {
  name: string;
  json?: boolean;
}

interface WaitingOptions extends NameOptions {
  timeout: number;
  wait: boolean;
}

/** Options of `cdc connector register`. */
export interface RegisterOptions
  extends WaitingOptions, KafkaOptions, RegistryOptions, TopicOptions {
  configFile?: string;
  sourceFlavour: SourceFlavour;
  sourceHost: string;
  sourcePort: number;
  sourceUser: string;
  sourcePassword?: string;
  serverId: number;
  historyTopic?: string;
  converter: ConverterKind;
  transactionMetadata: boolean;
  converterRegistryUrl?: string;
  set: ConnectorConfig;
}

const nameOption = () =>
  envOption({
    flags: "--name <connector>",
    description: "connector name",
    env: "CDC_CONNECTOR_NAME",
    default: "inventory-connector",
  });

const connectJson = () => jsonOption("print Kafka Connect's JSON instead of a summary");

const waitingOptions = () => [
  envOption({
    flags: "--timeout <duration>",
    description: "how long to wait for the connector and its tasks to reach the state",
    env: "CDC_CONNECTOR_TIMEOUT",
    default: "2m",
    parse: duration,
  }),
  new Option("--no-wait", "return once Kafka Connect accepted the request (env: set to skip)")
    .env("CDC_NO_WAIT"),
];

/** `key=value` pairs collected into a config; the env variable holds a JSON object. */
export function collectSetting(value: string, previous: ConnectorConfig = {}): ConnectorConfig {
  if (value.trimStart().startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new InvalidArgumentError(`not a JSON object: ${(error as Error).message}`);
    }
    const entries = Object.entries(parsed as Record<string, unknown>);
    if (entries.some(([, v]) => typeof v === "object" && v !== null)) {
      throw new InvalidArgumentError("expected a flat JSON object of properties");
    }
    return { ...previous, ...Object.fromEntries(entries.map(([k, v]) => [k, String(v)])) };
  }
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** The `connector` command and its subcommands. */
export function connectorCommand(): Command {
  const command = new Command("connector")
    .description("manage the Debezium connector through the Kafka Connect REST API");
  const withName = (sub: Command, ...extra: Option[]) => {
    for (const option of [...connectOptions(), nameOption(), ...extra]) sub.addOption(option);
    return command.addCommand(sub);
  };

  withName(registerCommand(), ...waitingOptions());
  withName(
    subcommand<NameOptions>("list", "list connectors with their state", async (options) => {
      const all = await client(options).list();
      if (options.json) return print(JSON.stringify(all, null, 2));
      if (all.length === 0) print("no connectors");
      for (const status of all) print(`${status.name}: ${stateSummary(status)}`);
    }),
    connectJson(),
  );
  withName(
    subcommand<NameOptions>(
      "status",
      "show the connector's and its tasks' state, with readable errors; exit 1 when FAILED",
      async (options) => {
        const status = await client(options).status(options.name);
        print(options.json ? JSON.stringify(status, null, 2) : statusReport(status));
        if (failureReport(status)) throw failedError(options.name);
      },
    ),
    connectJson(),
  );
  withName(
    subcommand<NameOptions>(
      "config",
      "print the connector's configuration as JSON (secrets shown as ***)",
      async (options) => {
        const config = await client(options).config(options.name);
        print(JSON.stringify(sortKeys(redactConnectorConfig(config)), null, 2));
      },
    ),
  );
  withName(
    subcommand<WaitingOptions & { onlyFailed?: boolean }>(
      "restart",
      "restart the connector and its tasks, then wait until they run",
      async (options) => {
        await client(options).restart(options.name, options.onlyFailed);
        log.info(`restart of ${options.name} requested`);
        return await waitAndReport(options, "RUNNING");
      },
    ),
    envOption({
      flags: "--only-failed",
      description: "restart only the failed connector/tasks",
      env: "CDC_ONLY_FAILED",
      default: false,
    }),
    ...waitingOptions(),
  );
  withName(
    subcommand<WaitingOptions>("pause", "pause the connector", async (options) => {
      await client(options).pause(options.name);
      return await waitAndReport(options, "PAUSED");
    }),
    ...waitingOptions(),
  );
  withName(
    subcommand<WaitingOptions>("resume", "resume a paused connector", async (options) => {
      await client(options).resume(options.name);
      return await waitAndReport(options, "RUNNING");
    }),
    ...waitingOptions(),
  );
  withName(
    subcommand<WaitingOptions>(
      "delete",
      "delete the connector (its topics and the schema history stay)",
      async (options) => {
        const connect = client(options);
        await connect.delete(options.name);
        if (options.wait) await connect.waitForDeletion(options.name, options.timeout);
        print(`deleted connector ${options.name}`);
      },
    ),
    ...waitingOptions(),
  );
  return command;
}

function registerCommand(): Command {
  const command = subcommand<RegisterOptions>(
    "register",
    "create or update the connector (idempotent PUT), then wait until it and its tasks run",
    register,
  );
  const options = [
    envOption({
      flags: "--config-file <path>",
      description: 'connector JSON ({"name", "config"} or a bare config), e.g. ' +
        "schemas/inventory-connector.json; the flags below are then ignored but " +
        "--source-password (if set) replaces database.password",
      env: "CDC_CONNECTOR_CONFIG_FILE",
    }),
    envOption({
      flags: "--source-flavour <flavour>",
      description: "source server: which Debezium connector reads it",
      env: "CDC_SOURCE_FLAVOUR",
      default: "mysql",
      choices: ["mysql", "mariadb"],
    }),
    envOption({
      flags: "--source-host <host>",
      description: "source MySQL/MariaDB host as Kafka Connect reaches it",
      env: "CDC_SOURCE_HOST",
      default: "mysql",
    }),
    envOption({
      flags: "--source-port <port>",
      description: "source MySQL/MariaDB port",
      env: "CDC_SOURCE_PORT",
      default: "3306",
      parse: integer(1),
    }),
    envOption({
      flags: "--source-user <user>",
      description: "user Debezium reads the binlog as",
      env: "CDC_SOURCE_USER",
      default: "debezium",
    }),
    envOption({
      flags: "--source-password <password>",
      description: "its password (prefer the env variable: flags show in ps); " +
        "default: the Debezium example's",
      env: "CDC_SOURCE_PASSWORD",
      secret: true,
    }),
    envOption({
      flags: "--server-id <id>",
      description: "replication client id, unique among the source's replicas",
      env: "CDC_SERVER_ID",
      default: "184054",
      parse: integer(1),
    }),
    ...topicOptions(),
    bootstrapOption(),
    envOption({
      flags: "--history-topic <topic>",
      description: "Debezium's schema history topic (default: dbhistory.<database>, " +
        "each character outside [a-zA-Z0-9._-] replaced by _, as Debezium names data topics)",
      env: "CDC_HISTORY_TOPIC",
    }),
    ...registryOptions(),
    envOption({
      flags: "--transaction-metadata",
      description: "have Debezium write each source transaction's BEGIN and END markers " +
        "(<prefix>.transaction) and its id on every change (provide.transaction.metadata), " +
        "which cdc stream --transactions needs",
      env: "CDC_TRANSACTION_METADATA",
      default: false,
    }),
    envOption({
      flags: "--converter <kind>",
      description: "Avro converter on the Connect worker (both write the Confluent format; " +
        "apicurio turns an explicit NULL in a column with a DEFAULT into the DEFAULT: " +
        "see docs/design.md)",
      env: "CDC_CONVERTER",
      default: "apicurio",
      choices: ["apicurio", "confluent"],
    }),
    envOption({
      flags: "--converter-registry-url <url>",
      description: "registry URL the converter uses (default: for apicurio, --registry-url " +
        "with /apis/ccompat/v7 → /apis/registry/v3; for confluent, --registry-url)",
      env: "CDC_CONVERTER_REGISTRY_URL",
    }),
  ];
  for (const option of options) command.addOption(option);
  command.addOption(
    new Option(
      "--set <key=value>",
      'any further connector property; repeatable (env: a JSON object, {"key": "value"})',
    )
      .env("CDC_CONNECTOR_SET")
      .argParser(collectSetting)
      .default({}, "none"),
  );
  command.addHelpText(
    "after",
    "\nKafka Connect reaches Kafka, the source and the registry at the addresses given here;\n" +
      "they may differ from the ones `cdc stream` uses (e.g. service names in Compose).",
  );
  return command;
}

/** The registration `register` sends: from the file, or built from the options. */
export async function registration(options: RegisterOptions): Promise<ConnectorRegistration> {
  if (options.configFile) {
    let text: string;
    try {
      text = await Deno.readTextFile(options.configFile);
    } catch (error) {
      throw new CliError(`cannot read --config-file ${options.configFile}: ${errorMessage(error)}`);
    }
    const fromFile = parseConnectorRegistration(text, options.configFile);
    if (options.sourcePassword !== undefined) {
      fromFile.config["database.password"] = options.sourcePassword;
    }
    return fromFile;
  }
  const config = debeziumConnectorConfig({
    name: options.name,
    flavour: options.sourceFlavour,
    hostname: options.sourceHost,
    port: options.sourcePort,
    user: options.sourceUser,
    password: options.sourcePassword ?? "dbz",
    serverId: options.serverId,
    topicPrefix: options.topicPrefix,
    databases: [options.database],
    bootstrapServers: options.bootstrapServers,
    historyTopic: options.historyTopic ?? defaultHistoryTopic(options.database),
    converter: options.converter,
    converterRegistryUrl: options.converterRegistryUrl ??
      converterRegistryUrl(options.converter, options.registryUrl),
    snapshotMode: "initial",
    transactionMetadata: options.transactionMetadata,
    extra: options.set,
  });
  return { name: options.name, config };
}

async function register(options: RegisterOptions): Promise<number> {
  let wanted: ConnectorRegistration;
  try {
    wanted = await registration(options);
  } catch (error) {
    throw error instanceof CliError ? error : new CliError(errorMessage(error), EXIT.usage);
  }
  const connect = client(options);
  const outcome = await connect.putConfig(wanted.name, wanted.config);
  log.info(`connector ${wanted.name} ${outcome} at ${connect.baseUrl}`);
  if (wanted.config["provide.transaction.metadata"] === "true") {
    await ensureTransactionTopic(options, wanted.config);
  }
  return await waitAndReport({ ...options, name: wanted.name }, "RUNNING");
}

/**
 * Creates the connector's transaction topic (one partition, as Debezium would) unless it
 * exists: Debezium makes it with the first transaction after it starts, and
 * `cdc stream --transactions` waits for it, so a stream started on a quiet source would
 * wait for a first change. Failing to reach Kafka here is only a warning.
 */
async function ensureTransactionTopic(
  options: RegisterOptions,
  config: ConnectorConfig,
): Promise<void> {
  const topic = `${config["topic.prefix"]}.${config["topic.transaction"] ?? "transaction"}`;
  let admin: KafkaAdmin | undefined;
  try {
    admin = await KafkaAdmin.connect(await kafkaConnection(options), "cdc-connector");
    if (await admin.ensureTopic(topic, 1)) log.info(`created the transaction topic ${topic}`);
  } catch (error) {
    log.warn(
      `could not make sure the transaction topic ${topic} exists (${errorMessage(error)}); ` +
        `Debezium creates it with the first transaction it captures`,
    );
  } finally {
    await admin?.close();
  }
}

/** Waits (unless --no-wait) for `state`, logging progress; prints the final status. */
async function waitAndReport(
  options: WaitingOptions,
  state: "RUNNING" | "PAUSED",
): Promise<number> {
  const connect = client(options);
  if (!options.wait) return EXIT.ok;
  const started = Date.now();
  try {
    const status = await connect.waitForState(
      options.name,
      state,
      options.timeout,
      (summary) =>
        log.info(
          `waiting for ${options.name} to be ${state}: ${summary} (${
            Math.round((Date.now() - started) / 1000)
          }s)`,
        ),
    );
    print(statusReport(status));
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ConnectorFailedError) {
      print(statusReport(error.status));
      throw failedError(options.name);
    }
    throw error;
  }
}

/** A status as lines: the connector, then each task, failures with their trace. */
export function statusReport(status: ConnectorStatus): string {
  const lines = [
    `${status.name}: ${status.connector.state}${
      status.type ? ` (${status.type})` : ""
    } on ${status.connector.worker_id}`,
    ...status.tasks.map((task) => `  task ${task.id}: ${task.state} on ${task.worker_id}`),
  ];
  const failures = failureReport(status);
  return failures ? `${lines.join("\n")}\n${failures}` : lines.join("\n");
}

function failedError(name: string): CliError {
  return new CliError(
    `${name} failed; fix the cause, then \`cdc connector restart --name ${name}\``,
  );
}

function client(options: ConnectOptions): ConnectClient {
  return new ConnectClient(options.connectUrl);
}

function sortKeys(config: ConnectorConfig): ConnectorConfig {
  return Object.fromEntries(Object.entries(config).sort(([a], [b]) => a.localeCompare(b)));
}
