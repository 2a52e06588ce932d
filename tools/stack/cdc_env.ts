/**
 * The `CDC_*` environment that points `cdc` at the local stack: what
 * `deno task stack env` prints as shell `export` lines, so that after
 * `eval "$(deno task stack env)"` `cdc connector register`, `cdc stream --table customers`,
 * `cdc tail` and `cdc wait` need no flags.
 *
 * @module
 */
import {
  BOOTSTRAP,
  CONNECT_URL,
  PORTS,
  REGISTRY_URL,
  SINK_DB,
  SOURCE_DATABASE,
  SOURCE_DB,
  TOPIC_PREFIX,
} from "./config.ts";

/** `CDC_*` variable → value, for the stack's endpoints and accounts (see the module doc). */
export function cdcEnv(): Record<string, string> {
  return {
    CDC_BOOTSTRAP_SERVERS: BOOTSTRAP,
    CDC_REGISTRY_URL: REGISTRY_URL,
    CDC_CONNECT_URL: CONNECT_URL,
    CDC_TOPIC_PREFIX: TOPIC_PREFIX,
    CDC_DATABASE: SOURCE_DATABASE,
    // the sink (stream) and the server `cdc wait` checks
    CDC_MYSQL_HOST: SINK_DB.host,
    CDC_MYSQL_PORT: String(SINK_DB.port),
    CDC_MYSQL_USER: SINK_DB.user,
    CDC_MYSQL_PASSWORD: SINK_DB.password,
    // what `cdc connector register` tells Debezium to read: the stack's MariaDB
    CDC_SOURCE_FLAVOUR: "mariadb",
    CDC_SOURCE_HOST: SOURCE_DB.host,
    CDC_SOURCE_PORT: String(PORTS.mariadb),
    CDC_SOURCE_USER: SOURCE_DB.user,
    CDC_SOURCE_PASSWORD: SOURCE_DB.password,
  };
}

/** `export NAME='value'` lines a POSIX shell can `eval`, values single-quoted. */
export function shellExports(env: Record<string, string>): string {
  const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  return Object.entries(env).map(([name, value]) => `export ${name}=${quote(value)}\n`).join("");
}
