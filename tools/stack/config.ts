/**
 * Fixed facts of the local stack: pinned versions, ports, credentials and paths.
 *
 * Everything here is plain data so that tests, the stack CLI and product code can
 * import it without starting anything.
 *
 * @module
 */

/** Pinned versions of every component the stack downloads. */
export const VERSIONS = {
  /** org.apache.kafka:kafka_2.13 and connect-runtime (broker, controller, Connect worker). */
  kafka: "4.1.1",
  /** io.debezium:debezium-connector-mariadb / -mysql / -jdbc, `plugin` tar.gz. */
  debezium: "3.5.0.Final",
  /** io.apicurio:apicurio-registry-app, `all` tar.gz (needs Java 21+). */
  registry: "3.3.3",
  /** Registry used when no Java 21+ is installed (runs on Java 17). */
  registryFallback: "3.0.9",
  /** io.apicurio:apicurio-registry-utils-converter (Kafka Connect AvroConverter). */
  converter: "3.0.9",
  /** io.apicurio serdes the converter runs on (see tools/stack/maven/converter.pom.xml). */
  converterSerde: "3.0.2",
} as const;

/**
 * Added to every port: `$CDC_STACK_PORT_OFFSET` (default 0) lets a second stack run beside
 * the first one (with its own `$CDC_STACK_DIR`), e.g. to try CI on a machine in use.
 */
const PORT_OFFSET = Number(Deno.env.get("CDC_STACK_PORT_OFFSET") ?? "0");

/** TCP ports of the stack: all on 127.0.0.1, none of them a service's default. */
export const PORTS = {
  kafka: 19092 + PORT_OFFSET,
  kafkaController: 19093 + PORT_OFFSET,
  /** Kafka's SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-512; account {@link KAFKA_SASL_ACCOUNT}). */
  kafkaSasl: 19094 + PORT_OFFSET,
  /** Kafka's SSL listener (certificate signed by the CA in {@link STACK_CA_FILE}). */
  kafkaTls: 19095 + PORT_OFFSET,
  registry: 18081 + PORT_OFFSET,
  /** The registry's Quarkus management interface (health, metrics). */
  registryManagement: 18091 + PORT_OFFSET,
  connect: 18083 + PORT_OFFSET,
  mariadb: 13306 + PORT_OFFSET,
} as const;

/** The host every service binds to. */
export const HOST = "127.0.0.1";

/** Kafka bootstrap servers. */
export const BOOTSTRAP = `${HOST}:${PORTS.kafka}`;
/** Kafka bootstrap servers of the SASL_PLAINTEXT and the SSL listener. */
export const BOOTSTRAP_SASL = `${HOST}:${PORTS.kafkaSasl}`;
export const BOOTSTRAP_TLS = `${HOST}:${PORTS.kafkaTls}`;
/** The account the broker accepts on its SASL listener (PLAIN and SCRAM-SHA-512). */
export const KAFKA_SASL_ACCOUNT = { username: "cdc", password: "cdc-kafka-secret" } as const;
/** Base URL of the registry's Confluent-compatible API. */
export const REGISTRY_URL = `http://${HOST}:${PORTS.registry}/apis/ccompat/v7`;
/** Base URL of the registry's native v3 API (what the Apicurio converter talks to). */
export const REGISTRY_NATIVE_URL = `http://${HOST}:${PORTS.registry}/apis/registry/v3`;
/** Base URL of the Kafka Connect REST API. */
export const CONNECT_URL = `http://${HOST}:${PORTS.connect}`;

/** Credentials of a MariaDB account on the stack's instance. */
export interface MysqlAccount {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** The account Debezium reads the binlog with (replication and SELECT rights). */
export const SOURCE_DB: MysqlAccount = {
  host: HOST,
  port: PORTS.mariadb,
  user: "debezium",
  password: "dbz",
};

/** The account the `cdc` sink writes with (all rights on all databases). */
export const SINK_DB: MysqlAccount = {
  host: HOST,
  port: PORTS.mariadb,
  user: "cdc",
  password: "cdcpw",
};

/** The example database seeded by tools/stack/inventory.sql. */
export const SOURCE_DATABASE = "inventory";

/** Debezium's topic prefix, so topics are `dbserver1.inventory.<table>`. */
export const TOPIC_PREFIX = "dbserver1";

/** Name the inventory connector is registered under. */
export const CONNECTOR_NAME = "inventory-connector";

function home(): string {
  return Deno.env.get("HOME") ?? "/root";
}

/** Directory holding tools/stack (this module's directory). */
export const STACK_SRC_DIR = decodeURIComponent(new URL(".", import.meta.url).pathname)
  .replace(/\/$/, "");

/** The repository root. */
const REPO_ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname)
  .replace(/\/$/, "");

/** All runtime state (data, logs, pid files): `<repo>/.stack`, or `$CDC_STACK_DIR`. */
export const STATE_DIR = Deno.env.get("CDC_STACK_DIR") ?? `${REPO_ROOT}/.stack`;

/** TLS material of the stack (its CA, and certificates of Kafka's SSL listener and MariaDB). */
export const TLS_DIR = `${STATE_DIR}/tls`;
/** The stack's CA (PEM), made at the first `up`: it signed Kafka's and MariaDB's certificates. */
export const STACK_CA_FILE = `${TLS_DIR}/ca.pem`;

/** Unpacked, version-keyed downloads: `~/.cache/cdc-stack`, or `$CDC_STACK_CACHE`. */
export const CACHE_DIR = Deno.env.get("CDC_STACK_CACHE") ?? `${home()}/.cache/cdc-stack`;

/** Log directory: `.stack/logs/<service>.log`. */
export const LOG_DIR = `${STATE_DIR}/logs`;

/** Path of a service's log file. */
export function logFile(service: string): string {
  return `${LOG_DIR}/${service}.log`;
}

/** Socket of the stack's MariaDB instance (root may log in on it without a password). */
export const MARIADB_SOCKET = `${STATE_DIR}/mariadb/mariadb.sock`;

/** Maven Central, for the few files Maven itself cannot resolve. */
export const MAVEN_CENTRAL = Deno.env.get("CDC_STACK_MAVEN_CENTRAL") ??
  "https://repo1.maven.org/maven2";
