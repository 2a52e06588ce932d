/**
 * `cdc stream`: wires source, decoder, pipeline and sink from the command
 * line, waits for the services, runs until a signal or a fatal error.
 *
 * @module
 */
import { type Command, InvalidArgumentError } from "commander";
import { CliError, EXIT, subcommand } from "../cli.ts";
import { AvroDecoder } from "../decode.ts";
import { DryRunSink } from "../dry_run_sink.ts";
import { logger } from "../log.ts";
import {
  binaryHandlingOption,
  duration,
  envOption,
  integer,
  type KafkaOptions,
  kafkaOptions,
  mysqlEndpoint,
  type MysqlOptions,
  mysqlOptions,
  type RegistryOptions,
  registryOptions,
  tableOption,
  tableTopic,
  type TopicOptions,
  topicOptions,
  type WaitOptions,
  waitOptions,
} from "../options.ts";
import { RegistryClient } from "../registry.ts";
import { abortable, errorMessage, retry } from "../retry.ts";
import { MysqlSink, type RowWriter } from "../sink.ts";
import { describeKafka, kafkaConnection } from "../kafka.ts";
import { KafkaSource } from "../source.ts";
import { type OnError, Pipeline, statusLine } from "../stream.ts";
import type { MappingOptions } from "../type_mapping.ts";

const log = logger("stream");

/** Options of `cdc stream`. */
export interface StreamOptions
  extends KafkaOptions, RegistryOptions, MysqlOptions, TopicOptions, WaitOptions {
  table: string[];
  sinkDatabase?: string;
  tableTemplate: string;
  groupId?: string;
  batchSize: number;
  flushMs: number;
  onError: OnError;
  offsetsTable: string;
  deadLetterTable: string;
  dryRun: boolean;
  statusInterval: number;
  retryTimeout: number;
  sessionTimeout: number;
  binaryHandlingMode: MappingOptions["binaryHandlingMode"];
}

/** The `stream` subcommand. */
export function streamCommand(): Command {
  const command = subcommand<StreamOptions>(
    "stream",
    "stream Debezium change events of one or more tables into <table>_cdc tables, exactly once",
    runStream,
  );
  command.addOption(tableOption("source table to stream").makeOptionMandatory());
  for (
    const option of [...topicOptions(), ...kafkaOptions(), ...registryOptions(), ...mysqlOptions()]
  ) {
    command.addOption(option);
  }
  const options = [
    envOption({
      flags: "--sink-database <name>",
      description: "database of the _cdc tables on the sink server (default: --database)",
      env: "CDC_SINK_DATABASE",
    }),
    envOption({
      flags: "--table-template <template>",
      description: "name of the history table; {table} is the source table",
      env: "CDC_TABLE_TEMPLATE",
      default: "{table}_cdc",
    }),
    envOption({
      flags: "--group-id <id>",
      description: "Kafka consumer group, also the key of stored positions " +
        "(default: cdc.<database>.<tables>; keep it when changing the table list)",
      env: "CDC_GROUP_ID",
    }),
    envOption({
      flags: "--batch-size <n>",
      description: "rows per transaction, at most",
      env: "CDC_BATCH_SIZE",
      default: 5000,
      parse: integer(1),
    }),
    envOption({
      flags: "--flush-ms <duration>",
      description: "write a partial batch once its first row is this old",
      env: "CDC_FLUSH_MS",
      default: 1000,
      defaultLabel: "1s",
      parse: duration,
    }),
    envOption({
      flags: "--on-error <policy>",
      description: "bad records (not Confluent framing, unknown schema id, undecodable Avro, " +
        "unmappable type): fail stops, skip counts and goes on, dead-letter keeps them in a table",
      env: "CDC_ON_ERROR",
      default: "fail",
      choices: ["fail", "skip", "dead-letter"],
    }),
    envOption({
      flags: "--offsets-table <name>",
      description: "sink table of stored positions",
      env: "CDC_OFFSETS_TABLE",
      default: "__cdc_offsets",
    }),
    envOption({
      flags: "--dead-letter-table <name>",
      description: "sink table of dead-lettered records",
      env: "CDC_DEAD_LETTER_TABLE",
      default: "__cdc_dead_letter",
    }),
    envOption({
      flags: "--dry-run",
      description: "print rows as JSON lines on stdout instead of writing (no positions stored)",
      env: "CDC_DRY_RUN",
      default: false,
    }),
    envOption({
      flags: "--status-interval <duration>",
      description: "how often a status line is logged (0: never)",
      env: "CDC_STATUS_INTERVAL",
      default: 10_000,
      defaultLabel: "10s",
      parse: duration,
    }),
    envOption({
      flags: "--retry-timeout <duration>",
      description: "how long a failing write or look-up is retried before the stream stops",
      env: "CDC_RETRY_TIMEOUT",
      default: 600_000,
      defaultLabel: "10m",
      parse: duration,
    }),
    envOption({
      flags: "--session-timeout <duration>",
      description: "Kafka consumer session timeout: after a kill -9, a restarted process " +
        "waits this long for its partitions (at least the broker's " +
        "group.min.session.timeout.ms, 6s by default)",
      env: "CDC_SESSION_TIMEOUT",
      default: 10_000,
      defaultLabel: "10s",
      parse: (value: string) => {
        const ms = duration(value);
        if (ms < 1_000) throw new InvalidArgumentError(`expected at least 1s, got "${value}"`);
        return ms;
      },
    }),
    binaryHandlingOption(),
    ...waitOptions(),
  ];
  for (const option of options) command.addOption(option);
  return command;
}

/** Runs the stream until SIGINT/SIGTERM (exit 0) or a fatal error (exit 1). */
async function runStream(options: StreamOptions): Promise<number> {
  const tables = [...new Set(options.table)];
  const topics = new Map(
    tables.map((t) => [tableTopic(options, t), cdcTableName(options.tableTemplate, t)]),
  );
  const groupId = options.groupId ?? `cdc.${options.database}.${[...tables].sort().join(",")}`;
  const stop = new AbortController();
  // Registered before the first await: a signal during start-up must not go unheard.
  const stopped = new Promise<void>((resolve) =>
    stop.signal.addEventListener("abort", () => resolve(), { once: true })
  );
  let fatal: Error | undefined;
  const fail = (error: Error) => {
    fatal ??= error;
    stop.abort();
  };
  const onSignal = (name: string) => () => {
    if (stop.signal.aborted) {
      log.warn(`${name} again: exiting without waiting`);
      Deno.exit(EXIT.failure);
    }
    log.info(`${name}: finishing the batch in flight, then exiting`);
    stop.abort();
  };
  const signals = [["SIGINT", onSignal("SIGINT")], ["SIGTERM", onSignal("SIGTERM")]] as const;
  for (const [name, handler] of signals) Deno.addSignalListener(name, handler);

  const registry = new RegistryClient(options.registryUrl, {
    retryTimeoutMs: options.retryTimeout,
    onRetry: (path, error, delayMs) =>
      log.warn(`schema registry ${path}: ${errorMessage(error)}; retrying in ${delayMs} ms`),
  });
  const writer: RowWriter = options.dryRun ? new DryRunSink() : new MysqlSink({
    ...await mysqlEndpoint(options),
    database: options.sinkDatabase ?? options.database,
    groupId,
    offsetsTable: options.offsetsTable,
    deadLetterTable: options.deadLetterTable,
    retryTimeoutMs: options.retryTimeout,
  });
  const source = new KafkaSource({
    kafka: await kafkaConnection(options),
    groupId,
    topics: [...topics.keys()],
    sessionTimeoutMs: options.sessionTimeout,
  });
  const pipeline = new Pipeline(
    {
      tables: topics,
      batchSize: options.batchSize,
      flushMs: options.flushMs,
      onError: options.onError,
      mapping: { binaryHandlingMode: options.binaryHandlingMode },
    },
    new AvroDecoder(registry),
    writer,
    source,
  );

  const timers: ReturnType<typeof setInterval>[] = [];
  try {
    // Every phase ends when the signal aborts: the waits through retry()/delay(), the rest
    // through abortable(); the finally block then closes what was opened.
    await waitForServices(options, registry, writer, source, stop.signal);
    await source.waitForTopics(stop.signal);
    const stored = await abortable(writer.storedPositions([...topics.keys()]), stop.signal);
    pipeline.seed(stored);
    log.info(
      `streaming ${[...topics].map(([t, c]) => `${t} → ${c}`).join(", ")} from Kafka ${
        describeKafka(source.options.kafka)
      } into ${writer.description} ` +
        `(group ${groupId}, ${
          stored.size ? "resuming from stored positions" : "no stored positions"
        })`,
    );
    await source.start(
      stored,
      (batch) => pipeline.handleBatch(batch).catch(fail),
      fail,
      stop.signal,
    );
    timers.push(
      setInterval(
        () => pipeline.flushIfDue().catch(fail),
        Math.max(50, Math.min(options.flushMs, 1000)),
      ),
    );
    if (options.statusInterval > 0) timers.push(statusTimer(pipeline, options.statusInterval));
    await stopped;
  } catch (error) {
    if (!stop.signal.aborted) fail(error as Error);
  } finally {
    timers.forEach(clearInterval);
    pipeline.stop();
    try {
      await pipeline.flush();
    } catch (error) {
      fatal ??= error as Error;
    }
    await source.stop();
    await writer.close().catch(() => undefined);
    for (const [name, handler] of signals) Deno.removeSignalListener(name, handler);
  }
  log.info(`stopped: ${statusLine(pipeline.stats, 0, pipeline.lag)}`);
  if (fatal) throw fatal instanceof CliError ? fatal : new CliError(errorMessage(fatal));
  return EXIT.ok;
}

/** `{table}_cdc` → `customers_cdc`. */
export function cdcTableName(template: string, table: string): string {
  if (!template.includes("{table}")) {
    throw new CliError(`--table-template "${template}" must contain {table}`, EXIT.usage);
  }
  return template.replaceAll("{table}", table);
}

/** Start-up: registry, sink and Kafka, each waited for with backoff, saying what it waits for. */
async function waitForServices(
  options: StreamOptions,
  registry: RegistryClient,
  writer: RowWriter,
  source: KafkaSource,
  signal: AbortSignal,
): Promise<void> {
  const url = registry.baseUrl;
  await retry(() => registry.ping(), {
    what: `the schema registry at ${url}`,
    timeoutMs: options.waitTimeout,
    signal,
    onRetry: ({ error, delayMs }) =>
      log.info(
        `waiting for the schema registry at ${url}: ${
          errorMessage(error)
        } (next try in ${delayMs} ms)`,
      ),
  });
  await writer.open(
    options.waitTimeout,
    (error, delayMs) =>
      log.info(
        `waiting for ${writer.description}: ${errorMessage(error)} (next try in ${delayMs} ms)`,
      ),
    signal,
  );
  await source.waitForBroker(options.waitTimeout, signal);
}

function statusTimer(pipeline: Pipeline, intervalMs: number): ReturnType<typeof setInterval> {
  let last = { at: Date.now(), consumed: 0 };
  return setInterval(() => {
    const now = Date.now();
    const rate = (pipeline.stats.consumed - last.consumed) / ((now - last.at) / 1000);
    last = { at: now, consumed: pipeline.stats.consumed };
    logger("status").info(statusLine(pipeline.stats, rate, pipeline.lag));
  }, intervalMs);
}
