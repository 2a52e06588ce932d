/**
 * `cdc stream`: wires source, decoder, pipeline and sink from the command
 * line, waits for the services, runs until a signal or a fatal error.
 *
 * @module
 */
import { type Command, InvalidArgumentError } from "commander";
import { subcommand } from "../command.ts";
import { CliError, EXIT } from "../errors.ts";
import { envelopeReaderSchema } from "../../debezium/envelope.ts";
import { AvroDecoder } from "../../avro/decoder.ts";
import { DryRunSink } from "../../sink/dry_run.ts";
import { logger } from "../../util/log.ts";
import {
  binaryHandlingOption,
  type RegistryOptions,
  registryOptions,
  tableOption,
  topicOptions,
  type WaitOptions,
  waitOptions,
} from "../options/common.ts";
import { kafkaConnection, type KafkaOptions, kafkaOptions } from "../options/kafka.ts";
import { mysqlEndpoint, type MysqlOptions, mysqlOptions } from "../options/mysql.ts";
import { byteSize, duration, envOption, integer, listenAddress } from "../options/option.ts";
import type { Listen } from "../../ops/http_server.ts";
import { StreamMonitor } from "../../ops/monitor.ts";
import { pingMysql } from "../../mysql/endpoint.ts";
import { RegistryClient } from "../../avro/registry.ts";
import { abortable, retry, waitFor } from "../../util/retry.ts";
import { errorMessage } from "../../util/errors.ts";
import { MysqlSink } from "../../sink/mysql_sink.ts";
import type { RowWriter } from "../../sink/writer.ts";
import { describeKafka, KafkaSource } from "../../kafka/mod.ts";
import {
  planPositions,
  readResumePlan,
  resumeLog,
  START_FROM,
  type StartFrom,
} from "../../pipeline/resume.ts";
import {
  streamTarget,
  type StreamTargetOptions,
  streamTargetOptions,
  tableRegexOption,
  type TableTarget,
} from "../options/stream_target.ts";
import { Pipeline, statusLine } from "../../pipeline/pipeline.ts";
import type { OnError, TransactionOptions } from "../../pipeline/stages.ts";
import { dataCollectionOf, transactionTopic } from "../../debezium/transactions.ts";
import type { MappingOptions } from "../../debezium/type_mapping.ts";

const log = logger("stream");

/**
 * How long a stored position past a partition's end is read again before the stream stops:
 * a newly elected leader's high watermark can trail its predecessor's for a moment.
 */
const RESUME_RECHECK_MS = 10_000;

/** Options of `cdc stream`. */
export interface StreamOptions
  extends KafkaOptions, RegistryOptions, MysqlOptions, StreamTargetOptions, WaitOptions {
  startFrom: StartFrom;
  batchSize: number;
  flushMs: number;
  /** `load`: LOAD DATA LOCAL INFILE where possible; `insert`: INSERTs only. */
  writeMethod: "load" | "insert";
  onError: OnError;
  deadLetterTable: string;
  dryRun: boolean;
  statusInterval: number;
  retryTimeout: number;
  sessionTimeout: number;
  transactions: boolean;
  transactionBuffer: number;
  transactionTimeout: number;
  tableRefresh: number;
  binaryHandlingMode: MappingOptions["binaryHandlingMode"];
  httpListen?: Listen;
}

/** The `stream` subcommand. */
export function streamCommand(): Command {
  const command = subcommand<StreamOptions>(
    "stream",
    "stream Debezium change events of one or more tables into <table>_cdc tables, exactly once",
    runStream,
  );
  command.addOption(tableOption("source table to stream"));
  command.addOption(tableRegexOption());
  for (
    const option of [...topicOptions(), ...kafkaOptions(), ...registryOptions(), ...mysqlOptions()]
  ) {
    command.addOption(option);
  }
  const options = [
    ...streamTargetOptions(),
    envOption({
      flags: "--table-refresh <duration>",
      description: "with --table-regex: how often the topics are listed for tables created " +
        "since (a new table joins the group's subscription: the process leaves and joins the " +
        "group again, reading the other tables meanwhile)",
      env: "CDC_TABLE_REFRESH",
      default: "10s",
      parse: duration,
    }),
    envOption({
      flags: "--start-from <where>",
      description: "where a partition starts that has no position stored in the sink: " +
        "stored reads it from the earliest offset (never skipping history still in Kafka), " +
        "group from the group's committed offset; earliest re-reads every partition",
      env: "CDC_START_FROM",
      default: "stored",
      choices: START_FROM,
    }),
    envOption({
      flags: "--batch-size <n>",
      description: "rows per transaction, at most",
      env: "CDC_BATCH_SIZE",
      default: "5000",
      parse: integer(1),
    }),
    envOption({
      flags: "--flush-ms <duration>",
      description: "how old a partial batch may get before it is written when no write is in " +
        "flight (0: at once; while one is in flight, the next batch grows up to --batch-size)",
      env: "CDC_FLUSH_MS",
      default: "0",
      parse: duration,
    }),
    envOption({
      flags: "--write-method <method>",
      description: "how rows reach the server: load (LOAD DATA LOCAL INFILE, about twice the " +
        "rows per second of INSERTs, in every mode, where the server allows local_infile; " +
        "INSERTs otherwise) or insert (multi-row INSERTs only)",
      env: "CDC_WRITE_METHOD",
      default: "load",
      choices: ["load", "insert"],
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
      default: "10s",
      parse: duration,
    }),
    envOption({
      flags: "--retry-timeout <duration>",
      description: "how long a failing write or look-up is retried before the stream stops",
      env: "CDC_RETRY_TIMEOUT",
      default: "10m",
      parse: duration,
    }),
    envOption({
      flags: "--session-timeout <duration>",
      description: "Kafka consumer session timeout: after a kill -9, a restarted process " +
        "waits this long for its partitions (at least the broker's " +
        "group.min.session.timeout.ms, 6s by default)",
      env: "CDC_SESSION_TIMEOUT",
      default: "10s",
      parse: (value: string) => {
        const ms = duration(value);
        if (ms < 1_000) throw new InvalidArgumentError(`expected at least 1s, got "${value}"`);
        return ms;
      },
    }),
    envOption({
      flags: "--transactions",
      description: "apply source transactions whole, across the tables streamed, in commit " +
        "order (needs the connector's provide.transaction.metadata=true; every partition " +
        "goes to one process of the group, the others stand by)",
      env: "CDC_TRANSACTIONS",
      default: false,
    }),
    envOption({
      flags: "--transaction-buffer <size>",
      description: "with --transactions: the most changes held in memory while transactions " +
        "complete; past it the oldest held transaction is applied in parts",
      env: "CDC_TRANSACTION_BUFFER",
      default: "256MiB",
      parse: byteSize,
    }),
    envOption({
      flags: "--transaction-timeout <duration>",
      description: "with --transactions: how long a transaction may stay incomplete once " +
        "every partition is read to its end (its END or changes never came), before it is " +
        "applied as it is",
      env: "CDC_TRANSACTION_TIMEOUT",
      default: "30s",
      parse: duration,
    }),
    binaryHandlingOption(),
    envOption({
      flags: "--http-listen <host:port>",
      description: "serve /metrics (Prometheus), /healthz and /readyz on this address " +
        "(0.0.0.0:9464 in containers; port 0: any free port; default: off)",
      env: "CDC_HTTP_LISTEN",
      parse: listenAddress,
    }),
    ...waitOptions(),
  ];
  for (const option of options) command.addOption(option);
  return command;
}

/** Runs the stream until SIGINT/SIGTERM (exit 0) or a fatal error (exit 1). */
async function runStream(options: StreamOptions): Promise<number> {
  const target = streamTarget(options);
  // the tables streamed: those named, then those --table-regex finds (the maps grow)
  const topics = new Map<string, string>();
  const topicOf = new Map<string, string>();
  const addTables = (tables: readonly TableTarget[]) => {
    for (const t of tables) {
      topics.set(t.topic, t.cdcTable);
      topicOf.set(dataCollectionOf(options.topicPrefix, t.topic), t.topic);
    }
  };
  addTables(target.tables);
  const transactions: TransactionOptions | undefined = options.transactions
    ? {
      topic: transactionTopic(options.topicPrefix),
      topicOf,
      maxHeldBytes: options.transactionBuffer,
      timeoutMs: options.transactionTimeout,
      oneInstant: options.mode === "scd2",
    }
    : undefined;
  const groupId = target.groupId;
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

  const endpoint = options.dryRun ? undefined : await mysqlEndpoint(options);
  const monitor = new StreamMonitor({
    sinkCheck: endpoint && (() => pingMysql(endpoint, 2_000)),
    retryTimeoutMs: options.retryTimeout,
  });
  const registry = new RegistryClient(options.registryUrl, {
    retryTimeoutMs: options.retryTimeout,
    onRetry: (path, error, delayMs) => {
      monitor.registryRetrying();
      log.warn(`schema registry ${path}: ${errorMessage(error)}; retrying in ${delayMs} ms`);
    },
  });
  const writer: RowWriter = !endpoint ? new DryRunSink() : new MysqlSink({
    ...endpoint,
    database: target.sinkDatabase,
    mode: target.mode,
    groupId,
    offsetsTable: options.offsetsTable,
    deadLetterTable: options.deadLetterTable,
    retryTimeoutMs: options.retryTimeout,
    bulkLoad: options.writeMethod === "load",
    onRetry: monitor.sinkRetrying,
  });
  /** What is read now: the tables' topics and, with --transactions, the transaction topic. */
  const sourceTopics = () =>
    transactions ? [...topics.keys(), transactions.topic] : [...topics.keys()];
  const source = new KafkaSource({
    kafka: await kafkaConnection(options),
    groupId,
    topics: sourceTopics(),
    oneProcess: transactions !== undefined,
    events: monitor.sourceEvents,
    sessionTimeoutMs: options.sessionTimeout,
    retryTimeoutMs: options.retryTimeout,
    storedPositions: (topics) => writer.storedPositions(topics),
  });
  /** Tables --table-regex names that are not streamed yet, among the topics there are now. */
  const newTables = async () =>
    target.matching?.(await source.listTopics(stop.signal)).filter((t) => !topics.has(t.topic)) ??
      [];
  const pipeline = new Pipeline(
    {
      tables: topics,
      batchSize: options.batchSize,
      flushMs: options.flushMs,
      onError: options.onError,
      mapping: { binaryHandlingMode: options.binaryHandlingMode },
      keyed: target.mode.needsKey,
      transactions,
    },
    {
      // the stream reads a few fields of each envelope: the rest is skipped, not decoded
      decoder: new AvroDecoder(registry, { project: envelopeReaderSchema }),
      writer,
      committer: source,
      // without the endpoint nobody reads the metrics: the pipeline runs unobserved
      observer: options.httpListen ? monitor.metrics : undefined,
    },
  );
  monitor.metrics.lagFrom(() => pipeline.partitionLag());

  const timers: ReturnType<typeof setInterval>[] = [];
  let streamingSince: number | undefined;
  try {
    if (options.httpListen) monitor.listen(options.httpListen);
    // Every phase ends when the signal aborts: the waits through retry()/delay(), the rest
    // through abortable(); the finally block then closes what was opened.
    await waitForServices(options, registry, writer, source, stop.signal);
    monitor.started();
    if (target.matching) {
      let found: TableTarget[] = [];
      await waitFor(
        "a table matching --table-regex",
        async () => {
          found = await newTables();
          return found.length > 0 || topics.size > 0;
        },
        Infinity,
        {
          signal: stop.signal,
          progressEveryMs: 15_000,
          onProgress: () =>
            log.info(
              `waiting for a topic ${options.topicPrefix}.${options.database}.<table> whose ` +
                `table matches --table-regex ${options.tableRegex}: is the connector registered, ` +
                `and does such a table have rows? (cdc connector status)`,
            ),
        },
      );
      addTables(found);
      await source.addTopics(found.map((t) => t.topic));
    }
    await source.waitForTopics(
      stop.signal,
      (missing) =>
        transactions && missing.includes(transactions.topic)
          ? `is the connector registered with provide.transaction.metadata=true ` +
            `(cdc connector register --transaction-metadata), and has it captured a transaction ` +
            `since? (cdc connector config)`
          : "is the connector registered, and does the table have rows? (cdc connector status)",
    );
    // in the order that another process of the group, writing meanwhile, cannot fool
    const plan = await readResumePlan({
      committed: () => source.committedOffsets(options.waitTimeout, stop.signal),
      // the transaction topic's too: without it, a restart would start that topic at its end
      stored: () => abortable(writer.storedPositions(sourceTopics()), stop.signal),
      watermarks: () => source.watermarks(options.waitTimeout, stop.signal),
    }, {
      groupId,
      startFrom: options.startFrom,
      joinsAtEnd: transactions?.topic,
      recheckMs: RESUME_RECHECK_MS,
      onRecheck: (error) =>
        log.warn(
          `${errorMessage(error)}. Reading the end offsets again for up to ` +
            `${RESUME_RECHECK_MS / 1000}s first: a newly elected leader's may trail for a moment`,
        ),
      signal: stop.signal,
    });
    const markerPartitions = plan.filter((p) => p.topic === transactions?.topic).length;
    if (transactions && markerPartitions !== 1) {
      throw new CliError(
        `the transaction topic ${transactions.topic} has ${markerPartitions} partitions: ` +
          `--transactions applies transactions in the order of their END markers, which one ` +
          `partition keeps (Debezium creates it so); recreate it with one partition`,
      );
    }
    for (const { warn, text } of resumeLog(plan, writer.description)) {
      if (warn) log.warn(text);
      else log.info(text);
    }
    const start = planPositions(plan);
    pipeline.seed(start);
    log.info(
      `streaming ${tableList(topics)} from Kafka ${
        describeKafka(source.options.kafka)
      } into ${writer.description} (group ${groupId})`,
    );
    await source.start(
      start,
      (batch) => pipeline.handleBatch(batch).catch(fail),
      fail,
      stop.signal,
    );
    pipeline.start(fail);
    streamingSince = Date.now();
    if (target.matching) {
      timers.push(tableWatch(newTables, options.tableRefresh, async (found) => {
        log.info(
          `new table(s) matching --table-regex: ${
            found.map((t) => `${t.topic} → ${t.cdcTable}`).join(", ")
          }; each is read from its stored position, else its first offset`,
        );
        addTables(found);
        await source.addTopics(found.map((t) => t.topic));
      }, fail));
    }
    if (options.statusInterval > 0) timers.push(statusTimer(pipeline, options.statusInterval));
    await stopped;
  } catch (error) {
    if (!stop.signal.aborted) fail(error as Error);
  } finally {
    timers.forEach(clearInterval);
    monitor.stopping();
    pipeline.stop();
    try {
      await pipeline.flush();
    } catch (error) {
      fatal ??= error as Error;
    }
    await source.stop();
    await writer.close().catch(() => undefined);
    await monitor.close();
    for (const [name, handler] of signals) Deno.removeSignalListener(name, handler);
  }
  // the rate of the whole run: the last status interval's says little about a run that ended
  const seconds = streamingSince === undefined ? 0 : (Date.now() - streamingSince) / 1000;
  const rate = seconds > 0 ? pipeline.stats.consumed / seconds : 0;
  log.info(`stopped: ${statusLine(pipeline.stats, rate, pipeline.lag)}`);
  if (fatal) throw fatal instanceof CliError ? fatal : new CliError(errorMessage(fatal));
  return EXIT.ok;
}

/** Start-up: registry, sink and Kafka, waited for side by side with backoff, each saying so. */
async function waitForServices(
  options: StreamOptions,
  registry: RegistryClient,
  writer: RowWriter,
  source: KafkaSource,
  signal: AbortSignal,
): Promise<void> {
  const url = registry.baseUrl;
  await Promise.all([
    retry(() => registry.ping(), {
      what: `the schema registry at ${url}`,
      timeoutMs: options.waitTimeout,
      signal,
      onRetry: ({ error, delayMs }) =>
        log.info(
          `waiting for the schema registry at ${url}: ${
            errorMessage(error)
          } (next try in ${delayMs} ms)`,
        ),
    }),
    writer.open(
      options.waitTimeout,
      (error, delayMs) =>
        log.info(
          `waiting for ${writer.description}: ${errorMessage(error)} (next try in ${delayMs} ms)`,
        ),
      signal,
    ),
    source.waitForBroker(options.waitTimeout, signal),
  ]);
}

/** `a → a_cdc, b → b_cdc`; past 10 tables, the first 10 and how many more. */
function tableList(topics: ReadonlyMap<string, string>): string {
  const shown = [...topics].slice(0, 10).map(([t, c]) => `${t} → ${c}`).join(", ");
  return topics.size > 10 ? `${topics.size} tables: ${shown} and ${topics.size - 10} more` : shown;
}

/**
 * Every `intervalMs`, the tables that `find` finds are handed to `add`, one look at a time;
 * a look-up that gave up (Kafka unreachable past the retry timeout) goes to `onFatal`.
 */
function tableWatch(
  find: () => Promise<TableTarget[]>,
  intervalMs: number,
  add: (found: TableTarget[]) => Promise<void>,
  onFatal: (error: Error) => void,
): ReturnType<typeof setInterval> {
  let looking = false;
  return setInterval(async () => {
    if (looking) return;
    looking = true;
    try {
      const found = await find();
      if (found.length > 0) await add(found);
    } catch (error) {
      onFatal(error as Error);
    } finally {
      looking = false;
    }
  }, intervalMs);
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
