/**
 * What tests need from the local stack: its endpoints and credentials, and helpers to
 * stop, start and wait for its services (programmatic versions of `deno task stack`).
 *
 * ```ts
 * import { BOOTSTRAP, REGISTRY_URL, SINK_DB, stopService, startService, waitFor } from "../tools/stack/env.ts";
 * await stopService("kafka");   // SIGTERM, then waits until the port is free
 * await startService("kafka");  // returns once the broker answers a Metadata request
 * ```
 *
 * @module
 */

export {
  BOOTSTRAP,
  CONNECT_URL,
  CONNECTOR_NAME,
  HOST,
  MARIADB_SOCKET,
  type MysqlAccount,
  PORTS,
  REGISTRY_NATIVE_URL,
  REGISTRY_URL,
  SINK_DB,
  SOURCE_DATABASE,
  SOURCE_DB,
  STATE_DIR,
  TOPIC_PREFIX,
  VERSIONS,
} from "./config.ts";
export { inventoryConnectorConfig, type InventoryConnectorOptions } from "./connector.ts";
export {
  type LifecycleOptions,
  restartService,
  SERVICE_NAMES,
  serviceEndpoint,
  type ServiceName,
  servicePid,
  servicePorts,
  serviceReady,
  stackStatus,
  startService,
  stopService,
} from "./services.ts";
export { waitFor, type WaitOptions, WaitTimeout } from "./wait.ts";

import { SERVICE_NAMES, serviceReady } from "./services.ts";

/** Whether every service of the stack answers (what `deno task stack status` checks). */
export async function stackIsUp(): Promise<boolean> {
  const ready = await Promise.all(SERVICE_NAMES.map((name) => serviceReady(name)));
  return ready.every((r) => r);
}

/** Topic Debezium writes a table's changes to: `dbserver1.inventory.<table>`. */
export function topicFor(table: string, database = "inventory", prefix = "dbserver1"): string {
  return `${prefix}.${database}.${table}`;
}
