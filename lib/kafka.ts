/**
 * The Kafka client shared by `stream`, `tail` and `wait`, with kafkajs's own
 * log lines routed into `cdc`'s logging.
 *
 * @module
 */
import { Kafka, type LogEntry, logLevel } from "kafkajs";
import { logger } from "./log.ts";

const log = logger("kafka");

/**
 * kafkajs log lines → logtape. Its errors are mostly failures it retries
 * itself, so they are warnings here; `cdc` logs an error when it gives up.
 */
function logCreator() {
  return ({ level, log: entry }: LogEntry) => {
    const { message, ...extra } = entry;
    const text = `${message}`;
    if (level === logLevel.ERROR || level === logLevel.WARN) log.warn(text, extra);
    else log.debug(text, extra);
  };
}

/**
 * A kafkajs client for comma-separated bootstrap servers. `retries` bounds
 * kafkajs's own retrying (0 where the caller has its own deadline).
 */
export function kafkaClient(bootstrapServers: string, clientId = "cdc", retries = 8): Kafka {
  return new Kafka({
    clientId,
    brokers: bootstrapServers.split(",").map((s) => s.trim()).filter(Boolean),
    logLevel: logLevel.INFO,
    logCreator,
    connectionTimeout: 5_000,
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries },
  });
}

/**
 * Asks the cluster once, without kafkajs's own retrying (the caller has its
 * deadline and backoff): resolves when a broker answers a metadata request.
 */
export async function probeKafka(bootstrapServers: string, clientId: string): Promise<void> {
  const admin = kafkaClient(bootstrapServers, clientId, 0).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}
