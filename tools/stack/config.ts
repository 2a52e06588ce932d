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

/**
 * How many Kafka nodes run (`$CDC_STACK_KAFKA_NODES`, default 1): each one broker and KRaft
 * controller, so 3 nodes are a 3-voter quorum. Users run clusters of three or more brokers;
 * the one-node default keeps `deno task test` light.
 */
export const KAFKA_NODES = kafkaNodeCount(Deno.env.get("CDC_STACK_KAFKA_NODES"));

/** `$CDC_STACK_KAFKA_NODES` checked: a whole number from 1 to 5 (unset or empty: 1). */
export function kafkaNodeCount(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return 1;
  const nodes = Number(value);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 5) {
    throw new Error(`CDC_STACK_KAFKA_NODES=${value}: give a number of Kafka nodes from 1 to 5`);
  }
  return nodes;
}

/**
 * The Kafka version the brokers run (`$CDC_STACK_KAFKA_VERSION`, default {@link VERSIONS}.kafka),
 * e.g. 3.9.2 to prove cdc against the last 3.x line. Kafka Connect stays on the pinned
 * version whatever the brokers run: Debezium is built for it, and only the broker matters to cdc.
 */
export const KAFKA_VERSION = Deno.env.get("CDC_STACK_KAFKA_VERSION")?.trim() || VERSIONS.kafka;

/** The ports of one Kafka node. */
export interface KafkaNodePorts {
  /** PLAINTEXT: clients and the brokers among themselves. */
  kafka: number;
  /** The KRaft controller listener. */
  controller: number;
  /** SASL_PLAINTEXT (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; account {@link KAFKA_SASL_ACCOUNT}). */
  sasl: number;
  /** SSL (certificate signed by the CA in {@link STACK_CA_FILE}). */
  tls: number;
  /** SASL_SSL: the SASL mechanisms of `sasl` over the TLS of `tls`, as managed clusters run. */
  saslTls: number;
}

/**
 * Ports of Kafka node `node` (1-based): node 1 has 19092-19096, node n those plus 10·(n−1)
 * (node 2: 19102-19106, node 3: 19112-19116), all plus `$CDC_STACK_PORT_OFFSET`. No other
 * port of the stack ends in 092-136, so stacks whose offsets differ by a multiple of 1000
 * never collide, whatever their node counts.
 */
export function kafkaNodePorts(node: number): KafkaNodePorts {
  const base = 19092 + 10 * (node - 1) + PORT_OFFSET;
  return { kafka: base, controller: base + 1, sasl: base + 2, tls: base + 3, saslTls: base + 4 };
}

/** The node ids of the Kafka cluster: 1 to {@link KAFKA_NODES}. */
export const KAFKA_NODE_IDS: readonly number[] = Array.from(
  { length: KAFKA_NODES },
  (_, i) => i + 1,
);

/** TCP ports of the stack: all on 127.0.0.1, none of them a service's default. */
export const PORTS = {
  /** Kafka node 1 (the others: {@link kafkaNodePorts}). */
  kafka: kafkaNodePorts(1).kafka,
  kafkaController: kafkaNodePorts(1).controller,
  /** Kafka's SASL_PLAINTEXT listener (PLAIN, SCRAM; account {@link KAFKA_SASL_ACCOUNT}). */
  kafkaSasl: kafkaNodePorts(1).sasl,
  /** Kafka's SSL listener (certificate signed by the CA in {@link STACK_CA_FILE}). */
  kafkaTls: kafkaNodePorts(1).tls,
  /** Kafka's SASL_SSL listener (both of the above at once). */
  kafkaSaslTls: kafkaNodePorts(1).saslTls,
  registry: 18081 + PORT_OFFSET,
  /** The registry's Quarkus management interface (health, metrics). */
  registryManagement: 18091 + PORT_OFFSET,
  connect: 18083 + PORT_OFFSET,
  mariadb: 13306 + PORT_OFFSET,
} as const;

/** The host every service binds to. */
export const HOST = "127.0.0.1";

/** `host:port` of each node's `listener`, comma-separated, as `--bootstrap-servers` takes it. */
function bootstrap(listener: keyof KafkaNodePorts): string {
  return KAFKA_NODE_IDS.map((node) => `${HOST}:${kafkaNodePorts(node)[listener]}`).join(",");
}

/** Kafka bootstrap servers: every node, comma-separated (split it for a kafkajs `brokers` list). */
export const BOOTSTRAP = bootstrap("kafka");
/** Kafka bootstrap servers of the SASL_PLAINTEXT, SSL and SASL_SSL listeners (every node has all). */
export const BOOTSTRAP_SASL = bootstrap("sasl");
export const BOOTSTRAP_TLS = bootstrap("tls");
export const BOOTSTRAP_SASL_TLS = bootstrap("saslTls");
/** The account the broker accepts on its SASL listeners (PLAIN, SCRAM-SHA-256 and -512). */
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
