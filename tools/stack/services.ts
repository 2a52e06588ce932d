/**
 * The four services of the local stack (MariaDB, Kafka, Apicurio Registry, Kafka
 * Connect): how each is prepared, launched, probed and stopped.
 *
 * Every service runs detached (its own session, stdin from /dev/null, output appended
 * to `.stack/logs/<service>.log`), so it outlives the process that started it. Its pid
 * is kept in `.stack/run/<service>.pid`; a pid only counts as ours when its command
 * line mentions the state directory, so a recycled pid is never signalled.
 *
 * @module
 */

import {
  BOOTSTRAP,
  CONNECT_URL,
  HOST,
  KAFKA_NODE_IDS,
  KAFKA_NODES,
  KAFKA_SASL_ACCOUNT,
  KAFKA_VERSION,
  kafkaNodePorts,
  LOG_DIR,
  logFile,
  MARIADB_SOCKET,
  PORTS,
  REGISTRY_URL,
  SINK_DB,
  SOURCE_DB,
  STACK_CA_FILE,
  STACK_SRC_DIR,
  STATE_DIR,
  TLS_DIR,
  VERSIONS,
} from "./config.ts";
import {
  brokerClasspath,
  connectPlugins,
  kafkaClasspath,
  registryDistribution,
  type Say,
} from "./artifacts.ts";
import { type Jdk, kafkaJdk, registryJdk } from "./java.ts";
import { kafkaBrokerCount } from "./kafka_probe.ts";
import {
  commandLine,
  exists,
  isAlive,
  listenerPids,
  portOpen,
  rssBytes,
  run,
  runChecked,
  spawnDetached,
  terminate,
  which,
} from "./proc.ts";
import { waitFor } from "../../lib/util/retry.ts";

/** A Kafka node of the stack: `kafka` (node 1), `kafka2`, `kafka3`, ... */
export type KafkaServiceName = "kafka" | `kafka${number}`;

/** One of the stack's services. */
export type ServiceName = "mariadb" | KafkaServiceName | "registry" | "connect";

/** The Kafka nodes' services, node 1 first ({@link KAFKA_NODES} of them). */
export const KAFKA_SERVICES: readonly KafkaServiceName[] = KAFKA_NODE_IDS.map(kafkaServiceName);

/** Names of the stack's services, in start order. */
export const SERVICE_NAMES: readonly ServiceName[] = [
  "mariadb",
  ...KAFKA_SERVICES,
  "registry",
  "connect",
];

/** Whether `name` is a service of the stack. */
export function isServiceName(name: string): name is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(name);
}

/** How to launch a prepared service. */
interface Launch {
  argv: string[];
  cwd: string;
  /** What runs, for progress lines (versions, Java). */
  what: string;
}

interface Service {
  name: ServiceName;
  ports: number[];
  /** Where clients reach it. */
  endpoint: string;
  dependsOn: ServiceName[];
  startDeadlineMs: number;
  stopGraceMs: number;
  /** Downloads what is missing, writes configuration, initialises data. */
  prepare(say: Say): Promise<Launch>;
  /** Whether the service answers (a real request, not only an open port). */
  ready(): Promise<boolean>;
  /** One-off work once it first answers (seeding). */
  afterReady?(say: Say): Promise<void>;
}

const RUN_DIR = `${STATE_DIR}/run`;
const isRoot = Deno.uid() === 0;

function pidFile(name: ServiceName): string {
  return `${RUN_DIR}/${name}.pid`;
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

async function writeIfChanged(path: string, text: string): Promise<void> {
  try {
    if (await Deno.readTextFile(path) === text) return;
  } catch {
    // new file
  }
  await Deno.writeTextFile(path, text);
}

function properties(entries: Record<string, string | number | boolean>): string {
  return "# Written by tools/stack (regenerated at every start).\n" +
    Object.entries(entries).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

// ---------------------------------------------------------------------------
// JVM services

const LOG4J2 = `${STATE_DIR}/log4j2.properties`;
/** The command-line tools' logging: warnings only, so that what they print is their answer. */
const LOG4J2_TOOLS = `${STATE_DIR}/log4j2-tools.properties`;

async function writeLog4j2(path = LOG4J2, level = "INFO"): Promise<void> {
  await Deno.mkdir(STATE_DIR, { recursive: true });
  await writeIfChanged(
    path,
    [
      "# Written by tools/stack: Kafka and Connect log to stdout, which goes to .stack/logs.",
      "status = warn",
      "appender.out.type = Console",
      "appender.out.name = OUT",
      "appender.out.layout.type = PatternLayout",
      "appender.out.layout.pattern = [%d] %p %m (%c)%n",
      `rootLogger.level = ${level}`,
      "rootLogger.appenderRef.out.ref = OUT",
      "logger.clients.name = org.apache.kafka.clients",
      "logger.clients.level = WARN",
      "logger.reflections.name = org.reflections",
      "logger.reflections.level = ERROR",
      "",
    ].join("\n"),
  );
}

function jvmOptions(heapMb: number, log4j2 = LOG4J2): string[] {
  return [
    `-Xms${Math.min(256, heapMb)}m`,
    `-Xmx${heapMb}m`,
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
    `-Dlog4j2.configurationFile=${log4j2}`,
  ];
}

function jdkText(jdk: Jdk): string {
  return `Java ${jdk.version} (${jdk.home})`;
}

let stackCa: Promise<void> | undefined;

/** The stack's CA ({@link STACK_CA_FILE}), made once with openssl. */
function ensureStackCa(): Promise<void> {
  stackCa ??= (async () => {
    if (exists(STACK_CA_FILE)) return;
    await Deno.mkdir(TLS_DIR, { recursive: true });
    await runChecked("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "3650",
      "-subj",
      "/CN=cdc stack CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    ], { cwd: TLS_DIR }); // deno-fmt-ignore
  })();
  return stackCa;
}

/**
 * A certificate for 127.0.0.1 signed by the stack's CA, for `server`, made once: its PEM
 * files (certificate, unencrypted PKCS#8 key, and both in one file for a PEM keystore).
 */
async function serverTls(server: string): Promise<{ cert: string; key: string; keystore: string }> {
  const files = {
    cert: `${TLS_DIR}/${server}.pem`,
    key: `${TLS_DIR}/${server}.key`,
    keystore: `${TLS_DIR}/${server}-keystore.pem`,
  };
  if (exists(files.keystore)) return files;
  await ensureStackCa();
  const openssl = (...args: string[]) => runChecked("openssl", args, { cwd: TLS_DIR });
  await openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${HOST}`,
    "-keyout",
    `${server}.rsa.key`,
    "-out",
    `${server}.csr`,
  ); // deno-fmt-ignore
  await Deno.writeTextFile(`${TLS_DIR}/${server}.ext`, `subjectAltName=IP:${HOST}\n`);
  await openssl(
    "x509",
    "-req",
    "-in",
    `${server}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "3650",
    "-extfile",
    `${server}.ext`,
    "-out",
    files.cert,
  ); // deno-fmt-ignore
  await Deno.writeTextFile(
    files.key,
    (await openssl("pkcs8", "-topk8", "-nocrypt", "-in", `${server}.rsa.key`)).stdout,
  );
  await Deno.writeTextFile(
    files.keystore,
    await Deno.readTextFile(files.key) + await Deno.readTextFile(files.cert),
  );
  return files;
}

/** The service name of Kafka node `node`: `kafka` for node 1, then `kafka2`, `kafka3`, ... */
export function kafkaServiceName(node: number): KafkaServiceName {
  return node === 1 ? "kafka" : `kafka${node}`;
}

/** The node id of a Kafka service (`kafka` is node 1, `kafka3` node 3). */
export function kafkaNodeOf(name: KafkaServiceName): number {
  return name === "kafka" ? 1 : Number(name.slice("kafka".length));
}

/** What the stack's Kafka data was formatted for: one cluster id for every node. */
interface KafkaCluster {
  clusterId: string;
  nodes: number;
  version: string;
}

const KAFKA_CLUSTER_FILE = `${STATE_DIR}/kafka-cluster.json`;
let kafkaClusterRecord: Promise<KafkaCluster> | undefined;

/**
 * The Kafka cluster's id, made once and kept in `.stack/kafka-cluster.json` with the node
 * count and version it was formatted for: every node formats with the same id, and data of
 * another layout or version is refused (KRaft's voters are fixed at format time, and an older
 * broker cannot read a newer one's metadata) rather than failing deep in Kafka's log.
 */
function kafkaCluster(): Promise<KafkaCluster> {
  kafkaClusterRecord ??= (async () => {
    const wanted = { nodes: KAFKA_NODES, version: KAFKA_VERSION };
    let cluster: KafkaCluster | undefined;
    try {
      cluster = JSON.parse(await Deno.readTextFile(KAFKA_CLUSTER_FILE));
    } catch {
      // data of a stack from before the record: one node of the pinned version
      const meta = await Deno.readTextFile(`${kafkaDir(1)}/data/meta.properties`).catch(() => "");
      const clusterId = /^cluster\.id=(.+)$/m.exec(meta)?.[1];
      if (clusterId) cluster = { clusterId, nodes: 1, version: VERSIONS.kafka };
    }
    if (cluster && (cluster.nodes !== wanted.nodes || cluster.version !== wanted.version)) {
      throw new Error(
        `${STATE_DIR} holds a Kafka of ${cluster.nodes} node(s) on ${cluster.version}, not ` +
          `${wanted.nodes} on ${wanted.version}: \`deno task stack down --wipe\` first, or set ` +
          `CDC_STACK_KAFKA_NODES / CDC_STACK_KAFKA_VERSION as it was`,
      );
    }
    cluster ??= { clusterId: kraftClusterId(), ...wanted };
    await Deno.mkdir(STATE_DIR, { recursive: true });
    await writeIfChanged(KAFKA_CLUSTER_FILE, JSON.stringify(cluster) + "\n");
    return cluster;
  })();
  kafkaClusterRecord.catch(() => kafkaClusterRecord = undefined);
  return kafkaClusterRecord;
}

/** Node 1 keeps `.stack/kafka` (where a one-node stack always had it); node n `.stack/kafkaN`. */
function kafkaDir(node: number): string {
  return `${STATE_DIR}/${kafkaServiceName(node)}`;
}

/** The feature release of a Kafka version: 3 for 3.9.2. */
function kafkaMajor(version: string): number {
  return Number(version.split(".")[0]);
}

/**
 * Replication of Kafka's internal topics, and the default of new topics: 3 replicas with 2 in
 * sync on a cluster of 3 or more (as users run it: one node may be down), else every node.
 */
export const KAFKA_REPLICATION = {
  factor: Math.min(3, KAFKA_NODES),
  minInsync: KAFKA_NODES >= 3 ? 2 : 1,
} as const;

/** The SASL mechanisms of the SASL listeners, as Kafka names them. */
const SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;

/** A SASL listener's logins: PLAIN's one account inline; SCRAM users live in the metadata. */
function saslListenerProperties(listener: string): Record<string, string> {
  return Object.fromEntries(SASL_MECHANISMS.map((mechanism) => [
    `listener.name.${listener}.${mechanism.toLowerCase()}.sasl.jaas.config`,
    mechanism === "PLAIN"
      ? "org.apache.kafka.common.security.plain.PlainLoginModule required " +
        `user_${KAFKA_SASL_ACCOUNT.username}="${KAFKA_SASL_ACCOUNT.password}";`
      // added once the broker answers (afterReady)
      : "org.apache.kafka.common.security.scram.ScramLoginModule required;",
  ]));
}

/** A TLS listener's certificate: PEM, signed by the stack's CA. */
function tlsListenerProperties(listener: string, keystore: string): Record<string, string> {
  return {
    [`listener.name.${listener}.ssl.keystore.type`]: "PEM",
    [`listener.name.${listener}.ssl.keystore.location`]: keystore,
  };
}

/** `server.properties` of Kafka node `node`. */
function kafkaServerProperties(
  node: number,
  data: string,
  keystore: string,
): Record<string, string | number | boolean> {
  const ports = kafkaNodePorts(node);
  const { factor, minInsync } = KAFKA_REPLICATION;
  return {
    "process.roles": "broker,controller",
    "node.id": node,
    "controller.quorum.voters": KAFKA_NODE_IDS
      .map((id) => `${id}@${HOST}:${kafkaNodePorts(id).controller}`).join(","),
    "listeners": `PLAINTEXT://${HOST}:${ports.kafka},CONTROLLER://${HOST}:${ports.controller},` +
      `SASL_PLAINTEXT://${HOST}:${ports.sasl},SSL://${HOST}:${ports.tls},` +
      `SASL_SSL://${HOST}:${ports.saslTls}`,
    "advertised.listeners": `PLAINTEXT://${HOST}:${ports.kafka},` +
      `SASL_PLAINTEXT://${HOST}:${ports.sasl},SSL://${HOST}:${ports.tls},` +
      `SASL_SSL://${HOST}:${ports.saslTls}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT," +
      "SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL",
    // clients that authenticate (cdc's --kafka-sasl-mechanism, --kafka-tls); every node has
    // every listener, since a client is sent on to each partition's leader on the listener it
    // came in by
    "sasl.enabled.mechanisms": SASL_MECHANISMS.join(","),
    ...saslListenerProperties("sasl_plaintext"),
    ...saslListenerProperties("sasl_ssl"),
    ...tlsListenerProperties("ssl", keystore),
    ...tlsListenerProperties("sasl_ssl", keystore),
    "log.dirs": data,
    "num.partitions": 1,
    "default.replication.factor": factor,
    "min.insync.replicas": minInsync,
    "auto.create.topics.enable": true,
    "offsets.topic.replication.factor": factor,
    "offsets.topic.num.partitions": 10,
    "transaction.state.log.replication.factor": factor,
    "transaction.state.log.min.isr": minInsync,
    "transaction.state.log.num.partitions": 4,
    // share groups came with Kafka 4.0; a 3.x broker would warn of unknown settings
    ...(kafkaMajor(KAFKA_VERSION) >= 4
      ? {
        "share.coordinator.state.topic.replication.factor": factor,
        "share.coordinator.state.topic.min.isr": minInsync,
      }
      : {}),
    "group.initial.rebalance.delay.ms": 0,
    "log.retention.hours": 168,
    "log.segment.bytes": 67108864,
    "num.network.threads": 2,
    "num.io.threads": 4,
    "num.recovery.threads.per.data.dir": 1,
  };
}

/** Heap of each Kafka node: 512 MB alone, 384 MB each of several (2 cores, shared with CI). */
const KAFKA_HEAP_MB = KAFKA_NODES === 1 ? 512 : 384;

/** Kafka node `node` (1-based): a broker and KRaft controller, as the service `kafka[N]`. */
function kafkaNode(node: number): Service {
  const ports = kafkaNodePorts(node);
  const name = kafkaServiceName(node);
  return {
    name,
    ports: [ports.kafka, ports.controller, ports.sasl, ports.tls, ports.saslTls],
    endpoint: `${HOST}:${ports.kafka} (SASL ${HOST}:${ports.sasl}, TLS ${HOST}:${ports.tls}, ` +
      `SASL+TLS ${HOST}:${ports.saslTls}, controller ${HOST}:${ports.controller})`,
    dependsOn: [],
    startDeadlineMs: 180_000,
    stopGraceMs: 60_000,
    async prepare(say) {
      const jdk = await kafkaJdk();
      const lib = await brokerClasspath(say);
      const cluster = await kafkaCluster();
      const dir = kafkaDir(node);
      const data = `${dir}/data`;
      const config = `${dir}/server.properties`;
      await Deno.mkdir(data, { recursive: true });
      await writeLog4j2();
      const keystore = (await serverTls("kafka")).keystore;
      await writeIfChanged(config, properties(kafkaServerProperties(node, data, keystore)));
      if (!exists(`${data}/meta.properties`)) {
        say(`${name}: formatting KRaft storage`);
        await runChecked(jdk.java, [
          ...jvmOptions(256),
          "-cp",
          `${lib}/*`,
          "kafka.tools.StorageTool",
          ...storageFormatArgs(cluster.clusterId, config),
        ], { cwd: dir });
      }
      return {
        argv: [jdk.java, ...jvmOptions(KAFKA_HEAP_MB), "-cp", `${lib}/*`, "kafka.Kafka", config],
        cwd: dir,
        what: `Apache Kafka ${KAFKA_VERSION} (KRaft node ${node} of ${KAFKA_NODES}) on ` +
          jdkText(jdk),
      };
    },
    async ready() {
      try {
        return await kafkaBrokerCount(HOST, ports.kafka) > 0;
      } catch {
        return false;
      }
    },
    // SCRAM users are cluster metadata: added once, through node 1
    afterReady: node === 1 ? addScramUser : undefined,
  };
}

async function addScramUser(say: Say): Promise<void> {
  // named for both mechanisms, so a stack made when it had SCRAM-SHA-512 only gets SHA-256 too
  const marker = `${kafkaDir(1)}/scram-sha-256-and-512-user-added`;
  if (exists(marker)) return;
  const scram = SASL_MECHANISMS.filter((mechanism) => mechanism.startsWith("SCRAM-"));
  say(`kafka: adding the ${scram.join(" and ")} user ${KAFKA_SASL_ACCOUNT.username}`);
  // one mechanism per request: Kafka refuses to alter one user's credentials twice in one
  for (const mechanism of scram) {
    await kafkaTool("kafka.admin.ConfigCommand", [
      "--bootstrap-server",
      BOOTSTRAP,
      "--alter",
      "--entity-type",
      "users",
      "--entity-name",
      KAFKA_SASL_ACCOUNT.username,
      "--add-config",
      `${mechanism}=[password=${KAFKA_SASL_ACCOUNT.password}]`,
    ]); // deno-fmt-ignore
  }
  await Deno.writeTextFile(marker, `${new Date().toISOString()}\n`);
}

/**
 * Runs one of Kafka's command-line tools (a class of the pinned Kafka classpath, which talks to
 * brokers of any version) and returns its output; throws with the output when it fails.
 */
export async function kafkaTool(className: string, args: string[]): Promise<string> {
  const jdk = await kafkaJdk();
  const lib = await kafkaClasspath(() => {});
  await writeLog4j2(LOG4J2_TOOLS, "WARN");
  const jvm = jvmOptions(256, LOG4J2_TOOLS);
  return (await runChecked(jdk.java, [...jvm, "-cp", `${lib}/*`, className, ...args])).stdout;
}

/** Registry application properties, as JVM system properties. */
function registryProperties(db: string): Record<string, string> {
  return {
    "quarkus.http.host": HOST,
    "quarkus.http.port": String(PORTS.registry),
    // the management interface (health, metrics) is built in and would take 0.0.0.0:9000
    "quarkus.management.host": HOST,
    "quarkus.management.port": String(PORTS.registryManagement),
    // file-backed H2: schema ids stay valid for the records kept in Kafka across restarts
    "apicurio.storage.kind": "sql",
    "apicurio.storage.sql.kind": "h2",
    "apicurio.datasource.url": `jdbc:h2:file:${db}/registry;DB_CLOSE_ON_EXIT=FALSE`,
    "apicurio.datasource.jdbc.initial-size": "2",
    "apicurio.datasource.jdbc.min-size": "2",
    "apicurio.datasource.jdbc.max-size": "20",
    // let tests delete subjects (ccompat DELETE) and artifacts
    "apicurio.rest.deletion.group.enabled": "true",
    "apicurio.rest.deletion.artifact.enabled": "true",
    "apicurio.rest.deletion.artifact-version.enabled": "true",
    "apicurio.storage.snapshot.location": `${db}/snapshots`,
  };
}

const registry: Service = {
  name: "registry",
  ports: [PORTS.registry, PORTS.registryManagement],
  endpoint: REGISTRY_URL,
  dependsOn: [],
  startDeadlineMs: 180_000,
  stopGraceMs: 30_000,
  async prepare(say) {
    const { jdk, fallback } = await registryJdk();
    if (fallback) {
      say(
        `registry: Apicurio Registry ${VERSIONS.registry} needs Java 21+ and the JDK found is ` +
          `Java ${jdk.major}; running ${VERSIONS.registryFallback} instead`,
      );
    }
    const dist = await registryDistribution(say, fallback);
    const dir = `${STATE_DIR}/registry`;
    await Deno.mkdir(`${dir}/db/snapshots`, { recursive: true });
    const props = Object.entries(registryProperties(`${dir}/db`)).map(([k, v]) => `-D${k}=${v}`);
    return {
      argv: [
        jdk.java,
        "-Xms128m",
        "-Xmx512m",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        "-Dfile.encoding=UTF-8",
        `-Djava.io.tmpdir=${dir}`,
        ...props,
        "-jar",
        dist.jar,
      ],
      cwd: dir,
      what: `Apicurio Registry ${dist.version} on ${jdkText(jdk)}`,
    };
  },
  ready() {
    return httpOk(`${REGISTRY_URL}/subjects`);
  },
};

/** Classes Connect must list before the stack counts it as ready. */
const CONNECT_PLUGINS = [
  "io.debezium.connector.mariadb.MariaDbConnector",
  "io.debezium.connector.mysql.MySqlConnector",
  "io.debezium.connector.jdbc.JdbcSinkConnector",
  "io.apicurio.registry.utils.converter.AvroConverter",
];

const connect: Service = {
  name: "connect",
  ports: [PORTS.connect],
  endpoint: CONNECT_URL,
  // one node is enough to start: the others may be down, as for any client
  dependsOn: ["kafka"],
  startDeadlineMs: 240_000,
  stopGraceMs: 60_000,
  async prepare(say) {
    const jdk = await kafkaJdk();
    const lib = await kafkaClasspath(say);
    const plugins = await connectPlugins(say);
    const dir = `${STATE_DIR}/connect`;
    const pluginDir = `${dir}/plugins`;
    await Deno.remove(pluginDir, { recursive: true }).catch(() => {});
    await Deno.mkdir(pluginDir, { recursive: true });
    for (const plugin of plugins) {
      await Deno.symlink(plugin, `${pluginDir}/${plugin.slice(plugin.lastIndexOf("/") + 1)}`);
    }
    await writeLog4j2();
    const config = `${dir}/connect-distributed.properties`;
    await writeIfChanged(
      config,
      properties({
        "bootstrap.servers": BOOTSTRAP,
        "group.id": "cdc-stack-connect",
        "listeners": `http://${HOST}:${PORTS.connect}`,
        "rest.advertised.host.name": HOST,
        "rest.advertised.port": PORTS.connect,
        "plugin.path": pluginDir,
        // worker defaults; connectors set their own (tools/stack/connector.ts)
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": false,
        "value.converter.schemas.enable": false,
        "config.storage.topic": "connect-configs",
        "config.storage.replication.factor": KAFKA_REPLICATION.factor,
        "offset.storage.topic": "connect-offsets",
        "offset.storage.replication.factor": KAFKA_REPLICATION.factor,
        "offset.storage.partitions": 1,
        "status.storage.topic": "connect-status",
        "status.storage.replication.factor": KAFKA_REPLICATION.factor,
        "status.storage.partitions": 1,
        "offset.flush.interval.ms": 1000,
        "scheduled.rebalance.max.delay.ms": 0,
        "task.shutdown.graceful.timeout.ms": 10000,
      }),
    );
    return {
      argv: [
        jdk.java,
        ...jvmOptions(768),
        "-cp",
        `${lib}/*`,
        "org.apache.kafka.connect.cli.ConnectDistributed",
        config,
      ],
      cwd: dir,
      what: `Kafka Connect ${VERSIONS.kafka} + Debezium ${VERSIONS.debezium} + ` +
        `Apicurio converter ${VERSIONS.converter} on ${jdkText(jdk)}`,
    };
  },
  async ready() {
    if (!await httpOk(`${CONNECT_URL}/`)) return false;
    try {
      const response = await fetch(`${CONNECT_URL}/connector-plugins?connectorsOnly=false`, {
        signal: AbortSignal.timeout(3000),
      });
      if (!response.ok) {
        await response.body?.cancel();
        return false;
      }
      const listed = new Set(((await response.json()) as { class: string }[]).map((p) => p.class));
      return CONNECT_PLUGINS.every((c) => listed.has(c));
    } catch {
      return false;
    }
  },
};

// ---------------------------------------------------------------------------
// MariaDB

const SBIN = ["/usr/sbin", "/usr/local/sbin", "/usr/bin"];

function mariadbBinary(...names: string[]): string {
  for (const name of names) {
    const path = which(name, SBIN);
    if (path) return path;
  }
  throw new Error(
    `${
      names[0]
    } not found: install MariaDB with \`apt-get install -y mariadb-server mariadb-client\``,
  );
}

const MARIADB_DIR = `${STATE_DIR}/mariadb`;

function mariadbConfig(tls: { cert: string; key: string }): string {
  const dir = MARIADB_DIR;
  return [
    "# Written by tools/stack (regenerated at every start).",
    "[client-server]",
    `socket = ${MARIADB_SOCKET}`,
    `port = ${PORTS.mariadb}`,
    "",
    "[mariadbd]",
    ...(isRoot ? ["user = root"] : []),
    `datadir = ${dir}/data`,
    `tmpdir = ${dir}/tmp`,
    `pid-file = ${dir}/mariadbd.pid`,
    `log-error = ${logFile("mariadb")}`,
    `bind-address = ${HOST}`,
    "skip-name-resolve",
    "# TLS for clients that ask (cdc's --mysql-ca-file); plain connections still work",
    `ssl-ca = ${STACK_CA_FILE}`,
    `ssl-cert = ${tls.cert}`,
    `ssl-key = ${tls.key}`,
    "character-set-server = utf8mb4",
    "collation-server = utf8mb4_unicode_ci",
    "default-time-zone = '+00:00'",
    "# ROW binlog with GTIDs, as Debezium needs",
    "server-id = 1",
    `log-bin = ${dir}/binlog/mariadb-bin`,
    "binlog-format = ROW",
    "binlog-row-image = FULL",
    "binlog-row-metadata = FULL",
    "binlog-expire-logs-seconds = 604800",
    "gtid-domain-id = 0",
    "gtid-strict-mode = ON",
    "log-slave-updates = ON",
    "# small footprint",
    "innodb-buffer-pool-size = 128M",
    "innodb-log-file-size = 48M",
    "max-connections = 300",
    "performance-schema = OFF",
    "",
  ].join("\n");
}

function rootClient(): string[] {
  return [
    mariadbBinary("mariadb", "mysql"),
    "--no-defaults",
    `--socket=${MARIADB_SOCKET}`,
    "--user=root",
    "--batch",
  ];
}

/** SQL creating the stack's accounts (idempotent). */
function accountsSql(): string {
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return `
CREATE USER IF NOT EXISTS ${q(SOURCE_DB.user)}@'%' IDENTIFIED BY ${q(SOURCE_DB.password)};
GRANT SELECT, RELOAD, SHOW DATABASES, LOCK TABLES, REPLICATION SLAVE, BINLOG MONITOR,
  REPLICATION SLAVE ADMIN, SLAVE MONITOR ON *.* TO ${q(SOURCE_DB.user)}@'%';
CREATE USER IF NOT EXISTS ${q(SINK_DB.user)}@'%' IDENTIFIED BY ${q(SINK_DB.password)};
GRANT ALL PRIVILEGES ON *.* TO ${q(SINK_DB.user)}@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
`;
}

const mariadb: Service = {
  name: "mariadb",
  ports: [PORTS.mariadb],
  endpoint: `mysql://${HOST}:${PORTS.mariadb} (socket ${MARIADB_SOCKET})`,
  dependsOn: [],
  startDeadlineMs: 120_000,
  stopGraceMs: 60_000,
  async prepare(say) {
    const server = mariadbBinary("mariadbd", "mysqld");
    const dir = MARIADB_DIR;
    for (const sub of ["tmp", "binlog"]) await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
    const config = `${dir}/my.cnf`;
    await writeIfChanged(config, mariadbConfig(await serverTls("mariadb")));
    if (!exists(`${dir}/data/mysql`)) {
      say("mariadb: initialising data directory");
      await Deno.remove(`${dir}/data`, { recursive: true }).catch(() => {});
      await runChecked(mariadbBinary("mariadb-install-db", "mysql_install_db"), [
        `--defaults-file=${config}`,
        ...(isRoot ? ["--user=root"] : []),
        "--skip-test-db",
        "--auth-root-authentication-method=socket",
        "--skip-name-resolve",
      ], { cwd: dir });
    }
    const version = (await run(server, ["--version"])).stdout.trim().replace(/^.*Ver\s+/, "");
    return {
      argv: [server, `--defaults-file=${config}`],
      cwd: dir,
      what: `MariaDB ${version}`,
    };
  },
  async ready() {
    // mariadbd opens its TCP port before its socket, so a ping on the socket covers both
    // (and probing the port with a bare TCP connect would log "Aborted connection").
    if (!exists(MARIADB_SOCKET)) return false;
    const admin = mariadbBinary("mariadb-admin", "mysqladmin");
    const result = await run(admin, [
      "--no-defaults",
      `--socket=${MARIADB_SOCKET}`,
      "--user=root",
      "--connect-timeout=2",
      "ping",
    ]);
    return result.code === 0;
  },
  async afterReady(say) {
    const marker = `${MARIADB_DIR}/seeded`;
    if (!exists(marker)) {
      say("mariadb: creating accounts and seeding the inventory database");
      const inventory = await Deno.readTextFile(`${STACK_SRC_DIR}/inventory.sql`);
      const [cmd, ...args] = rootClient();
      await runChecked(cmd, args, { stdin: accountsSql() + inventory });
      await Deno.writeTextFile(marker, `${new Date().toISOString()}\n`);
    }
    await restartFailedConnectors(say);
  },
};

/**
 * Restarts the connectors and tasks Kafka Connect marked FAILED (if Connect runs).
 * A Debezium task that (re)starts while MariaDB is down fails for good, and Connect
 * restarts it only when asked; the stack asks once MariaDB answers again.
 */
async function restartFailedConnectors(say: Say): Promise<void> {
  type State = { state: string };
  let connectors: Record<string, { status: { connector: State; tasks: State[] } }>;
  try {
    const response = await fetch(`${CONNECT_URL}/connectors?expand=status`, {
      signal: AbortSignal.timeout(3000),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return;
    }
    connectors = await response.json();
  } catch {
    return; // Connect is not running
  }
  for (const [name, { status }] of Object.entries(connectors)) {
    if (![status.connector, ...status.tasks].some((s) => s.state === "FAILED")) continue;
    say(`connect: restarting the failed parts of connector ${name}`);
    const response = await fetch(
      `${CONNECT_URL}/connectors/${
        encodeURIComponent(name)
      }/restart?includeTasks=true&onlyFailed=true`,
      { method: "POST", signal: AbortSignal.timeout(10_000) },
    );
    await response.body?.cancel();
  }
}

const SERVICES: Record<string, Service> = {
  mariadb,
  ...Object.fromEntries(KAFKA_NODE_IDS.map((node) => [kafkaServiceName(node), kafkaNode(node)])),
  registry,
  connect,
};

// ---------------------------------------------------------------------------
// Lifecycle

/** Whether a pid is one of this stack's processes (its command line names the state dir). */
function ours(pid: number): boolean {
  return isAlive(pid) && (commandLine(pid) ?? []).some((arg) => arg.includes(STATE_DIR));
}

/** The pid of a running service, from its pid file or, failing that, from its ports. */
export function servicePid(name: ServiceName): number | undefined {
  try {
    const pid = Number(Deno.readTextFileSync(pidFile(name)).trim());
    if (ours(pid)) return pid;
  } catch {
    // no pid file
  }
  for (const port of SERVICES[name].ports) {
    const pid = listenerPids(port).find(ours);
    if (pid) {
      Deno.mkdirSync(RUN_DIR, { recursive: true });
      Deno.writeTextFileSync(pidFile(name), `${pid}\n`);
      return pid;
    }
  }
  return undefined;
}

/** Whether a service answers. */
export function serviceReady(name: ServiceName): Promise<boolean> {
  return SERVICES[name].ready();
}

/**
 * A random KRaft cluster id as Kafka's own `kafka-storage random-uuid` makes it: a version-4
 * UUID in unpadded base64url (22 characters, which may begin with `-`).
 */
export function kraftClusterId(): string {
  const id = crypto.getRandomValues(new Uint8Array(16));
  id[6] = (id[6] & 0x0f) | 0x40;
  id[8] = (id[8] & 0x3f) | 0x80;
  return btoa(String.fromCharCode(...id)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/**
 * Arguments of `kafka-storage format`. The id goes in one `--cluster-id=<id>` argument:
 * given apart, an id beginning with `-` reads as an option and the tool fails with
 * "argument --cluster-id/-t: expected one argument" (1 fresh start in 64).
 */
export function storageFormatArgs(clusterId: string, config: string): string[] {
  return ["format", `--cluster-id=${clusterId}`, "--config", config];
}

/** Options of {@link startService} and {@link stopService}. */
export interface LifecycleOptions {
  /** Progress lines; silent by default. */
  say?: Say;
}

function logTail(name: ServiceName, lines = 40): string {
  try {
    const text = Deno.readTextFileSync(logFile(name));
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)}s`;
}

/**
 * Runs `fn` holding an exclusive lock on the service (flock on `.stack/run/<name>.lock`),
 * so that two processes (the CLI and a test, say) never start or stop it at once.
 */
async function withLock<T>(name: ServiceName, fn: () => Promise<T>): Promise<T> {
  await Deno.mkdir(RUN_DIR, { recursive: true });
  const file = await Deno.open(`${RUN_DIR}/${name}.lock`, { create: true, write: true });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close(); // releases the lock
  }
}

/**
 * Starts a service unless it already runs, and waits until it answers.
 * Idempotent: a running service is left alone, a starting one is waited for.
 * Downloads whatever is missing first (cached afterwards).
 */
export function startService(name: ServiceName, options: LifecycleOptions = {}): Promise<void> {
  return withLock(name, () => start(name, options));
}

async function start(name: ServiceName, options: LifecycleOptions): Promise<void> {
  const say = options.say ?? (() => {});
  const service = SERVICES[name];
  const started = performance.now();
  await Deno.mkdir(LOG_DIR, { recursive: true });
  await Deno.mkdir(RUN_DIR, { recursive: true });
  let pid = servicePid(name);
  if (pid !== undefined) {
    if (await service.ready()) {
      say(`${name}: already running (pid ${pid}) at ${service.endpoint}`);
      await service.afterReady?.(say);
      return;
    }
    say(`${name}: pid ${pid} runs but does not answer yet; waiting`);
  } else {
    for (const port of service.ports) {
      if (await portOpen(port)) {
        const holders = listenerPids(port).map((p) =>
          `pid ${p}: ${(commandLine(p) ?? []).join(" ")}`
        );
        throw new Error(
          `${name}: port ${port} is taken by another program` +
            (holders.length ? ` (${holders.join("; ")})` : ""),
        );
      }
    }
    for (const dependency of service.dependsOn) {
      if (!await SERVICES[dependency].ready()) {
        throw new Error(`${name} needs ${dependency}, which does not answer: start it first`);
      }
    }
    const launch = await service.prepare(say);
    say(`${name}: starting ${launch.what}`);
    await Deno.writeTextFile(
      logFile(name),
      `\n=== ${new Date().toISOString()} starting: ${launch.argv.join(" ")}\n`,
      { append: true },
    );
    pid = await spawnDetached(launch.argv, { cwd: launch.cwd, log: logFile(name) });
    await Deno.writeTextFile(pidFile(name), `${pid}\n`);
    say(`${name}: waiting for ${service.endpoint} (pid ${pid}, log ${logFile(name)})`);
  }
  const runningPid = pid;
  const outcome = await waitFor(
    `${name} to answer at ${service.endpoint}`,
    async () => !isAlive(runningPid) ? "died" : (await service.ready()) ? "ready" : false,
    service.startDeadlineMs,
  ).catch((error) => {
    throw new Error(`${error.message}\n--- last lines of ${logFile(name)}:\n${logTail(name)}`);
  });
  if (outcome === "died") {
    throw new Error(
      `${name} exited during start-up\n--- last lines of ${logFile(name)}:\n${logTail(name)}`,
    );
  }
  await service.afterReady?.(say);
  say(`${name}: ready in ${seconds(started)} at ${service.endpoint}`);
}

/**
 * Stops a service: SIGTERM, a grace period, then SIGKILL; waits until its ports are
 * free. With `kill`, SIGKILL at once (simulates a crash).
 */
export function stopService(
  name: ServiceName,
  options: StopOptions = {},
): Promise<void> {
  return withLock(name, () => stop(name, options));
}

/** Options of {@link stopService}. */
export interface StopOptions extends LifecycleOptions {
  /** SIGKILL at once: a crash. */
  kill?: boolean;
  /** How long SIGTERM has before SIGKILL (default: the service's own grace period). */
  graceMs?: number;
}

async function stop(name: ServiceName, options: StopOptions): Promise<void> {
  const say = options.say ?? (() => {});
  const service = SERVICES[name];
  const started = performance.now();
  const pid = servicePid(name);
  if (pid === undefined) {
    say(`${name}: not running`);
  } else {
    say(`${name}: stopping pid ${pid}${options.kill ? " with SIGKILL" : ""}`);
    const how = await terminate(pid, options.graceMs ?? service.stopGraceMs, options.kill);
    say(`${name}: ${how === "killed" ? "killed" : "stopped"} in ${seconds(started)}`);
  }
  await Deno.remove(pidFile(name)).catch(() => {});
  for (const port of service.ports) {
    await waitFor(`port ${port} of ${name} to close`, async () => !await portOpen(port), 30_000)
      .catch(() => {
        const holders = listenerPids(port).map((p) =>
          `pid ${p}: ${(commandLine(p) ?? []).join(" ")}`
        );
        throw new Error(`${name}: port ${port} is still in use (${holders.join("; ") || "?"})`);
      });
  }
}

/**
 * Downloads every component that is not cached yet, one after the other (Maven's
 * local repository is not safe for concurrent runs), and checks the JDKs.
 */
export async function downloadAll(say: Say): Promise<void> {
  await kafkaJdk();
  await kafkaClasspath(say);
  await brokerClasspath(say);
  await connectPlugins(say);
  await registryDistribution(say, (await registryJdk()).fallback);
}

/** Stops then starts a service (SIGKILL first with `kill`: a crash and recovery). */
export function restartService(
  name: ServiceName,
  options: StopOptions = {},
): Promise<void> {
  return withLock(name, async () => {
    await stop(name, options);
    await start(name, options);
  });
}

/** State of one service, as `stack status` shows it. */
export interface ServiceStatus {
  name: ServiceName;
  pid?: number;
  ready: boolean;
  endpoint: string;
  rssBytes: number;
  /** The executable it runs (e.g. which java). */
  executable?: string;
}

/** The state of every service. */
export async function stackStatus(): Promise<ServiceStatus[]> {
  return await Promise.all(SERVICE_NAMES.map(async (name) => {
    const pid = servicePid(name);
    let executable: string | undefined;
    if (pid !== undefined) {
      try {
        executable = Deno.readLinkSync(`/proc/${pid}/exe`);
      } catch {
        executable = undefined;
      }
    }
    return {
      name,
      pid,
      ready: await SERVICES[name].ready(),
      endpoint: SERVICES[name].endpoint,
      rssBytes: pid === undefined ? 0 : rssBytes(pid),
      executable,
    };
  }));
}
