/**
 * `cdc tail`: Debezium events of a table (or any Confluent-Avro topic) as
 * JSON lines, key and value decoded: what the seed read with Confluent's
 * Avro console consumer, without a JVM.
 *
 * Reads with cdc's own fetches and no consumer group: tailing never joins a group,
 * commits or moves anyone's offsets.
 *
 * @module
 */
import { type Command, Option } from "commander";
import { print, subcommand } from "../command.ts";
import { CliError, EXIT } from "../errors.ts";
import { AvroDecoder, type DecodedValue } from "../../avro/decoder.ts";
import { KafkaAdmin, type PartitionRange, readRanges, type SourceRecord } from "../../kafka/mod.ts";
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
import { compileRenderer, type JsonValue, type Renderer } from "../../ops/render.ts";
import { RegistryClient } from "../../avro/registry.ts";
import { errorMessage } from "../../util/errors.ts";
import type { MappingOptions } from "../../debezium/type_mapping.ts";

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

async function runTail(options: TailOptions): Promise<number> {
  const topics = [
    ...(options.table ?? []).map((t) => tableTopic(options, t)),
    ...(options.topic ?? []),
  ];
  if (topics.length === 0) throw new CliError("give --table or --topic", EXIT.usage);

  const connection = await kafkaConnection(options);
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

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const admin = await KafkaAdmin.connect(connection, "cdc-tail");
  try {
    const ranges = await partitionRanges(admin, topics, options);
    let printed = 0;
    const limit = options.max ?? Infinity;
    if (limit === 0) return EXIT.ok;
    await readRanges(connection, admin, ranges, async (topic, partition, record) => {
      print(JSON.stringify(await eventLine(topic, partition, record, render)));
      return ++printed < limit;
    }, { follow: options.follow, signal: stop.signal });
    return EXIT.ok;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await admin.close();
  }
}

/** Start and (unless following) end offsets of every partition of `topics`. */
async function partitionRanges(
  admin: KafkaAdmin,
  topics: string[],
  options: TailOptions,
): Promise<PartitionRange[]> {
  const existing = await admin.topics();
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length > 0) {
    throw new CliError(
      `no such topic: ${missing.join(", ")} (is the connector registered, and does the table ` +
        `have rows? cdc connector status)`,
    );
  }
  return [...await admin.watermarks(topics)].flatMap(([topic, partitions]) =>
    partitions.map(({ partition, earliest, end }) => ({
      topic,
      partition,
      start: options.fromBeginning ? earliest : Math.max(earliest, end - options.last),
      end,
    }))
  );
}

/** One output line; a record that does not decode shows its error instead. */
async function eventLine(
  topic: string,
  partition: number,
  record: SourceRecord,
  render: (bytes: Uint8Array | null) => Promise<JsonValue>,
): Promise<Record<string, JsonValue>> {
  const line: Record<string, JsonValue> = {
    topic,
    partition,
    offset: record.offset,
    timestamp: new Date(record.timestamp).toISOString(),
  };
  try {
    line.key = await render(record.key);
    line.value = await render(record.value);
  } catch (error) {
    line.error = errorMessage(error);
  }
  return line;
}
