/**
 * `cdc tail`: Debezium events of a table (or any Confluent-Avro topic) as
 * JSON lines, key and value decoded: what the seed read with Confluent's
 * Avro console consumer, without a JVM.
 *
 * Reads with a throw-away consumer group that commits nothing and is deleted
 * afterwards: tailing never moves anyone's offsets.
 *
 * @module
 */
import { type Command, Option } from "commander";
import type { Admin, KafkaMessage } from "kafkajs";
import { print, subcommand } from "../cli.ts";
import { CliError, EXIT } from "../errors.ts";
import { AvroDecoder, type DecodedValue } from "../decode.ts";
import { kafkaClient } from "../kafka.ts";
import { logger } from "../log.ts";
import {
  binaryHandlingOption,
  type RegistryOptions,
  registryOptions,
  tableOption,
  tableTopic,
  type TopicOptions,
  topicOptions,
} from "../options/common.ts";
import { kafkaConnection, type KafkaOptions, kafkaOptions } from "../options/kafka.ts";
import { collectList, envOption, integer } from "../options/option.ts";
import { compileRenderer, type JsonValue, type Renderer } from "../render.ts";
import { RegistryClient } from "../registry.ts";
import { errorMessage } from "../retry.ts";
import type { MappingOptions } from "../type_mapping.ts";

const log = logger("tail");

/** Options of `cdc tail`. */
export interface TailOptions extends KafkaOptions, RegistryOptions, TopicOptions {
  table?: string[];
  topic?: string[];
  fromBeginning: boolean;
  last: number;
  max?: number;
  follow: boolean;
  binaryHandlingMode: MappingOptions["binaryHandlingMode"];
}

/** The `tail` subcommand. */
export function tailCommand(): Command {
  const command = subcommand<TailOptions>(
    "tail",
    "print a table's change events as JSON lines, key and value decoded",
    runTail,
  );
  const options = [
    tableOption("source table"),
    new Option("--topic <name>", "a topic by name instead; repeatable (env: comma-separated)")
      .env("CDC_TOPICS")
      .argParser(collectList),
    envOption({
      flags: "--from-beginning",
      description: "start at each partition's first event",
      env: "CDC_TAIL_FROM_BEGINNING",
      default: false,
    }),
    envOption({
      flags: "--last <n>",
      description: "otherwise start this many events before each partition's end",
      env: "CDC_TAIL_LAST",
      default: "10",
      parse: integer(0),
    }),
    envOption({
      flags: "--max <n>",
      description: "stop after printing this many events",
      env: "CDC_TAIL_MAX",
      parse: integer(1),
    }),
    envOption({
      flags: "--follow",
      description: "keep printing new events (default: stop at the end)",
      env: "CDC_TAIL_FOLLOW",
      default: false,
    }),
    ...topicOptions(),
    ...kafkaOptions(),
    ...registryOptions(),
    binaryHandlingOption(),
  ];
  for (const option of options) command.addOption(option);
  command.addHelpText(
    "after",
    "\nEach line: {topic, partition, offset, timestamp, key, value}; decimals, dates and times\n" +
      "as text, bytes as 0x-hex, longs beyond 2^53 as strings. A record that cannot be decoded\n" +
      "is printed with an `error` instead of key and value.",
  );
  return command;
}

/** A partition, where the tail starts in it and, unless following, where it ends. */
interface PartitionRange {
  topic: string;
  partition: number;
  start: number;
  end: number;
}

async function runTail(options: TailOptions): Promise<number> {
  const topics = [
    ...(options.table ?? []).map((t) => tableTopic(options, t)),
    ...(options.topic ?? []),
  ];
  if (topics.length === 0) throw new CliError("give --table or --topic", EXIT.usage);

  const kafka = kafkaClient(await kafkaConnection(options), "cdc-tail", 2);
  const admin = kafka.admin();
  const groupId = `cdc-tail-${crypto.randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  const decoder = new AvroDecoder(new RegistryClient(options.registryUrl));
  const renderers = new Map<number, Renderer>();
  const mapping: MappingOptions = { binaryHandlingMode: options.binaryHandlingMode };
  const render = async (bytes: Uint8Array | null): Promise<JsonValue> => {
    if (bytes === null) return null;
    const decoded: DecodedValue = await decoder.decode(bytes);
    let renderer = renderers.get(decoded.schema.id);
    if (!renderer) {
      renderers.set(decoded.schema.id, renderer = compileRenderer(decoded.schema.schema, mapping));
    }
    return renderer(decoded.value);
  };

  const done = Promise.withResolvers<void>();
  const onSignal = () => done.resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await admin.connect();
    const ranges = await partitionRanges(admin, topics, options);
    const pending = new Set<string>();
    for (const [key, range] of ranges) {
      if (options.follow || range.start < range.end) pending.add(key);
    }
    let printed = 0;
    const limit = options.max ?? Infinity;
    if (pending.size === 0) return EXIT.ok;

    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const key = `${topic}:${partition}`;
        const range = ranges.get(key);
        const offset = Number(message.offset);
        if (!range || offset < range.start || !pending.has(key)) return;
        if (printed >= limit) return;
        print(JSON.stringify(await eventLine(topic, partition, message, render)));
        printed++;
        if (!options.follow && offset + 1 >= range.end) pending.delete(key);
        if (printed >= limit || pending.size === 0) done.resolve();
      },
    });
    for (const { topic, partition, start } of ranges.values()) {
      consumer.seek({ topic, partition, offset: String(start) });
    }
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) done.reject(payload.error);
    });
    await done.promise;
    return EXIT.ok;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await consumer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch((e) => log.debug(errorMessage(e)));
    await admin.disconnect().catch(() => {});
  }
}

/** Start and end offsets of every partition of `topics`, keyed `topic:partition`. */
async function partitionRanges(
  admin: Admin,
  topics: string[],
  options: TailOptions,
): Promise<Map<string, PartitionRange>> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length > 0) {
    throw new CliError(
      `no such topic: ${missing.join(", ")} (is the connector registered, and does the table ` +
        `have rows? cdc connector status)`,
    );
  }
  const ranges = new Map<string, PartitionRange>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const low = Number(p.low);
      const end = Number(p.high);
      const start = options.fromBeginning ? low : Math.max(low, end - options.last);
      ranges.set(`${topic}:${p.partition}`, { topic, partition: p.partition, start, end });
    }
  }
  return ranges;
}

/** One output line; a record that does not decode shows its error instead. */
async function eventLine(
  topic: string,
  partition: number,
  message: KafkaMessage,
  render: (bytes: Uint8Array | null) => Promise<JsonValue>,
): Promise<Record<string, JsonValue>> {
  const line: Record<string, JsonValue> = {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: new Date(Number(message.timestamp)).toISOString(),
  };
  try {
    line.key = await render(message.key);
    line.value = await render(message.value);
  } catch (error) {
    line.error = errorMessage(error);
  }
  return line;
}
