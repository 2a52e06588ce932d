/**
 * Kafka's errors as `cdc` tells them apart: a response's error code (named, with what to do
 * about a denial), a refused login, and which failures are worth retrying until a deadline.
 *
 * @module
 */

/** Kafka's error codes that cdc handles by name; the rest end what was asked with the code. */
export const ERROR = {
  none: 0,
  offsetOutOfRange: 1,
  unknownTopicOrPartition: 3,
  leaderNotAvailable: 5,
  notLeaderOrFollower: 6,
  requestTimedOut: 7,
  replicaNotAvailable: 9,
  networkException: 13,
  topicAuthorizationFailed: 29,
  unsupportedVersion: 35,
  kafkaStorageError: 56,
  fencedLeaderEpoch: 74,
  unknownLeaderEpoch: 75,
  unsupportedCompressionType: 76,
} as const;

/** Names of the codes a fetch may meet (Kafka's protocol guide), for messages. */
const ERROR_NAMES: Readonly<Record<number, string>> = {
  1: "OFFSET_OUT_OF_RANGE",
  2: "CORRUPT_MESSAGE",
  3: "UNKNOWN_TOPIC_OR_PARTITION",
  5: "LEADER_NOT_AVAILABLE",
  6: "NOT_LEADER_OR_FOLLOWER",
  7: "REQUEST_TIMED_OUT",
  9: "REPLICA_NOT_AVAILABLE",
  13: "NETWORK_EXCEPTION",
  29: "TOPIC_AUTHORIZATION_FAILED",
  35: "UNSUPPORTED_VERSION",
  56: "KAFKA_STORAGE_ERROR",
  74: "FENCED_LEADER_EPOCH",
  75: "UNKNOWN_LEADER_EPOCH",
  76: "UNSUPPORTED_COMPRESSION_TYPE",
};

/** A Kafka error code from a response, named where known, with what to do about a denial. */
export class KafkaProtocolError extends Error {
  readonly code: number;
  constructor(what: string, code: number) {
    const name = ERROR_NAMES[code] ? ` ${ERROR_NAMES[code]}` : "";
    const hint = code === ERROR.topicAuthorizationFailed
      ? " (the Kafka user needs READ on the topic and on the consumer group)"
      : "";
    super(`${what}: Kafka error ${code}${name}${hint}`);
    this.name = "KafkaProtocolError";
    this.code = code;
  }
}

/**
 * The broker refused the login (SASL): a wrong password stays wrong, so this is never
 * retried. Also what a kafkajs SASL failure becomes (see {@linkcode isRetriableKafkaError}).
 */
export class KafkaAuthenticationError extends Error {
  /** `mechanism`: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; `reason`: the broker's, or ours. */
  constructor(mechanism: string, reason: string) {
    super(`SASL ${mechanism} authentication failed: ${reason} (check the user name and password)`);
    this.name = "KafkaAuthenticationError";
  }
}

/** kafkajs's class for a refused login (its classes are not ES exports: told by name). */
const KAFKAJS_SASL_ERROR = "KafkaJSSASLAuthenticationError";

/** True for a refused login, from cdc's own connections or from kafkajs's. */
export function isAuthenticationError(error: unknown): boolean {
  return error instanceof KafkaAuthenticationError ||
    error instanceof Error && error.name === KAFKAJS_SASL_ERROR;
}

/**
 * Worth retrying until a deadline: a condition Kafka recovers from by itself (a coordinator
 * loading or moved, a leader being elected, a timeout, a lost connection), as opposed to a
 * refused login, a denied permission or a request Kafka will never accept. kafkajs marks its
 * protocol errors `retriable`; a retry budget it used up is judged by the error behind it.
 */
export function isRetriableKafkaError(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (isAuthenticationError(e)) return false;
    if (e instanceof KafkaProtocolError) return RETRIABLE.has(e.code);
    if (e.name === "KafkaJSNumberOfRetriesExceeded") continue;
    if ((e as { retriable?: boolean }).retriable === false) return false;
  }
  return true;
}

/** The codes of {@linkcode ERROR} that a later request can get past. */
const RETRIABLE: ReadonlySet<number> = new Set([
  ERROR.unknownTopicOrPartition,
  ERROR.leaderNotAvailable,
  ERROR.notLeaderOrFollower,
  ERROR.requestTimedOut,
  ERROR.replicaNotAvailable,
  ERROR.networkException,
  ERROR.kafkaStorageError,
  ERROR.fencedLeaderEpoch,
  ERROR.unknownLeaderEpoch,
]);
