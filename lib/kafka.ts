/**
 * The Kafka client shared by `stream`, `tail` and `wait`, with kafkajs's own
 * log lines routed into `cdc`'s logging.
 *
 * @module
 */
import { Kafka, type LogEntry, logLevel, type SASLOptions } from "kafkajs";
import process from "node:process";
import { logger } from "./log.ts";

const log = logger("kafka");

// kafkajs's request queue schedules its next check with a negative delay when nothing is
// pending (tulios/kafkajs#1751); the runtime clamps it to 1 ms and prints a
// TimeoutNegativeWarning per client. Harmless, so only that warning is kept off stderr.
for (const listener of process.listeners("warning")) {
  process.off("warning", listener);
  process.on("warning", (warning: Error) => {
    if (warning.name !== "TimeoutNegativeWarning") listener(warning);
  });
}

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

/** How to reach Kafka: brokers, and SASL/TLS settings as kafkajs takes them. */
export interface KafkaConnection {
  brokers: string[];
  sasl?: SASLOptions;
  /** `true`: TLS with the system's CAs; an object: TLS with these CAs. */
  ssl?: true | { ca: string[] };
}

/** `host:port,...` with how it authenticates, for messages (no secrets). */
export function describeKafka(connection: KafkaConnection): string {
  const how = [
    connection.sasl &&
    `SASL ${connection.sasl.mechanism} as ${
      "username" in connection.sasl ? connection.sasl.username : "?"
    }`,
    connection.ssl && "TLS",
  ].filter(Boolean);
  return `${connection.brokers.join(",")}${how.length ? ` (${how.join(", ")})` : ""}`;
}

/**
 * A kafkajs client. `retries` bounds kafkajs's own retrying (0 where the
 * caller has its own deadline).
 */
export function kafkaClient(connection: KafkaConnection, clientId = "cdc", retries = 8): Kafka {
  return new Kafka({
    clientId,
    brokers: connection.brokers,
    sasl: connection.sasl,
    ssl: connection.ssl,
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
export async function probeKafka(connection: KafkaConnection, clientId: string): Promise<void> {
  const admin = kafkaClient(connection, clientId, 0).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}

/** Worth retrying: anything but a refused SASL authentication (a wrong password stays wrong). */
export function isTransientKafkaError(error: unknown): boolean {
  // by name: kafkajs's error classes are not named exports of its CommonJS module
  return !(error instanceof Error && error.name === "KafkaJSSASLAuthenticationError");
}

/**
 * Worth retrying until a deadline: a condition Kafka recovers from by itself (a coordinator
 * loading or moved, a leader being elected, a timeout, a lost connection), as opposed to a
 * refused login, a denied permission or a request Kafka will never accept. kafkajs marks its
 * protocol errors `retriable`; a retry budget it used up is judged by the error behind it.
 */
export function isRetriableKafkaError(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (!isTransientKafkaError(e)) return false;
    const { retriable } = e as { retriable?: boolean };
    if (e.name === "KafkaJSNumberOfRetriesExceeded") continue;
    if (retriable === false) return false;
  }
  return true;
}
