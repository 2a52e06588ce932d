/**
 * `cdc status`: how far a stream got and how far behind it is, per table and
 * partition, read from the sink, Kafka and (optionally) Kafka Connect. Needs
 * no running stream. Exit 1 past `--max-lag` or `--max-age`, for cron and probes.
 *
 * @module
 */
import type { Command } from "commander";
import { print, subcommand } from "../command.ts";
import { CliError, EXIT } from "../errors.ts";
import { ConnectClient, type ConnectorStatus } from "../../debezium/connect.ts";
import { describeKafka, KafkaAdmin } from "../../kafka/mod.ts";
import { logger } from "../../util/log.ts";
import { describeMysql } from "../../mysql/endpoint.ts";
import { jsonOption, tableOption, topicOptions } from "../options/common.ts";
import { kafkaConnection, type KafkaOptions, kafkaOptions } from "../options/kafka.ts";
import { mysqlEndpoint, type MysqlOptions, mysqlOptions } from "../options/mysql.ts";
import { duration, envOption, integer } from "../options/option.ts";
import { errorMessage } from "../../util/errors.ts";
import { SinkReader } from "../../sink/reader.ts";
import {
  type ConnectorSummary,
  exceededThresholds,
  renderStatus,
  type StatusReport,
  tableStatus,
} from "../../ops/status.ts";
import {
  streamTarget,
  type StreamTargetOptions,
  streamTargetOptions,
} from "../options/stream_target.ts";

const log = logger("status");

/** Options of `cdc status`. */
export interface StatusOptions extends KafkaOptions, MysqlOptions, StreamTargetOptions {
  connectUrl?: string;
  connector: string;
  json: boolean;
  maxLag?: number;
  maxAge?: number;
}

/** The `status` subcommand. */
export function statusCommand(): Command {
  const command = subcommand<StatusOptions>(
    "status",
    "per table and partition: stored position, end offset, lag, newest __source_ts and its " +
      "age; the group's members; the connector's state. Exit 1 past --max-lag or --max-age",
    runStatus,
  );
  command.addOption(tableOption("source table of the stream").makeOptionMandatory());
  const options = [
    ...topicOptions(),
    ...streamTargetOptions(),
    ...kafkaOptions(),
    ...mysqlOptions(),
    envOption({
      flags: "--connect-url <url>",
      description: "Kafka Connect REST API base URL: when given, the connector's state is shown",
      env: "CDC_CONNECT_URL",
    }),
    envOption({
      flags: "--connector <name>",
      description: "the connector whose state is shown (with --connect-url)",
      env: "CDC_CONNECTOR_NAME",
      default: "inventory-connector",
    }),
    jsonOption("print the report as JSON"),
    envOption({
      flags: "--max-lag <records>",
      description: "exit 1 when a table's lag (records in Kafka not yet in the sink) exceeds this",
      env: "CDC_MAX_LAG",
      parse: integer(0),
    }),
    envOption({
      flags: "--max-age <duration>",
      description: "exit 1 when a table's newest __source_ts is older than this (e.g. 5m)",
      env: "CDC_MAX_AGE",
      parse: duration,
    }),
  ];
  for (const option of options) command.addOption(option);
  return command;
}

async function runStatus(options: StatusOptions): Promise<number> {
  const target = streamTarget(options);
  const topics = target.tables.map((t) => t.topic);
  const connection = await kafkaConnection(options);
  const endpoint = await mysqlEndpoint(options);
  let admin: KafkaAdmin | undefined;
  let sink: SinkReader | undefined;
  try {
    admin = await KafkaAdmin.connect(connection, `cdc-status-${target.groupId}`).catch((error) => {
      throw new CliError(
        `cannot reach Kafka at ${describeKafka(connection)}: ${errorMessage(error)}`,
      );
    });
    const existing = await admin.topics();
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length) {
      throw new CliError(
        `topic(s) ${missing.join(", ")} do not exist: check --table, --database and ` +
          `--topic-prefix, and that the connector captures the table (cdc connector status)`,
      );
    }
    sink = await SinkReader.connect(endpoint).catch((error) => {
      throw new CliError(`cannot reach MySQL ${describeMysql(endpoint)}: ${errorMessage(error)}`);
    });
    // the sink before Kafka's ends: a running stream's positions then never pass them
    const stored = await sink.storedPositions(
      target.sinkDatabase,
      options.offsetsTable,
      target.groupId,
      topics,
    );
    const [offsets, group, connector] = await Promise.all([
      admin.partitionOffsets(target.groupId, topics),
      admin.describeGroup(target.groupId),
      options.connectUrl ? connectorSummary(options.connectUrl, options.connector) : undefined,
    ]);
    const now = new Date();
    const tables = [];
    for (const t of target.tables) {
      tables.push(tableStatus({
        ...t,
        stored: stored.get(t.topic),
        kafka: offsets.get(t.topic) ?? [],
        newest: await sink.newestRows(target.sinkDatabase, t.cdcTable),
      }, now));
    }
    const report: StatusReport = {
      at: now.toISOString(),
      sink: `MySQL ${describeMysql(endpoint)}/${target.sinkDatabase}`,
      group,
      ...(connector ? { connector } : {}),
      tables,
      exceeded: exceededThresholds(tables, options),
    };
    print(options.json ? JSON.stringify(report, null, 2) : renderStatus(report));
    for (const line of report.exceeded) log.error(`exceeded: ${line}`);
    return report.exceeded.length ? EXIT.failure : EXIT.ok;
  } finally {
    await sink?.close();
    await admin?.close();
  }
}

/** The connector's state; an unreachable Connect or unknown connector is reported, not fatal. */
async function connectorSummary(url: string, name: string): Promise<ConnectorSummary> {
  const client = new ConnectClient(url);
  let status: ConnectorStatus;
  try {
    status = await client.status(name);
  } catch (error) {
    return { name, error: errorMessage(error) };
  }
  return {
    name,
    state: status.connector.state,
    tasks: status.tasks.map((t) => ({ id: t.id, state: t.state })),
  };
}
