/**
 * What a stream reads and where it writes, as `stream` and `status` both name
 * it: tables, sink mode, sink database, target table names, consumer group,
 * offsets table.
 *
 * @module
 */
import { InvalidArgumentError, type Option } from "commander";
import { createHash } from "node:crypto";
import { GROUP_ID_MAX_LENGTH } from "../../sink/bookkeeping.ts";
import { CliError, EXIT } from "../errors.ts";
import { SINK_MODES } from "../../sink/modes/index.ts";
import type { ModeName, SinkMode } from "../../sink/modes/mode.ts";
import { tableTopic, type TopicOptions } from "./common.ts";
import { envOption } from "./option.ts";

/** The options that identify a stream. */
export interface StreamTargetOptions extends TopicOptions {
  table?: string[];
  /** `--table-regex`: every table of the database whose whole name matches. */
  tableRegex?: RegExp;
  mode: ModeName;
  sinkDatabase?: string;
  tableTemplate?: string;
  groupId?: string;
  offsetsTable: string;
}

/** `--mode`, `--sink-database`, `--table-template`, `--group-id`, `--offsets-table`. */
export const streamTargetOptions = (): Option[] => [
  envOption({
    flags: "--mode <mode>",
    description: "what the target tables hold: history (every change, {table}_cdc), " +
      "mirror (the current row per key, {table}_mirror) or scd2 (every version with its " +
      "validity interval, {table}_scd2)",
    env: "CDC_MODE",
    default: "history",
    choices: Object.keys(SINK_MODES),
  }),
  envOption({
    flags: "--sink-database <name>",
    description: "database of the target tables on the sink server (default: --database)",
    env: "CDC_SINK_DATABASE",
  }),
  envOption({
    flags: "--table-template <template>",
    description: "name of the target table; {table} is the source table " +
      "(default: {table}_cdc, {table}_mirror or {table}_scd2 by --mode)",
    env: "CDC_TABLE_TEMPLATE",
  }),
  envOption({
    flags: "--group-id <id>",
    description: "Kafka consumer group, also the key of stored positions " +
      `(default: cdc.<database>.<tables>, with /<regex>/ among them for --table-regex, or cdc.<database>.<n>-tables-<hash> past ` +
      `${GROUP_ID_MAX_LENGTH} characters; keep it when changing the table list; at most ` +
      `${GROUP_ID_MAX_LENGTH} characters)`,
    env: "CDC_GROUP_ID",
  }),
  envOption({
    flags: "--offsets-table <name>",
    description: "sink table of stored positions",
    env: "CDC_OFFSETS_TABLE",
    default: "__cdc_offsets",
  }),
];

/** A source table, its topic and its target table. */
export interface TableTarget {
  table: string;
  topic: string;
  cdcTable: string;
}

/** A stream's tables with their topics and target tables, its mode, group and sink database. */
export interface StreamTarget {
  /** The tables named by `--table`, in the order given, without repeats. */
  tables: TableTarget[];
  /** Set with `--table-regex`: the tables, among `topics`, that it names beside `tables`. */
  matching?: (topics: Iterable<string>) => TableTarget[];
  mode: SinkMode;
  groupId: string;
  sinkDatabase: string;
}

/** `--table-regex <regex>` (`CDC_TABLE_REGEX`): a regular expression of whole table names. */
export const tableRegexOption = (): Option =>
  envOption({
    flags: "--table-regex <regex>",
    description: "stream every table of --database whose whole name matches this regular " +
      "expression (JavaScript syntax), tables created later too, each from its first offset; " +
      "with --table, those as well",
    env: "CDC_TABLE_REGEX",
    parse: tableRegex,
  });

/** `t[0-9]+` → a RegExp matching whole names only; a usage error when it does not compile. */
export function tableRegex(text: string): RegExp {
  try {
    return new RegExp(`^(?:${text})$`);
  } catch (error) {
    throw new InvalidArgumentError(`not a regular expression: ${(error as Error).message}`);
  }
}

/**
 * Resolves the defaults: the mode's table template, group {@linkcode defaultGroupId}, sink
 * database `--database`. Refuses a target that is a source table, and a `--group-id` longer
 * than the stored positions' `group_id` column holds.
 */
export function streamTarget(options: StreamTargetOptions): StreamTarget {
  const tables = [...new Set(options.table ?? [])];
  const regex = options.tableRegex;
  if (tables.length === 0 && !regex) {
    throw new CliError(
      "name the tables to stream: --table (repeat it) or --table-regex",
      EXIT.usage,
    );
  }
  const mode = SINK_MODES[options.mode];
  const template = options.tableTemplate ?? mode.defaultTemplate;
  const sinkDatabase = options.sinkDatabase ?? options.database;
  const target = (table: string): TableTarget => {
    const cdcTable = cdcTableName(template, table);
    refuseSourceAsTarget(options.database, table, sinkDatabase, cdcTable);
    return { table, topic: tableTopic(options, table), cdcTable };
  };
  // the regex joins the list as /regex/ (no table name holds a slash): one group per choice
  const named = regex ? [...tables, `/${regexSource(regex)}/`] : tables;
  return {
    tables: tables.map(target),
    matching: regex && ((topics) => {
      const prefix = `${options.topicPrefix}.${options.database}.`;
      const found: TableTarget[] = [];
      for (const topic of topics) {
        if (!topic.startsWith(prefix)) continue;
        const table = topic.slice(prefix.length);
        if (regex.test(table) && !tables.includes(table) && tableTopic(options, table) === topic) {
          found.push(target(table));
        }
      }
      return found.sort((a, b) => a.table.localeCompare(b.table));
    }),
    mode,
    groupId: options.groupId === undefined
      ? defaultGroupId(options.database, named)
      : checkedGroupId(options.groupId),
    sinkDatabase,
  };
}

/** The text given to `--table-regex`, without the anchors {@linkcode tableRegex} adds. */
function regexSource(regex: RegExp): string {
  return regex.source.slice("^(?:".length, -")$".length);
}

/**
 * `cdc.<database>.<sorted tables joined by ",">` while that fits the stored positions'
 * `group_id` column (so a stream keeps the group it always had); for more or longer names,
 * `cdc.<database>.<n>-tables-<hash>`, the hash of that same list: stable for a set of
 * tables, whatever their order, and short for any number of them.
 */
export function defaultGroupId(database: string, tables: readonly string[]): string {
  const unique = [...new Set(tables)].sort();
  const list = unique.join(",");
  const full = `cdc.${database}.${list}`;
  if (characters(full) <= GROUP_ID_MAX_LENGTH) return full;
  const hash = createHash("sha256").update(list).digest("hex").slice(0, 16);
  return `cdc.${database}.${unique.length}-tables-${hash}`;
}

function checkedGroupId(groupId: string): string {
  const length = characters(groupId);
  if (length === 0 || length > GROUP_ID_MAX_LENGTH) {
    throw new CliError(
      `--group-id (CDC_GROUP_ID) must be 1 to ${GROUP_ID_MAX_LENGTH} characters, the width ` +
        `of the group_id column of the stored positions; got ${length}: choose a shorter id`,
      EXIT.usage,
    );
  }
  return groupId;
}

/** Characters as MySQL counts them in a VARCHAR (code points, not UTF-16 units). */
function characters(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** `{table}_cdc` → `customers_cdc`. */
export function cdcTableName(template: string, table: string): string {
  if (!template.includes("{table}")) {
    throw new CliError(`--table-template "${template}" must contain {table}`, EXIT.usage);
  }
  return template.replaceAll("{table}", table);
}

/**
 * Refuses a target that is the source table itself (same database and name): `cdc`
 * cannot tell whether the sink server is the source server, and a mirror written over
 * its own source would destroy it.
 */
export function refuseSourceAsTarget(
  sourceDatabase: string,
  table: string,
  sinkDatabase: string,
  target: string,
): void {
  if (
    sourceDatabase.toLowerCase() === sinkDatabase.toLowerCase() &&
    table.toLowerCase() === target.toLowerCase()
  ) {
    throw new CliError(
      `the target of table ${table} would be ${sinkDatabase}.${target}, the source table ` +
        `itself: choose another --table-template or --sink-database`,
      EXIT.usage,
    );
  }
}
