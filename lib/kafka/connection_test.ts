import assert from "node:assert/strict";
import { brokerAddress, describeKafka } from "./connection.ts";

Deno.test("brokerAddress: host:port, IPv6 in brackets, and a clear error otherwise", () => {
  assert.deepEqual(brokerAddress("kafka:9092"), { host: "kafka", port: 9092 });
  assert.deepEqual(brokerAddress("[::1]:19092"), { host: "::1", port: 19092 });
  assert.throws(() => brokerAddress("kafka"), /Kafka broker "kafka" is not host:port/);
});

Deno.test("describeKafka: brokers and how cdc logs in, never the password", () => {
  const text = describeKafka({
    brokers: ["a:1", "b:2"],
    sasl: { mechanism: "scram-sha-512", username: "cdc", password: "s3cret" },
    tls: true,
  });
  assert.equal(text, "a:1,b:2 (SASL scram-sha-512 as cdc, TLS)");
});
