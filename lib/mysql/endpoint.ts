/**
 * Where the MySQL/MariaDB server is and how to talk to it, shared by the sink
 * and `cdc wait`.
 *
 * @module
 */
import mysql from "mysql2/promise";

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

/** Connects, pings and disconnects: resolves when the server answers within `timeoutMs`. */
export async function pingMysql(endpoint: MysqlEndpoint, timeoutMs: number): Promise<void> {
  const connection = await mysql.createConnection({ ...endpoint, connectTimeout: timeoutMs });
  try {
    await connection.ping();
  } finally {
    await connection.end().catch(() => {});
  }
}
