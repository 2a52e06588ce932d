/**
 * The canonical Debezium connector registration for the local stack: MariaDB source,
 * Apicurio Avro converter writing the Confluent wire format.
 *
 * Wire format produced by {@link avroConverterConfig}: byte 0 = 0 (magic), bytes 1-4 =
 * the schema id as a big-endian int32, then the Avro binary; no Apicurio headers. The id
 * is the registry's *contentId*, which is exactly the id the registry's Confluent API
 * serves at `GET /apis/ccompat/v7/schemas/ids/{id}` (Apicurio 3's default
 * `apicurio.ccompat.legacy-id-mode.enabled=false`). The stack's smoke test proves it.
 *
 * @module
 */

import {
  BOOTSTRAP,
  CONNECTOR_NAME,
  HOST,
  PORTS,
  REGISTRY_NATIVE_URL,
  SOURCE_DATABASE,
  SOURCE_DB,
  TOPIC_PREFIX,
} from "./config.ts";

/** Kafka Connect's class name of the Apicurio Avro converter. */
export const APICURIO_AVRO_CONVERTER = "io.apicurio.registry.utils.converter.AvroConverter";

/** Debezium connector classes on the stack's Connect worker. */
export const CONNECTOR_CLASSES = {
  mariadb: "io.debezium.connector.mariadb.MariaDbConnector",
  mysql: "io.debezium.connector.mysql.MySqlConnector",
} as const;

/**
 * Settings of the Apicurio converter for one side (`key.converter` or
 * `value.converter`) so that records carry the Confluent framing with ids resolvable
 * through the registry's Confluent-compatible API.
 */
export function avroConverterConfig(
  side: "key.converter" | "value.converter",
  registryUrl: string = REGISTRY_NATIVE_URL,
): Record<string, string> {
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
    // (Value, Source, ...) as an artifact of its own and the envelope with references,
    // which a Confluent-API reader would have to resolve by subject and version
    [`${side}.apicurio.registry.dereference-schema`]: "true",
  };
}

/** Options of {@link inventoryConnectorConfig}; every one has the stack's default. */
export interface InventoryConnectorOptions {
  /** Source flavour: MariaDB (default, the stack's database) or MySQL. */
  flavour?: keyof typeof CONNECTOR_CLASSES;
  hostname?: string;
  port?: number;
  user?: string;
  password?: string;
  /** Replication client id; unique per connector on one server. Default 184054. */
  serverId?: number;
  /** Topic prefix. Default `dbserver1`. */
  topicPrefix?: string;
  /** Databases to capture (`database.include.list`). Default `inventory`. */
  databases?: string[];
  /** Tables to capture (`table.include.list`, `db.table` regexes). Default: all but `*_cdc`. */
  tables?: string[];
  /** Kafka bootstrap servers for the schema history topic. Default the stack's broker. */
  bootstrapServers?: string;
  /** Schema history topic. Default `dbhistory.inventory`. */
  historyTopic?: string;
  /** The registry's native v3 API URL. Default the stack's registry. */
  registryUrl?: string;
  /** Debezium `snapshot.mode`. Default `initial`. */
  snapshotMode?: string;
  /** Further connector properties, overriding the defaults (e.g. `decimal.handling.mode`). */
  extra?: Record<string, string>;
}

/** Escapes a literal for use inside a Java regular expression. */
function regexLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The connector configuration to `PUT /connectors/inventory-connector/config`
 * (all values are strings, as Kafka Connect expects).
 */
export function inventoryConnectorConfig(
  options: InventoryConnectorOptions = {},
): Record<string, string> {
  const databases = options.databases ?? [SOURCE_DATABASE];
  const config: Record<string, string> = {
    "name": CONNECTOR_NAME,
    "connector.class": CONNECTOR_CLASSES[options.flavour ?? "mariadb"],
    "tasks.max": "1",
    "database.hostname": options.hostname ?? HOST,
    "database.port": String(options.port ?? PORTS.mariadb),
    "database.user": options.user ?? SOURCE_DB.user,
    "database.password": options.password ?? SOURCE_DB.password,
    "database.server.id": String(options.serverId ?? 184054),
    "topic.prefix": options.topicPrefix ?? TOPIC_PREFIX,
    "database.include.list": databases.map(regexLiteral).join(","),
    "schema.history.internal.kafka.bootstrap.servers": options.bootstrapServers ?? BOOTSTRAP,
    "schema.history.internal.kafka.topic": options.historyTopic ?? "dbhistory.inventory",
    "snapshot.mode": options.snapshotMode ?? "initial",
    // record names must be valid Avro names
    "schema.name.adjustment.mode": "avro",
    // after a MariaDB restart the binlog client reconnects within 2 s (default 60 s)
    "connect.keep.alive.interval.ms": "2000",
    ...avroConverterConfig("key.converter", options.registryUrl),
    ...avroConverterConfig("value.converter", options.registryUrl),
  };
  if (options.tables) {
    config["table.include.list"] = options.tables.join(",");
  } else {
    // never capture the history tables cdc writes next to the source tables
    config["table.exclude.list"] = databases.map((db) => `${regexLiteral(db)}\\..*_cdc`).join(",");
  }
  return { ...config, ...options.extra };
}
