/**
 * The Kafka client shared by `stream`, `tail` and `wait`, with kafkajs's own
 * log lines routed into `cdc`'s logging.
 *
 * @module
 */
import { Kafka, type LogEntry, logLevel } from "kafkajs";
import { logger } from "./log.ts";

const log = logger("kafka");

/** kafkajs log lines → logtape; its debug chatter stays at debug. */
function logCreator() {
  return ({ level, log: entry }: LogEntry) => {
    const { message, ...extra } = entry;
    const text = `${message}`;
    if (level === logLevel.ERROR) log.error(text, extra);
    else if (level === logLevel.WARN) log.warn(text, extra);
    else if (level === logLevel.INFO) log.debug(text, extra);
    else log.debug(text, extra);
  };
}

/** A kafkajs client for comma-separated bootstrap servers. */
export function kafkaClient(bootstrapServers: string, clientId = "cdc"): Kafka {
  return new Kafka({
    clientId,
    brokers: bootstrapServers.split(",").map((s) => s.trim()).filter(Boolean),
    logLevel: logLevel.INFO,
    logCreator,
    connectionTimeout: 5_000,
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 },
  });
}
