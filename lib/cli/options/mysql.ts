/**
 * MySQL/MariaDB's option group (the sink, or the source for `cdc wait`), and
 * {@linkcode mysqlEndpoint}, which turns the parsed options into an endpoint.
 *
 * @module
 */
import type { Option } from "commander";
import type { MysqlEndpoint } from "../../mysql/endpoint.ts";
import { envOption, integer, secret } from "./option.ts";

/** MySQL/MariaDB connection options (the sink, or the source for `wait`). */
export interface MysqlOptions {
  mysqlHost: string;
  mysqlPort: number;
  mysqlUser: string;
  mysqlPassword?: string;
  mysqlPasswordFile?: string;
  mysqlTls?: boolean;
  mysqlCaFile?: string;
}

export const mysqlOptions = (): Option[] => [
  envOption({
    flags: "--mysql-host <host>",
    description: "MySQL/MariaDB host",
    env: "CDC_MYSQL_HOST",
    aliases: ["MYSQL_HOST"],
    default: "localhost",
  }),
  envOption({
    flags: "--mysql-port <port>",
    description: "MySQL/MariaDB port",
    env: "CDC_MYSQL_PORT",
    aliases: ["MYSQL_PORT"],
    default: "3306",
    parse: integer(1),
  }),
  envOption({
    flags: "--mysql-user <user>",
    description: "MySQL/MariaDB user",
    env: "CDC_MYSQL_USER",
    aliases: ["MYSQL_USER"],
    default: "root",
  }),
  envOption({
    flags: "--mysql-password <password>",
    description: "MySQL/MariaDB password (prefer the env variable or a file: flags show in ps)",
    env: "CDC_MYSQL_PASSWORD",
    aliases: ["MYSQL_PASSWORD"],
    secret: true,
  }),
  envOption({
    flags: "--mysql-password-file <path>",
    description: "read the MySQL/MariaDB password from this file (e.g. a Docker secret)",
    env: "CDC_MYSQL_PASSWORD_FILE",
  }),
  envOption({
    flags: "--mysql-tls",
    description: "connect over TLS, verifying the server (the system's CAs, or --mysql-ca-file)",
    env: "CDC_MYSQL_TLS",
    default: false,
  }),
  envOption({
    flags: "--mysql-ca-file <path>",
    description: "PEM file of the CA(s) that signed the server's certificate (implies --mysql-tls)",
    env: "CDC_MYSQL_CA_FILE",
  }),
];

/** The endpoint the options describe: password from `--mysql-password`/env or its file. */
export async function mysqlEndpoint(options: MysqlOptions): Promise<MysqlEndpoint> {
  const endpoint: MysqlEndpoint = {
    host: options.mysqlHost,
    port: options.mysqlPort,
    user: options.mysqlUser,
    password: await secret(options.mysqlPassword, options.mysqlPasswordFile, "MySQL password"),
  };
  if (options.mysqlCaFile) {
    endpoint.ssl = {
      ca: await secret(undefined, options.mysqlCaFile, "MySQL CA"),
      rejectUnauthorized: true,
    };
  } else if (options.mysqlTls) {
    endpoint.ssl = { rejectUnauthorized: true };
  }
  return endpoint;
}
