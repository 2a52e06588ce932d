/**
 * kafkajs, which runs the consumer group and the admin look-ups for `stream` and `status`,
 * with its log lines routed into `cdc`'s logging; and the probe that tells whether Kafka
 * answers (cdc's own connection, lib/kafka/broker.ts).
 *
 * @module
 */
import { Kafka, type LogEntry, logLevel, type SASLOptions } from "kafkajs";
import process from "node:process";
import { BrokerConnection } from "./broker.ts";
import { brokerAddress, type KafkaConnection } from "./connection.ts";
import { isAuthenticationError } from "./errors.ts";
import { logger } from "../util/log.ts";
import { DEFAULT_BACKOFF } from "../util/retry.ts";

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

/**
 * A kafkajs client for `connection`: the consumer group and the admin look-ups. `retries`
 * bounds kafkajs's own retrying (0 where the caller has its own deadline), with the one
 * backoff of lib/util/retry.ts.
 */
export function kafkaClient(connection: KafkaConnection, clientId = "cdc", retries = 8): Kafka {
  return new Kafka({
    clientId,
    brokers: connection.brokers,
    // kafkajs types each mechanism apart; the three take the same credentials
    sasl: connection.sasl as SASLOptions | undefined,
    ssl: connection.tls,
    logLevel: logLevel.INFO,
    logCreator,
    connectionTimeout: 5_000,
    retry: kafkajsRetry(retries),
  });
}

/** kafkajs's retry settings for {@linkcode DEFAULT_BACKOFF}: the same delays, `retries` times. */
export function kafkajsRetry(retries: number) {
  return {
    initialRetryTime: DEFAULT_BACKOFF.initialMs,
    maxRetryTime: DEFAULT_BACKOFF.maxMs,
    multiplier: DEFAULT_BACKOFF.factor,
    retries,
  };
}

/**
 * Asks the cluster once, without retrying (the caller has its deadline and backoff): resolves
 * when a bootstrap broker answers, its API versions asked for and the login (if any) accepted.
 * Throws a KafkaAuthenticationError for a refused login.
 */
export async function probeKafka(connection: KafkaConnection): Promise<void> {
  let lastError: unknown = new Error("no Kafka broker given");
  for (const broker of connection.brokers) {
    try {
      const opened = await BrokerConnection.open(brokerAddress(broker), connection);
      opened.close();
      return;
    } catch (error) {
      if (isAuthenticationError(error)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}
