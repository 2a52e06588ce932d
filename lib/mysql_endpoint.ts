/**
 * Where the MySQL/MariaDB server is and how to talk to it, shared by the sink
 * and `cdc wait`.
 *
 * @module
 */

/** How to reach MySQL/MariaDB: address, account, TLS (secrets already read). */
export interface MysqlEndpoint {
  host: string;
  port: number;
  user: string;
  /** Never logged. */
  password?: string;
  /** TLS, the server's certificate verified (against `ca` when given). */
  ssl?: { ca?: string; rejectUnauthorized: true };
}

/** `user@host:port`, and whether over TLS: for messages (no secrets). */
export function describeMysql(endpoint: MysqlEndpoint): string {
  return `${endpoint.user}@${endpoint.host}:${endpoint.port}${endpoint.ssl ? " (TLS)" : ""}`;
}
