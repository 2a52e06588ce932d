/**
 * Kafka's option group: where the brokers are and how to authenticate (SASL, TLS), and
 * {@linkcode kafkaConnection}, which turns the parsed options into a connection.
 *
 * @module
 */
import type { Option } from "commander";
import { CliError, EXIT } from "../errors.ts";
import type { KafkaConnection, SaslMechanism } from "../../kafka/mod.ts";
import { envOption, secret } from "./option.ts";

/** Kafka connection options. */
export interface KafkaOptions {
  bootstrapServers: string;
  kafkaSaslMechanism?: SaslMechanism;
  kafkaUsername?: string;
  kafkaPassword?: string;
  kafkaPasswordFile?: string;
  kafkaTls?: boolean;
  kafkaCaFile?: string;
}

/** `--bootstrap-servers` alone: where Kafka is. */
export const bootstrapOption = (): Option =>
  envOption({
    flags: "--bootstrap-servers <hosts>",
    description: "Kafka bootstrap servers, comma-separated",
    env: "CDC_BOOTSTRAP_SERVERS",
    aliases: ["BOOTSTRAP_SERVERS"],
    default: "localhost:9092",
  });

/** Where Kafka is and how to authenticate to it (SASL, TLS). */
export const kafkaOptions = (): Option[] => [
  bootstrapOption(),
  envOption({
    flags: "--kafka-sasl-mechanism <mechanism>",
    description: "authenticate to Kafka with SASL (needs --kafka-username and a password)",
    env: "CDC_KAFKA_SASL_MECHANISM",
    choices: ["plain", "scram-sha-256", "scram-sha-512"],
  }),
  envOption({
    flags: "--kafka-username <user>",
    description: "SASL user name",
    env: "CDC_KAFKA_USERNAME",
  }),
  envOption({
    flags: "--kafka-password <password>",
    description: "SASL password (prefer the env variable or a file: flags show in ps)",
    env: "CDC_KAFKA_PASSWORD",
    secret: true,
  }),
  envOption({
    flags: "--kafka-password-file <path>",
    description: "read the SASL password from this file",
    env: "CDC_KAFKA_PASSWORD_FILE",
  }),
  envOption({
    flags: "--kafka-tls",
    description: "connect to Kafka over TLS (the system's CAs, or --kafka-ca-file)",
    env: "CDC_KAFKA_TLS",
    default: false,
  }),
  envOption({
    flags: "--kafka-ca-file <path>",
    description:
      "PEM file of the CA(s) that signed the brokers' certificates (implies --kafka-tls)",
    env: "CDC_KAFKA_CA_FILE",
  }),
];

/**
 * The connection the options describe, secrets and CA file read. A SASL
 * mechanism without a user name or a password is a usage error.
 */
export async function kafkaConnection(options: KafkaOptions): Promise<KafkaConnection> {
  const brokers = options.bootstrapServers.split(",").map((s) => s.trim()).filter(Boolean);
  const connection: KafkaConnection = { brokers };
  if (options.kafkaSaslMechanism) {
    const password = await secret(
      options.kafkaPassword,
      options.kafkaPasswordFile,
      "Kafka password",
    );
    if (!options.kafkaUsername || password === undefined) {
      throw new CliError(
        `--kafka-sasl-mechanism ${options.kafkaSaslMechanism} needs --kafka-username and a ` +
          `password (CDC_KAFKA_PASSWORD or --kafka-password-file)`,
        EXIT.usage,
      );
    }
    connection.sasl = {
      mechanism: options.kafkaSaslMechanism,
      username: options.kafkaUsername,
      password,
    };
  }
  if (options.kafkaCaFile) {
    connection.tls = { ca: [await secret(undefined, options.kafkaCaFile, "Kafka CA") as string] };
  } else if (options.kafkaTls) {
    connection.tls = true;
  }
  return connection;
}
