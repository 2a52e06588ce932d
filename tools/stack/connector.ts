/**
 * The canonical Debezium connector registration for the local stack: MariaDB source,
 * Apicurio Avro converter writing the Confluent wire format.
 *
 * Wire format produced by `avroConverterConfig` (lib/debezium/connector_config.ts): byte 0 = 0 (magic), bytes 1-4 =
 * the schema id as a big-endian int32, then the Avro binary; no Apicurio headers. The id
 * is the registry's *contentId*, which is exactly the id the registry's Confluent API
 * serves at `GET /apis/ccompat/v7/schemas/ids/{id}` (Apicurio 3's default
 * `apicurio.ccompat.legacy-id-mode.enabled=false`). The stack's smoke test proves it.
 *
 * @module
 */

import {
  type ConnectorConfig,
  converterRegistryUrl,
  debeziumConnectorConfig,
  type SourceFlavour,
} from "../../lib/debezium/connector_config.ts";
import {
  BOOTSTRAP,
  CONNECT_URL,
  CONNECTOR_NAME,
  HOST,
  PORTS,
  REGISTRY_URL,
  SOURCE_DATABASE,
  SOURCE_DB,
  TOPIC_PREFIX,
} from "./config.ts";

/** Options of {@link inventoryConnectorConfig}; every one has the stack's default. */
export interface InventoryConnectorOptions {
  /** Source flavour: MariaDB (default, the stack's database) or MySQL. */
  flavour?: SourceFlavour;
  /** Connector name. Default `inventory-connector`. */
  name?: string;
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
  extra?: ConnectorConfig;
}

/**
 * The connector configuration to `PUT /connectors/inventory-connector/config`
 * on the local stack (the product's {@link debeziumConnectorConfig} with the stack's
 * endpoints and the Apicurio converter).
 */
export function inventoryConnectorConfig(
  options: InventoryConnectorOptions = {},
): ConnectorConfig {
  return debeziumConnectorConfig({
    name: options.name ?? CONNECTOR_NAME,
    flavour: options.flavour ?? "mariadb",
    hostname: options.hostname ?? HOST,
    port: options.port ?? PORTS.mariadb,
    user: options.user ?? SOURCE_DB.user,
    password: options.password ?? SOURCE_DB.password,
    serverId: options.serverId ?? 184054,
    topicPrefix: options.topicPrefix ?? TOPIC_PREFIX,
    databases: options.databases ?? [SOURCE_DATABASE],
    tables: options.tables,
    bootstrapServers: options.bootstrapServers ?? BOOTSTRAP,
    historyTopic: options.historyTopic ?? "dbhistory.inventory",
    converter: "apicurio",
    converterRegistryUrl: options.registryUrl ?? converterRegistryUrl("apicurio", REGISTRY_URL),
    snapshotMode: options.snapshotMode ?? "initial",
    extra: options.extra,
  });
}

/**
 * Flags of `cdc connector register` for a connector on the stack's Connect worker reading its
 * MariaDB (the password goes in `CDC_SOURCE_PASSWORD`: {@link SOURCE_DB}`.password`).
 */
export function stackRegisterFlags(): string[] {
  // deno-fmt-ignore
  return [
    "--connect-url", CONNECT_URL, "--source-flavour", "mariadb",
    "--source-host", SOURCE_DB.host, "--source-port", String(PORTS.mariadb),
    "--source-user", SOURCE_DB.user, "--bootstrap-servers", BOOTSTRAP, "--registry-url", REGISTRY_URL,
  ];
}
