/**
 * How to reach Kafka: the brokers, SASL credentials and TLS, as `cdc` describes a connection
 * (lib/kafka/client.ts hands the same to kafkajs).
 *
 * @module
 */

/** The SASL mechanisms `cdc` speaks. */
export type SaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

/** How to reach Kafka: brokers, and SASL and TLS settings. */
export interface KafkaConnection {
  brokers: string[];
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  /** `true`: TLS with the system's CAs; an object: TLS with these CAs. */
  tls?: true | { ca: string[] };
}

/** `host:port,...` with how it authenticates, for messages (no secrets). */
export function describeKafka(connection: KafkaConnection): string {
  const how = [
    connection.sasl && `SASL ${connection.sasl.mechanism} as ${connection.sasl.username}`,
    connection.tls && "TLS",
  ].filter(Boolean);
  return `${connection.brokers.join(",")}${how.length ? ` (${how.join(", ")})` : ""}`;
}

/** Where a connection goes. */
export interface BrokerAddress {
  host: string;
  port: number;
}

/** `host:port` → its parts; a bracketed IPv6 host loses its brackets. */
export function brokerAddress(text: string): BrokerAddress {
  const colon = text.lastIndexOf(":");
  const port = Number(text.slice(colon + 1));
  if (colon < 1 || !Number.isInteger(port)) {
    throw new Error(`Kafka broker "${text}" is not host:port`);
  }
  return { host: text.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port };
}

/** `host:port`, for messages. */
export function describeAddress({ host, port }: BrokerAddress): string {
  return `${host}:${port}`;
}
