/**
 * What a stream reads and where it writes, as `stream` and `status` both name
 * it: tables, sink database, `_cdc` table names, consumer group, offsets table.
 *
 * @module
 */
import type { Option } from "commander";
import { CliError, EXIT } from "./cli.ts";
import { envOption, tableTopic, type TopicOptions } from "./options.ts";

/** The options that identify a stream. */
export interface StreamTargetOptions extends TopicOptions {
  table: string[];
  sinkDatabase?: string;
  tableTemplate: string;
  groupId?: string;
  offsetsTable: string;
}

/** `--sink-database`, `--table-template`, `--group-id`, `--offsets-table`. */
export const streamTargetOptions = (): Option[] => [
  envOption({
    flags: "--sink-database <name>",
    description: "database of the _cdc tables on the sink server (default: --database)",
    env: "CDC_SINK_DATABASE",
  }),
  envOption({
    flags: "--table-template <template>",
    description: "name of the history table; {table} is the source table",
    env: "CDC_TABLE_TEMPLATE",
    default: "{table}_cdc",
  }),
  envOption({
    flags: "--group-id <id>",
    description: "Kafka consumer group, also the key of stored positions " +
      "(default: cdc.<database>.<tables>; keep it when changing the table list)",
    env: "CDC_GROUP_ID",
  }),
  envOption({
    flags: "--offsets-table <name>",
    description: "sink table of stored positions",
    env: "CDC_OFFSETS_TABLE",
    default: "__cdc_offsets",
  }),
];

/** A stream's tables with their topics and `_cdc` tables, its group and sink database. */
export interface StreamTarget {
  /** Source table → topic and `_cdc` table, in the order given, without repeats. */
  tables: { table: string; topic: string; cdcTable: string }[];
  groupId: string;
  sinkDatabase: string;
}

/** Resolves the defaults: group `cdc.<database>.<sorted tables>`, sink database `--database`. */
export function streamTarget(options: StreamTargetOptions): StreamTarget {
  const tables = [...new Set(options.table)];
  return {
    tables: tables.map((table) => ({
      table,
      topic: tableTopic(options, table),
      cdcTable: cdcTableName(options.tableTemplate, table),
    })),
    groupId: options.groupId ?? `cdc.${options.database}.${[...tables].sort().join(",")}`,
    sinkDatabase: options.sinkDatabase ?? options.database,
  };
}

/** `{table}_cdc` → `customers_cdc`. */
export function cdcTableName(template: string, table: string): string {
  if (!template.includes("{table}")) {
    throw new CliError(`--table-template "${template}" must contain {table}`, EXIT.usage);
  }
  return template.replaceAll("{table}", table);
}
