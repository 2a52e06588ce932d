/**
 * The Debezium connector registration `cdc connector register` sends: built
 * from options (the seed's settings as defaults) or read from a JSON file.
 * Pure: no I/O but reading the file.
 *
 * @module
 */

/** Debezium source connector classes, by source flavour. */
export const CONNECTOR_CLASSES = {
  mysql: "io.debezium.connector.mysql.MySqlConnector",
  mariadb: "io.debezium.connector.mariadb.MariaDbConnector",
} as const;

/** A source flavour: which Debezium connector reads it. */
export type SourceFlavour = keyof typeof CONNECTOR_CLASSES;

/** Kafka Connect's class name of the Apicurio Avro converter. */
export const APICURIO_AVRO_CONVERTER = "io.apicurio.registry.utils.converter.AvroConverter";
/** Kafka Connect's class name of Confluent's Avro converter. */
export const CONFLUENT_AVRO_CONVERTER = "io.confluent.connect.avro.AvroConverter";

/** Which Avro converter Kafka Connect runs; both write the Confluent wire format. */
export type ConverterKind = "apicurio" | "confluent";

/** Connector properties: Kafka Connect wants every value as a string. */
export type ConnectorConfig = Record<string, string>;

/** A connector as `POST /connectors` takes it, and as a `--config-file` holds it. */
export interface ConnectorRegistration {
  name: string;
  config: ConnectorConfig;
}

/**
 * Converter settings for one side (`key.converter` or `value.converter`) so
 * that records carry the Confluent framing (byte 0 = 0, 4-byte big-endian id)
 * with ids a Confluent-API reader resolves.
 */
export function avroConverterConfig(
  side: "key.converter" | "value.converter",
  kind: ConverterKind,
  registryUrl: string,
): ConnectorConfig {
  if (kind === "confluent") {
    return {
      [side]: CONFLUENT_AVRO_CONVERTER,
      [`${side}.schema.registry.url`]: registryUrl,
      // Debezium puts a column's DEFAULT into the field's Connect schema, and Connect's
      // Struct.get substitutes that default for a null: an explicit NULL would arrive as the
      // DEFAULT. This (Confluent 7.3+) reads the struct's own value instead.
      [`${side}.ignore.default.for.nullables`]: "true",
    };
  }
  return {
    [side]: APICURIO_AVRO_CONVERTER,
    // the converter speaks the registry's native v3 API (not ccompat)
    [`${side}.apicurio.registry.url`]: registryUrl,
    // register each new schema as it appears (artifact `<topic>-key` / `<topic>-value`
    // in group `default`: the ccompat subject of the same name)
    [`${side}.apicurio.registry.auto-register`]: "true",
    [`${side}.apicurio.registry.find-latest`]: "false",
    // schema id in the payload, not in Kafka headers
    [`${side}.apicurio.registry.headers.enabled`]: "false",
    // magic byte 0 + 4-byte big-endian id (Confluent framing)
    [`${side}.apicurio.registry.id-handler`]: "io.apicurio.registry.serde.Default4ByteIdHandler",
    // the id written is the contentId, which ccompat's /schemas/ids/{id} resolves
    [`${side}.apicurio.registry.use-id`]: "contentId",
    // register each schema whole: by default the 3.x serdes register every nested record
    // (Value, Source, ...) as an artifact of its own and the envelope with references
    [`${side}.apicurio.registry.dereference-schema`]: "true",
  };
}

/**
 * The registry URL the converter needs, from the Confluent-API URL `cdc` uses:
 * Apicurio's converter talks to its native v3 API, Confluent's to the same URL.
 */
export function converterRegistryUrl(kind: ConverterKind, confluentApiUrl: string): string {
  if (kind === "confluent") return confluentApiUrl;
  const native = confluentApiUrl.replace(/\/apis\/ccompat\/v\d+\/?$/, "/apis/registry/v3");
  if (native === confluentApiUrl) {
    throw new Error(
      `cannot derive Apicurio's native API URL from ${confluentApiUrl} ` +
        `(expected it to end in /apis/ccompat/v7): set --converter-registry-url`,
    );
  }
  return native;
}

/** Kafka's longest topic name. */
const MAX_TOPIC_NAME = 249;

/**
 * `name` made a legal Kafka topic name the way Debezium adjusts data topic names: every
 * character but `[a-zA-Z0-9._-]` becomes `_`, the result is cut to 249 characters, and
 * `.` / `..` become `_` / `__`. `dbhistory.Shop-Data x` → `dbhistory.Shop-Data_x`.
 */
export function legalTopicName(name: string): string {
  const legal = name.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, MAX_TOPIC_NAME);
  return legal === "." || legal === ".." ? legal.replaceAll(".", "_") : legal;
}

/** The schema history topic `register` uses unless told: `dbhistory.<database>`, made legal. */
export function defaultHistoryTopic(database: string): string {
  return legalTopicName(`dbhistory.${database}`);
}

/** What a Debezium connector for a MySQL/MariaDB source needs; see {@linkcode debeziumConnectorConfig}. */
export interface ConnectorSettings {
  name: string;
  flavour: SourceFlavour;
  /** The source database server as Kafka Connect reaches it. */
  hostname: string;
  port: number;
  user: string;
  password: string;
  /** Replication client id: unique per connector on one server. */
  serverId: number;
  topicPrefix: string;
  /** Databases to capture (`database.include.list`). */
  databases: readonly string[];
  /**
   * Tables to capture (`db.table` regexes); default (also without a `table.include.list`
   * in `extra`): all but the target tables of every mode (`_cdc`, `_mirror`, `_scd2`).
   */
  tables?: readonly string[];
  /** Kafka as Kafka Connect reaches it, for the schema history topic. */
  bootstrapServers: string;
  historyTopic: string;
  converter: ConverterKind;
  /** What the converter talks to (see {@linkcode converterRegistryUrl}). */
  converterRegistryUrl: string;
  snapshotMode: string;
  /**
   * Debezium's transaction metadata: BEGIN/END markers on `<prefix>.transaction` and each
   * change's `transaction` block, which `cdc stream --transactions` needs.
   */
  transactionMetadata?: boolean;
  /** Further connector properties, overriding the ones above (`--set key=value`). */
  extra?: ConnectorConfig;
}

/** Escapes a literal for use inside a Java regular expression. */
function regexLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The connector configuration to `PUT /connectors/{name}/config`. */
export function debeziumConnectorConfig(settings: ConnectorSettings): ConnectorConfig {
  const config: ConnectorConfig = {
    "name": settings.name,
    "connector.class": CONNECTOR_CLASSES[settings.flavour],
    "tasks.max": "1",
    "database.hostname": settings.hostname,
    "database.port": String(settings.port),
    "database.user": settings.user,
    "database.password": settings.password,
    "database.server.id": String(settings.serverId),
    "topic.prefix": settings.topicPrefix,
    "database.include.list": settings.databases.map(regexLiteral).join(","),
    "schema.history.internal.kafka.bootstrap.servers": settings.bootstrapServers,
    "schema.history.internal.kafka.topic": settings.historyTopic,
    "snapshot.mode": settings.snapshotMode,
    // record names must be valid Avro names
    "schema.name.adjustment.mode": "avro",
    // every column's declared type and real name travel in the schema: exact _cdc column types
    // (VARCHAR(10), BIGINT UNSIGNED, ...) and source names where Avro needs adjusted ones
    "column.propagate.source.type": ".*",
    // truncates too (Debezium's MySQL default skips them): a mirror must empty itself
    "skipped.operations": "none",
    // after a source restart the binlog client reconnects within 2 s (default 60 s)
    "connect.keep.alive.interval.ms": "2000",
    // hand changes to Kafka within 50 ms: Debezium's default (500 ms) waits that long for a
    // fuller batch, which was most of the commit-to-row latency at a steady rate (BENCHMARKS.md);
    // under load batches fill to max.batch.size before the interval matters
    "poll.interval.ms": "50",
    ...(settings.transactionMetadata ? { "provide.transaction.metadata": "true" } : {}),
    ...avroConverterConfig("key.converter", settings.converter, settings.converterRegistryUrl),
    ...avroConverterConfig("value.converter", settings.converter, settings.converterRegistryUrl),
  };
  if (settings.tables) {
    config["table.include.list"] = settings.tables.join(",");
  } else if (!settings.extra?.["table.include.list"]) {
    // never capture what cdc writes next to the source tables: the target tables of every
    // mode and its own __cdc_offsets / __cdc_dead_letter
    config["table.exclude.list"] = settings.databases
      .flatMap((db) => [
        ...["_cdc", "_mirror", "_scd2"].map((suffix) => `${regexLiteral(db)}\\..*${suffix}`),
        `${regexLiteral(db)}\\.__cdc_.*`,
      ])
      .join(",");
  }
  return { ...config, ...settings.extra };
}

/**
 * Reads a registration from JSON text: `{ "name": ..., "config": {...} }` (what
 * `POST /connectors` takes) or a bare config holding `name`. Values must be
 * strings, numbers or booleans; they are sent as strings.
 */
export function parseConnectorRegistration(text: string, where: string): ConnectorRegistration {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where} is not JSON: ${(error as Error).message}`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(parsed)) throw new Error(`${where}: expected a JSON object`);
  const raw = isObject(parsed.config) ? parsed.config : parsed;
  const name = typeof parsed.name === "string" ? parsed.name : raw.name;
  if (typeof name !== "string" || name === "") {
    throw new Error(`${where}: the connector has no "name"`);
  }
  const config: ConnectorConfig = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!["string", "number", "boolean"].includes(typeof value)) {
      throw new Error(`${where}: "${key}" must be a string, number or boolean`);
    }
    config[key] = String(value);
  }
  if (!config["connector.class"]) throw new Error(`${where}: "connector.class" is missing`);
  return { name, config: { ...config, name } };
}

/** Keys whose values are secrets: shown as `***` by `cdc connector config`. */
const SECRET_KEY = /password|secret|credential|sasl\.jaas|token|api\.key/i;

/** The config with every secret value replaced by `***`. */
export function redactConnectorConfig(config: ConnectorConfig): ConnectorConfig {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key, SECRET_KEY.test(key) ? "***" : value]),
  );
}
