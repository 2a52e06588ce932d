import assert from "node:assert/strict";
import { createRequire } from "node:module";
import type * as KafkaJS from "kafkajs";

// kafkajs's error classes are not named exports of its CommonJS module (spread from another)
const {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} = createRequire(import.meta.url)("kafkajs") as typeof KafkaJS;
import { isRetriableKafkaError, KafkaAuthenticationError, KafkaProtocolError } from "./errors.ts";

/** A protocol error as kafkajs makes it from a response's code (its types omit the fields). */
const protocolError = (type: string, code: number, retriable: boolean) =>
  new KafkaJSProtocolError(Object.assign(new Error(type), { type, code, retriable }));

Deno.test("isRetriableKafkaError: what Kafka recovers from by itself, not denials", () => {
  const loading = protocolError("COORDINATOR_LOAD_IN_PROGRESS", 14, true);
  for (
    const error of [
      loading,
      protocolError("NOT_COORDINATOR_FOR_GROUP", 16, true),
      protocolError("GROUP_COORDINATOR_NOT_AVAILABLE", 15, true),
      protocolError("LEADER_NOT_AVAILABLE", 5, true),
      protocolError("REQUEST_TIMED_OUT", 7, true),
      new KafkaJSConnectionError("Connection error: ECONNREFUSED"),
      // kafkajs gave up on its own retries: judged by what it retried
      new KafkaJSNumberOfRetriesExceeded(loading, { retryCount: 5, retryTime: 1000 }),
    ]
  ) {
    assert.equal(isRetriableKafkaError(error), true, error.message);
  }
  const denied = protocolError("GROUP_AUTHORIZATION_FAILED", 30, false);
  const saslRefused = Object.assign(new Error("SASL authentication failed"), {
    name: "KafkaJSSASLAuthenticationError",
  });
  const ours = new KafkaAuthenticationError("PLAIN", "Invalid username or password");
  for (
    const error of [
      denied,
      protocolError("TOPIC_AUTHORIZATION_FAILED", 29, false),
      new KafkaJSNonRetriableError("Invalid groupId undefined"),
      new KafkaJSNumberOfRetriesExceeded(denied, { retryCount: 0, retryTime: 0 }),
      saslRefused,
      ours,
      new KafkaProtocolError("fetching t[0]", 29),
    ]
  ) {
    assert.equal(isRetriableKafkaError(error), false, error.message);
  }
});

Deno.test("KafkaProtocolError: the code's name, and what to do when access is denied", () => {
  assert.equal(
    new KafkaProtocolError("fetching t[0]", 6).message,
    "fetching t[0]: Kafka error 6 NOT_LEADER_OR_FOLLOWER",
  );
  assert.match(
    new KafkaProtocolError("fetching t[0]", 29).message,
    /Kafka error 29 TOPIC_AUTHORIZATION_FAILED \(the Kafka user needs READ on the topic/,
  );
  assert.equal(
    new KafkaProtocolError("fetching t[0]", 87).message,
    "fetching t[0]: Kafka error 87",
  );
});
