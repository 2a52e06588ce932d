/**
 * `deno task bench`: `cdc stream` against the Debezium JDBC sink and the server's own ceiling, on
 * real Debezium events, in one run (issue 13).
 *
 * 1. A generated 10-column table in the stack's MariaDB gets N inserts (`--events`, default
 *    200,000), captured by a Debezium MariaDB connector; the run waits until the topic holds them.
 * 2. In alternating rounds (`--rounds`, default 3) each contender reads that one topic from the
 *    start into a fresh database: `cdc stream` (subprocess, the compiled binary's permissions,
 *    `--batch-size 5000`), the Debezium JDBC sink (batch.size 5000, `--mode insert|mirror`), and the
 *    ceiling: the `mariadb` client piping pre-built 5000-row INSERTs of the same rows into a table
 *    with `items_cdc`'s DDL, and the same rows by `LOAD DATA LOCAL INFILE` (when the server
 *    allows it). Drain rate = N / (start to all N rows visible); peak RSS sampled.
 * 3. `--latency`: instead, a steady source (`--rate` changes/s for `--duration` s) with `cdc
 *    stream` (default flags), then the JDBC sink, running; p50/p99 of (row visible - source commit).
 * 4. `--codecs uncompressed,gzip,snappy,lz4,zstd`: instead, the backlog is copied into a topic per
 *    codec (its `compression.type`: the broker recompresses, so its log holds that codec's
 *    batches), and `cdc stream` drains each in alternating rounds; each codec's median against
 *    the uncompressed topic's.
 * 5. `--workload transactions`: the N events are orders and their lines, each order one source
 *    transaction of 5 inserts in two tables, captured with Debezium's transaction metadata;
 *    `cdc stream` drains them without (`cdc`) and with `--transactions` (`cdc-tx`) in
 *    alternating rounds: the cost of applying source transactions whole (issue 22.6). With
 *    `--latency`, the steady source makes such transactions, streamed with and without it.
 * 6. `--tables N` and/or `--partitions P`: instead, the same N events also spread over N tables
 *    of one connector (drained by one `cdc stream --table-regex`), and/or the backlog copied
 *    into a topic of P partitions; `cdc stream` drains each shape and the one-table topic in
 *    rotating rounds: rates against the one-table rate, time to the first row, peak RSS; the
 *    server's LOAD DATA ceiling of both table shapes. `--add-table`: then, per round, a table's
 *    topic is created while the many tables stream: the rejoin, the new table's first row, and
 *    how long the other tables stood still then against before.
 *
 * Prints a Markdown report (stdout) and writes JSON with `--json <file>`. Needs the local stack.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type mysql from "mysql2/promise";
import { delay, steadyBackoff, waitFor } from "../../lib/util/retry.ts";
import { connectMysql, deleteConnector, streamArgs } from "../helpers.ts";
import {
  type AddedTable,
  addTableWhileStreaming,
  buildManyCeilingInput,
  makeManyTablesBacklog,
  type ManyCeilingInput,
  type ManyTablesSource,
  runManyCeiling,
} from "./workloads.ts";
import {
  buildCeilingInput,
  cdcArgs,
  type CeilingInput,
  countRows,
  countSinkRows,
  drain,
  ident,
  type JdbcMode,
  jdbcSinkConfig,
  localInfileAllowed,
  mariadbClientArgs,
  runCeiling,
  type RunningSink,
  startCdc,
  startCdcWith,
  startJdbc,
  toMiB,
  visibleRows,
} from "./contenders.ts";
import {
  type CapturedSource,
  captureSource,
  copyTopic,
  LINES_PER_ORDER,
  makeBacklog,
  ONE_TABLE,
  ORDER_LINES,
  ORDERS,
  ORDERS_SOURCE,
  readRecordValues,
  secondsSince,
  type SourceShape,
  stackAdmin,
  TABLE,
  TOPIC_CODECS,
  type TopicCodec,
  type TopicWatch,
  UPDATE_PASSES,
  watchTopics,
  watchTransactionEnds,
  withTopicPrefix,
  type Workload,
} from "./source.ts";
import {
  changeOf,
  type ContenderResult,
  drainTable,
  firstRowTable,
  type LatencyResult,
  latencyResult,
  latencyTable,
  median,
  ratioTable,
  type RoundResult,
  unitSize,
} from "./stats.ts";

const USAGE = `usage: deno task bench [--events N] [--rounds N] [--mode insert|mirror|scd2]
       [--workload inserts|updates] [--contenders cdc,jdbc,insert,load] [--json FILE]
       deno task bench --workload transactions [--contenders cdc,cdc-tx] [--events N] [--rounds N]
       [--mode insert|mirror|scd2] [--json FILE]
       deno task bench --codecs uncompressed,gzip,snappy,lz4,zstd [--events N] [--rounds N]
       deno task bench --latency [--workload inserts|transactions] [--rate N] [--duration SECONDS]
       [--rounds N] [--json FILE]
       deno task bench [--tables N [--add-table]] [--partitions N] [--events N] [--rounds N] [--json FILE]`;

const CONTENDERS = ["cdc", "cdc-tx", "jdbc", "insert", "load"] as const;
type Contender = typeof CONTENDERS[number];
/** `cdc stream` without and with `--transactions`. */
const CDC_KINDS = ["cdc", "cdc-tx"] as const;
type CdcKind = typeof CDC_KINDS[number];
const isCdc = (c: Contender): c is CdcKind => (CDC_KINDS as readonly string[]).includes(c);

function usage(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    usage(`--${name} must be a whole number above 0, got "${text}"`);
  }
  return n;
}

const { values: flags } = (() => {
  try {
    return parseArgs({
      args: Deno.args,
      options: {
        events: { type: "string", default: "200000" },
        rounds: { type: "string" },
        mode: { type: "string", default: "insert" },
        workload: { type: "string", default: "inserts" },
        contenders: { type: "string" },
        latency: { type: "boolean", default: false },
        rate: { type: "string", default: "5000" },
        duration: { type: "string", default: "60" },
        json: { type: "string" },
        codecs: { type: "string" },
        tables: { type: "string", default: "1" },
        "add-table": { type: "boolean", default: false },
        partitions: { type: "string", default: "1" },
        "http-listen": { type: "string" },
      },
    });
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
})();
const N = positiveInt("events", flags.events);
const ROUNDS = positiveInt("rounds", flags.rounds ?? "3");
const RATE = positiveInt("rate", flags.rate);
const DURATION = positiveInt("duration", flags.duration);
const TABLES = positiveInt("tables", flags.tables);
const PARTITIONS = positiveInt("partitions", flags.partitions);
if (flags.mode !== "insert" && flags.mode !== "mirror" && flags.mode !== "scd2") {
  usage(`--mode must be insert, mirror or scd2, got "${flags.mode}"`);
}
/** cdc's mode: `insert` is history (`_cdc`), the others their own `--mode`. */
const MODE = flags.mode as "insert" | "mirror" | "scd2";
/** The JDBC sink has no versions: in scd2 runs it appends every event, as in `insert`. */
const JDBC_MODE: JdbcMode = MODE === "mirror" ? "mirror" : "insert";
if (!["inserts", "updates", "transactions"].includes(flags.workload)) {
  usage(`--workload must be inserts, updates or transactions, got "${flags.workload}"`);
}
const WORKLOAD = flags.workload as Workload;
/** The source: orders as source transactions (`--workload transactions`), else one table. */
const SHAPE: SourceShape = WORKLOAD === "transactions" ? ORDERS_SOURCE : ONE_TABLE;
/** The changes a unit of the source (a row; an order and its lines) makes in each table, in all. */
const PER_UNIT = SHAPE.tables.map((t) => t.perUnit);
const UNIT = unitSize(PER_UNIT);
if (WORKLOAD === "updates" && N % (UPDATE_PASSES + 1) !== 0) {
  usage(`--workload updates needs --events divisible by ${UPDATE_PASSES + 1}`);
}
if (WORKLOAD === "transactions" && N % UNIT !== 0) {
  usage(`--workload transactions needs --events divisible by ${UNIT}`);
}
const chosen = (flags.contenders ??
  (WORKLOAD === "transactions" ? CDC_KINDS : CONTENDERS.filter((c) => c !== "cdc-tx")).join(","))
  .split(",").map((c) => c.trim());
for (const c of chosen) {
  if (!(CONTENDERS as readonly string[]).includes(c)) {
    usage(`--contenders: unknown "${c}" (choose from ${CONTENDERS.join(", ")})`);
  }
}
const SELECTED = chosen as Contender[];
if (WORKLOAD === "transactions") {
  const other = SELECTED.filter((c) => !isCdc(c));
  if (other.length > 0) {
    usage(
      `--workload transactions compares cdc without and with --transactions: choose from ` +
        `${CDC_KINDS.join(", ")}, not ${other.join(", ")} (the ceilings and the JDBC sink do not ` +
        `read a transactional source)`,
    );
  }
  if (flags.codecs || flags.tables !== "1" || flags.partitions !== "1") {
    usage("--workload transactions: not with --codecs, --tables or --partitions");
  }
} else if (SELECTED.includes("cdc-tx")) {
  usage("--contenders cdc-tx needs --workload transactions (a source with transaction metadata)");
}
if (flags.latency && WORKLOAD === "updates") {
  usage("--latency: the steady source makes inserts or transactions, not --workload updates");
}
const CODECS = (flags.codecs?.split(",") ?? []).map((c) => c.trim());
for (const c of CODECS) {
  if (!(TOPIC_CODECS as readonly string[]).includes(c)) {
    usage(`--codecs: unknown "${c}" (choose from ${TOPIC_CODECS.join(", ")})`);
  }
}
/** The suffix of the tables cdc writes in the chosen mode. */
const SUFFIX = MODE === "insert" ? "cdc" : MODE;
/** The table cdc writes in the chosen mode. */
const CDC_TABLE = `${TABLE}_${SUFFIX}`;
/** Rows each sink ends with: one per key in a mirror, one per event otherwise. */
const FINAL_ROWS = MODE === "mirror" && WORKLOAD === "updates" ? N / (UPDATE_PASSES + 1) : N;
/** cdc's flags beside the defaults: its sink mode, and the metrics endpoint when asked for. */
const CDC_FLAGS = [
  ...(MODE === "insert" ? [] : ["--mode", MODE]),
  ...(flags["http-listen"] ? ["--http-listen", flags["http-listen"]] : []),
];
const BATCH = 5000;
/** What produced every figure below: this run's command line. */
const COMMAND = ["deno task bench", ...Deno.args].join(" ");

const say = (line: string) =>
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const loadAverage = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");

const run = Date.now().toString(36);
const db = await connectMysql();
const loadBefore = loadAverage();
say(`load average before: ${loadBefore}; run ${run}`);

/** Drops every database this run made (they all start with the run's prefix, then `part`). */
async function dropRunDatabases(connection: mysql.Connection, part = ""): Promise<void> {
  const [rows] = await connection.query({
    sql: "SHOW DATABASES",
    rowsAsArray: true,
  }) as unknown as [string[][]];
  for (const [name] of rows) {
    if (name.startsWith(`bench_${run}${part}`)) {
      await connection.query(`DROP DATABASE ${ident(name)}`);
    }
  }
}

const topics: string[] = [];
/** The `--add-table` rounds, after the drains: a table's topic created while streaming. */
const added: AddedTable[] = [];
let report: string;
let json: Record<string, unknown>;
try {
  if (flags.latency) {
    const results = await latencyRounds();
    report = latencyReport(results);
    json = { results };
  } else if (TABLES > 1 || PARTITIONS > 1) {
    const results = await workloadRounds();
    report = workloadReport(results);
    json = { events: N, tables: TABLES, partitions: PARTITIONS, results, added };
  } else if (CODECS.length > 0) {
    const results = await codecRounds(CODECS as TopicCodec[]);
    report = codecReport(results);
    json = { events: N, results };
  } else {
    const { source, results } = await drainRounds();
    report = drainReport(source, results);
    json = { events: N, workload: WORKLOAD, results };
  }
} finally {
  await dropRunDatabases(db).catch((error) => say(`could not drop this run's databases: ${error}`));
  if (topics.length > 0) {
    const admin = await stackAdmin();
    await admin.deleteTopics({ topics }).catch((error) =>
      say(`could not delete ${topics}: ${error}`)
    );
    await admin.disconnect();
  }
  await db.end();
}
const loadAfter = loadAverage();
const header =
  `Command: \`${COMMAND}\` (${new Date().toISOString()}); load average (1, 5, 15 min) ` +
  `before ${loadBefore}, after ${loadAfter}; ${Deno.build.os}, ${navigator.hardwareConcurrency} cores.`;
console.log(`${header}\n\n${report}`);
if (flags.json) {
  await Deno.writeTextFile(
    flags.json,
    JSON.stringify(
      { command: COMMAND, at: new Date().toISOString(), loadBefore, loadAfter, ...json },
      null,
      2,
    ) +
      "\n",
  );
  say(`wrote ${flags.json}`);
}

// ---------------------------------------------------------------------------
// Drain

/** `cdc stream`'s flags beside the defaults, without (`cdc`) or with (`cdc-tx`) `--transactions`. */
function cdcFlags(kind: CdcKind): string[] {
  return [...CDC_FLAGS, ...(kind === "cdc-tx" ? ["--transactions"] : [])];
}

/** `cdc stream`'s flags in the drain. */
function cdcDrainFlags(kind: CdcKind): string[] {
  return ["--batch-size", String(BATCH), ...cdcFlags(kind)];
}

/** How the drain's report names `cdc` of `kind`. */
function cdcContender(kind: CdcKind): { name: string; rssNote: string } {
  return {
    name: `\`cdc stream ${
      cdcDrainFlags(kind).join(" ")
    }\` (\`deno run\` with the binary's permissions)`,
    rssNote: "the cdc process (VmHWM)",
  };
}

/** `cdc` of `kind` drains `source` into `sink`: its figures, once its rows are checked. */
async function drainCdc(kind: CdcKind, source: CapturedSource, sink: string) {
  const started = performance.now();
  const cdc = startCdc(db, source, sink, cdcDrainFlags(kind));
  const drained = await drain(cdc, N, started).finally(() => cdc.stop());
  const rows = await countSinkRows(db, sink, source.tables, SUFFIX);
  if (rows !== FINAL_ROWS) {
    throw new Error(`${kind}: ${rows} rows in ${sink}'s _${SUFFIX} tables, expected ${FINAL_ROWS}`);
  }
  // a transaction applied not whole (its END or changes missing) would time the timeout instead
  const notWhole = cdc.log?.().match(/applied as it is/g)?.length ?? 0;
  if (notWhole > 0) say(`${kind}: ${notWhole} source transaction(s) applied not whole`);
  return drained;
}

async function drainRounds(): Promise<{ source: CapturedSource; results: ContenderResult[] }> {
  if (WORKLOAD === "updates" && SELECTED.includes("jdbc")) {
    usage("--workload updates: the JDBC sink's progress (MAX(id)) cannot be told; leave out jdbc");
  }
  const source = await makeBacklog(db, `bench_${run}_src`, N, say, WORKLOAD);
  topics.push(...source.topics, ...(source.transactionTopic ? [source.transactionTopic] : []));
  const results = new Map<Contender, RoundResult[]>(SELECTED.map((c) => [c, []]));
  const infile = SELECTED.includes("load") && await localInfileAllowed(db);
  if (SELECTED.includes("load") && !infile) {
    say("the server has local_infile=OFF: no LOAD DATA ceiling");
  }
  let ceiling: Awaited<ReturnType<typeof buildCeilingInput>> | undefined;
  const dir = await Deno.makeTempDir({ prefix: "cdc-bench-" });
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const load = loadAverage();
      say(`round ${round}/${ROUNDS}, load average ${load}`);
      const record = (c: Contender, seconds: number, rss: Partial<RoundResult> = {}) => {
        const result = { round, load, seconds, eventsPerSecond: N / seconds, ...rss };
        results.get(c)!.push(result);
        say(`${c}: ${N} rows in ${seconds.toFixed(2)} s = ${Math.round(N / seconds)} events/s`);
      };
      // the ceiling replays cdc's own output, so cdc runs in round 1 even when not selected
      const needCeiling = !ceiling && (SELECTED.includes("insert") || infile);
      // cdc without and with --transactions: each round starts with another
      const kinds = SELECTED.filter(isCdc);
      const order = kinds.map((_, i) => kinds[(i + round - 1) % kinds.length]);
      if (needCeiling && !order.includes("cdc")) order.unshift("cdc");
      for (const kind of order) {
        const cdcSink = `bench_${run}_${kind.replace("-", "_")}_${round}`;
        const { seconds, firstRow, afterFirstRow, peakRss } = await drainCdc(kind, source, cdcSink);
        if (SELECTED.includes(kind)) {
          record(kind, seconds, {
            firstRowSeconds: firstRow,
            afterFirstRowPerSecond: N / afterFirstRow,
            peakRssMiB: toMiB(peakRss),
          });
        }
        if (kind === "cdc" && needCeiling) {
          const started = performance.now();
          ceiling = await ceilingInput(source, cdcSink, dir);
          say(
            `ceiling input: ${ceiling.rows} rows from ${cdcSink} written in ${
              secondsSince(started)
            } s`,
          );
        }
        await db.query(`DROP DATABASE ${ident(cdcSink)}`);
      }
      if (SELECTED.includes("jdbc")) {
        const sink = `bench_${run}_jdbc_${round}`;
        const started = performance.now();
        const jdbc = await startJdbc(db, source, sink, `${sink}-jdbc`, JDBC_MODE);
        const { seconds, firstRow, afterFirstRow, peakRss } = await drain(jdbc, N + 1, started)
          .finally(() => jdbc.stop());
        const rows = await countRows(db, sink, TABLE);
        if (rows !== N) throw new Error(`jdbc: ${rows} rows in ${sink}.${TABLE}, expected ${N}`);
        record("jdbc", seconds, {
          firstRowSeconds: firstRow,
          afterFirstRowPerSecond: N / afterFirstRow,
          peakRssMiB: toMiB(peakRss),
          rssDeltaMiB: toMiB(peakRss - jdbc.rssBefore),
        });
        await db.query(`DROP DATABASE ${ident(sink)}`);
      }
      if (ceiling && SELECTED.includes("insert")) {
        const target = `bench_${run}_insert_${round}`;
        record("insert", await runCeiling(db, ceiling, target, ceiling.insertFile, false));
        await db.query(`DROP DATABASE ${ident(target)}`);
      }
      if (ceiling && infile) {
        const target = `bench_${run}_load_${round}`;
        record("load", await runCeiling(db, ceiling, target, ceiling.loadFile, true));
        await db.query(`DROP DATABASE ${ident(target)}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const jdbcMode = JDBC_MODE === "insert"
    ? "insert.mode=insert, primary.key.mode=none"
    : "insert.mode=upsert, primary.key.mode=record_key, delete.enabled=true";
  const upsert = MODE === "mirror";
  const describe: Record<Contender, { name: string; rssNote: string }> = {
    cdc: cdcContender("cdc"),
    "cdc-tx": cdcContender("cdc-tx"),
    jdbc: {
      name: `Debezium JDBC sink (batch.size ${BATCH}, ${jdbcMode})`,
      rssNote: "the whole Connect worker JVM (VmRSS peak; growth over the round in brackets)",
    },
    insert: {
      name: `\`mariadb\` client piping pre-built ${BATCH}-row INSERTs${
        upsert ? " ... ON DUPLICATE KEY UPDATE" : ""
      } (${CDC_TABLE} DDL)`,
      rssNote: "n/a",
    },
    load: {
      name: `\`mariadb\` client, \`LOAD DATA LOCAL INFILE${
        upsert ? " ... REPLACE" : ""
      }\` per ${BATCH} rows`,
      rssNote: "n/a",
    },
  };
  return {
    source,
    results: SELECTED.filter((c) => results.get(c)!.length > 0).map((c) => ({
      ...describe[c],
      rounds: results.get(c)!,
    })),
  };
}

/**
 * The ceiling's input, from cdc's output in `cdcSink`: its rows as they are, except in a mirror,
 * whose ceiling applies every change as cdc has to: the rows of a history run of the same
 * events (untimed), upserted in offset order into the mirror's DDL, ending as cdc's mirror.
 */
async function ceilingInput(source: CapturedSource, cdcSink: string, dir: string) {
  if (MODE !== "mirror") return await buildCeilingInput(db, cdcSink, CDC_TABLE, dir, BATCH);
  const history = `bench_${run}_history`;
  const cdc = startCdc(db, source, history, ["--batch-size", String(BATCH)]);
  await drain(cdc, N, performance.now()).finally(() => cdc.stop());
  try {
    return await buildCeilingInput(db, cdcSink, CDC_TABLE, dir, BATCH, "upsert", {
      database: history,
      table: `${TABLE}_cdc`,
    });
  } finally {
    await db.query(`DROP DATABASE ${ident(history)}`);
  }
}

function drainReport(source: CapturedSource, results: ContenderResult[]): string {
  const ceilings = results.filter((r) => r.name.startsWith("`mariadb`"));
  const fastest = ceilings.sort((a, b) =>
    median(b.rounds.map((x) => x.eventsPerSecond)) -
    median(a.rounds.map((x) => x.eventsPerSecond))
  )[0];
  const withoutTransactions = WORKLOAD === "transactions"
    ? results.find((r) => r.name === cdcContender("cdc").name)
    : undefined;
  const how = (contender: Contender, line: () => string) =>
    SELECTED.includes(contender) ? [line()] : [];
  return [
    `${N.toLocaleString("en-US")} events made by Debezium (workload \`${WORKLOAD}\`${
      WORKLOAD === "transactions"
        ? `: ${N / UNIT} source transactions, each an INSERT of an order and one of ` +
          `its ${LINES_PER_ORDER} lines, in ${source.tables.join(" and ")}`
        : ""
    }), ${ROUNDS} alternating rounds; drain = events / (contender start to all rows visible in ` +
    `every table); first row = seconds from the contender's start to its first committed row.`,
    "",
    drainTable(results),
    "",
    ...(fastest ? ["Against the faster ceiling:", "", ratioTable(results, fastest), ""] : []),
    ...(withoutTransactions
      ? [
        "With `--transactions` against without (issue 22.6's goal: at least 0.8):",
        "",
        ratioTable(results, withoutTransactions),
        "",
      ]
      : []),
    "How each contender ran:",
    "",
    ...CDC_KINDS.flatMap((kind) =>
      how(
        kind,
        () =>
          `- ${kind}: \`cdc ${
            cdcArgs(source, `bench_${run}_${kind.replace("-", "_")}_<round>`, cdcDrainFlags(kind))
              .join(" ")
          }\``,
      )
    ),
    ...how("jdbc", () => {
      const jdbc = jdbcSinkConfig(source.topics[0], `bench_${run}_jdbc_<round>`, JDBC_MODE);
      const shown = Object.entries(jdbc)
        .filter(([k]) =>
          !k.startsWith("key.converter.") && !k.startsWith("value.converter.") &&
          !k.includes("password")
        )
        .map(([k, v]) => `${k}=${v}`).join(", ");
      return `- JDBC sink: ${shown}, converters as the source connector's (Apicurio Avro)`;
    }),
    ...how(
      "insert",
      () =>
        `- ceiling, INSERTs: \`mariadb ${
          mariadbClientArgs("<db>", false).join(" ")
        } < insert.sql\``,
    ),
    ...how(
      "load",
      () =>
        `- ceiling, LOAD DATA: \`mariadb ${mariadbClientArgs("<db>", true).join(" ")} < load.sql\``,
    ),
    ...(fastest
      ? [
        MODE === "mirror"
          ? `- both ceiling files hold every change as a row (a history run of the same events, ` +
            `untimed), upserted in offset order into cdc's own ${CDC_TABLE} DDL; every ceiling ` +
            `table ends with the CHECKSUM TABLE of cdc's ${CDC_TABLE} of round 1.`
          : `- both ceiling files are built from cdc's own ${CDC_TABLE} rows of round 1 before ` +
            `timing, and every ceiling table ends with cdc's CHECKSUM TABLE.`,
      ]
      : []),
  ].join("\n");
}

// ---------------------------------------------------------------------------
// Codecs

/** `cdc stream` draining the backlog copied into a topic per codec, in alternating rounds. */
async function codecRounds(codecs: TopicCodec[]): Promise<ContenderResult[]> {
  const source = await makeBacklog(db, `bench_${run}_src`, N, say);
  topics.push(...source.topics);
  const copies = new Map<TopicCodec, CapturedSource>();
  for (const codec of codecs) {
    const copy = withTopicPrefix(source, `bench_${run}_${codec}`);
    const started = performance.now();
    await copyTopic(source.topics[0], copy.topics[0], N, codec);
    topics.push(...copy.topics);
    say(
      `${copy.topics[0]}: the backlog copied (compression.type ${codec}) in ${
        secondsSince(started)
      } s`,
    );
    copies.set(codec, copy);
  }
  const results = new Map<TopicCodec, RoundResult[]>(codecs.map((c) => [c, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    // each round starts with another codec, so that none always runs on a fresher machine
    const order = codecs.map((_, i) => codecs[(i + round - 1) % codecs.length]);
    for (const codec of order) {
      const load = loadAverage();
      const sink = `bench_${run}_cdc_${codec}_${round}`;
      const started = performance.now();
      const cdc = startCdc(db, copies.get(codec)!, sink, ["--batch-size", String(BATCH)]);
      const { seconds, afterFirstRow, peakRss } = await drain(cdc, N, started).finally(() =>
        cdc.stop()
      );
      const rows = await countRows(db, sink, `${TABLE}_cdc`);
      if (rows !== N) throw new Error(`cdc (${codec}): ${rows} rows in ${sink}, expected ${N}`);
      results.get(codec)!.push({
        round,
        load,
        seconds,
        eventsPerSecond: N / seconds,
        afterFirstRowPerSecond: N / afterFirstRow,
        peakRssMiB: toMiB(peakRss),
      });
      say(`round ${round}, ${codec}: ${Math.round(N / seconds)} events/s (load ${load})`);
      await db.query(`DROP DATABASE ${ident(sink)}`);
    }
  }
  return codecs.map((codec) => ({
    name: `\`cdc stream\`, topic \`compression.type=${codec}\``,
    rssNote: "the cdc process (VmHWM)",
    rounds: results.get(codec)!,
  }));
}

function codecReport(results: ContenderResult[]): string {
  return [
    `${N.toLocaleString("en-US")} events made by Debezium, copied into one topic per codec ` +
    `(the broker recompresses to the topic's \`compression.type\`); ${ROUNDS} rounds, each codec ` +
    `once per round, the order rotating; drain = events / (start to all rows visible).`,
    "",
    drainTable(results),
    "",
    ratioTable(results, results[0]),
  ].join("\n");
}

// ---------------------------------------------------------------------------
// Many tables, many partitions

/**
 * `cdc stream` draining the one-table topic, the same number of events over `--tables` tables
 * (one `--table-regex`), and the backlog in a `--partitions`-partition topic, in rotating rounds.
 */
async function workloadRounds(): Promise<ContenderResult[]> {
  const source = await makeBacklog(db, `bench_${run}_src`, N, say);
  topics.push(...source.topics);
  interface Shape {
    name: string;
    args: (sink: string) => string[];
    source: CapturedSource;
    /** Whether it is the many-table shape. */
    many?: boolean;
  }
  const batchFlags = ["--batch-size", String(BATCH)];
  const shapes: Shape[] = [{
    name: "`cdc stream`, 1 table, 1 partition",
    args: (sink) => cdcArgs(source, sink, batchFlags),
    source,
  }];
  let many: ManyTablesSource | undefined;
  if (TABLES > 1) {
    many = await makeManyTablesBacklog(db, `bench_${run}_many`, N, TABLES, say);
    topics.push(...many.topics);
    shapes.push({
      name: `\`cdc stream --table-regex '${many.regex}'\`, ${TABLES} tables`,
      args: (sink) => manyArgs(many!, sink, batchFlags),
      source: many,
      many: true,
    });
  }
  if (PARTITIONS > 1) {
    const copy = withTopicPrefix(source, `bench_${run}_p${PARTITIONS}`);
    const started = performance.now();
    await copyTopic(source.topics[0], copy.topics[0], N, "uncompressed", PARTITIONS);
    topics.push(...copy.topics);
    say(
      `${copy.topics[0]}: the backlog copied into ${PARTITIONS} partitions in ${
        secondsSince(started)
      } s`,
    );
    shapes.push({
      name: `\`cdc stream\`, 1 table, ${PARTITIONS} partitions`,
      args: (sink) => cdcArgs(copy, sink, batchFlags),
      source: copy,
    });
  }
  const results = new Map<Shape, RoundResult[]>(shapes.map((s) => [s, []]));
  // the server's own ceiling of the one-table and the many-table shapes, from cdc's round 1 rows
  const infile = TABLES > 1 && await localInfileAllowed(db);
  const dir = await Deno.makeTempDir({ prefix: "cdc-bench-" });
  let oneCeiling: CeilingInput | undefined;
  let manyCeiling: ManyCeilingInput | undefined;
  const ceilings = { one: [] as RoundResult[], many: [] as RoundResult[] };
  for (let round = 1; round <= ROUNDS; round++) {
    // each round starts with another shape, so that none always runs on a fresher machine
    const order = shapes.map((_, i) => shapes[(i + round - 1) % shapes.length]);
    for (const [i, shape] of order.entries()) {
      const load = loadAverage();
      const sink = `bench_${run}_cdc_${round}_${i}`;
      const started = performance.now();
      const cdc = startCdcWith(db, shape.args(sink), sink, shape.source.topics);
      const { seconds, firstRow, afterFirstRow, peakRss } = await drain(cdc, N, started)
        .finally(() => cdc.stop());
      const rows = await countSinkRows(db, sink, shape.source.tables, "cdc");
      if (rows !== N) throw new Error(`${shape.name}: ${rows} rows in ${sink}, expected ${N}`);
      if (infile && shape === shapes[0] && !oneCeiling) {
        await Deno.mkdir(`${dir}/one`);
        oneCeiling = await buildCeilingInput(db, sink, `${TABLE}_cdc`, `${dir}/one`, BATCH);
      }
      if (infile && shape.many && !manyCeiling) {
        await Deno.mkdir(`${dir}/many`);
        manyCeiling = await buildManyCeilingInput(
          db,
          sink,
          shape.source.tables,
          `${dir}/many`,
          BATCH,
        );
      }
      results.get(shape)!.push({
        round,
        load,
        seconds,
        eventsPerSecond: N / seconds,
        afterFirstRowPerSecond: N / afterFirstRow,
        firstRowSeconds: firstRow,
        peakRssMiB: toMiB(peakRss),
      });
      say(
        `round ${round}, ${shape.name}: ${Math.round(N / seconds)} events/s, first row after ${
          firstRow.toFixed(2)
        } s, peak RSS ${Math.round(toMiB(peakRss))} MiB (load ${load})`,
      );
      await db.query(`DROP DATABASE ${ident(sink)}`);
    }
    const ceilingRuns: [RoundResult[], () => Promise<number>][] = [];
    if (oneCeiling) {
      const input = oneCeiling;
      const target = `bench_${run}_load_one_${round}`;
      ceilingRuns.push([ceilings.one, () => runCeiling(db, input, target, input.loadFile, true)]);
    }
    if (manyCeiling) {
      const input = manyCeiling;
      ceilingRuns.push([
        ceilings.many,
        () => runManyCeiling(db, input, `bench_${run}_load_many_${round}`),
      ]);
    }
    for (const [into, ceiling] of round % 2 ? ceilingRuns : ceilingRuns.reverse()) {
      const load = loadAverage();
      const seconds = await ceiling();
      into.push({ round, load, seconds, eventsPerSecond: N / seconds });
      say(`round ${round}, ceiling: ${Math.round(N / seconds)} events/s (load ${load})`);
    }
    await dropRunDatabases(db, "_load_");
  }
  await Deno.remove(dir, { recursive: true });
  if (many && flags["add-table"]) added.push(...await addedTableRounds(many, batchFlags));
  const cdcResults = shapes.map((shape) => ({
    name: shape.name,
    rssNote: "the cdc process (VmHWM)",
    rounds: results.get(shape)!,
  }));
  const ceilingResults = [
    { name: "ceiling: `mariadb` client, LOAD DATA, 1 table", rounds: ceilings.one },
    { name: `ceiling: \`mariadb\` client, LOAD DATA, ${TABLES} tables`, rounds: ceilings.many },
  ].filter((c) => c.rounds.length > 0).map((c) => ({ ...c, rssNote: "n/a" }));
  return [...cdcResults, ...ceilingResults];
}

/** `cdc stream --table-regex` of the many-table source into `sink`. */
function manyArgs(many: ManyTablesSource, sink: string, extra: string[]): string[] {
  // deno-fmt-ignore
  return streamArgs([], sink, "--table-regex", many.regex, "--database", many.database,
    "--topic-prefix", many.topicPrefix, ...extra);
}

async function addedTableRounds(
  many: ManyTablesSource,
  batchFlags: string[],
): Promise<AddedTable[]> {
  const results: AddedTable[] = [];
  // the added table's records: the first table's, read before any round
  const values = await readRecordValues(many.topics[0], Math.floor(N / TABLES));
  for (let round = 1; round <= ROUNDS; round++) {
    const load = loadAverage();
    const sink = `bench_${run}_add_${round}`;
    const table = `${many.topicPrefix}.${many.database}.t${many.tables.length + round - 1}`;
    topics.push(table);
    const cdc = startCdcWith(
      db,
      manyArgs(many, sink, [...batchFlags, "--table-refresh", "1s"]),
      sink,
      [...many.topics, table],
    );
    try {
      const result = await addTableWhileStreaming(db, many, cdc, sink, N, table, values);
      results.push({ round, load, ...result });
      say(
        `round ${round}, a table added: rejoined in ${result.rejoinMs} ms, its first row after ` +
          `${result.firstRowSeconds.toFixed(2)} s; the others stood still at most ` +
          `${result.stallDuringSeconds.toFixed(2)} s then, ${
            result.stallBeforeSeconds.toFixed(2)
          } s before (load ${load})`,
      );
    } finally {
      await cdc.stop();
    }
    await db.query(`DROP DATABASE ${ident(sink)}`);
  }
  return results;
}

function addedTableReport(): string {
  if (added.length === 0) return "";
  const s = (n: number) => `${n.toFixed(2)} s`;
  return [
    "",
    `A table's topic created while the ${TABLES} tables stream (\`--table-refresh 1s\`, once a ` +
    `quarter of the events are written): cdc's rejoin, the new table's first row after its ` +
    `topic appeared, and the longest time the other tables' stored positions stood still from ` +
    `then until the new table was drained, against the longest before it in the same run (polls ` +
    `every 20 ms).`,
    "",
    "| round | load | rejoin | new table's first row | others' longest stall, during | before |",
    "| --- | --- | --- | --- | --- | --- |",
    ...added.map((a) =>
      `| ${a.round} | ${a.load} | ${a.rejoinMs} ms | ${s(a.firstRowSeconds)} | ${
        s(a.stallDuringSeconds)
      } | ${s(a.stallBeforeSeconds)} |`
    ),
  ].join("\n");
}

function ceilingsOf(results: ContenderResult[]): ContenderResult[] {
  return results.filter((r) => r.name.startsWith("ceiling"));
}

function workloadReport(results: ContenderResult[]): string {
  return [
    `${N.toLocaleString("en-US")} events made by Debezium in each shape; ${ROUNDS} rounds, each ` +
    `shape once per round, the order rotating; drain = events / (start to all rows visible); ` +
    `first row = start to the first row visible (50 ms polls).`,
    "",
    drainTable(results),
    "",
    ratioTable(results.filter((r) => !r.name.startsWith("ceiling")), results[0]),
    "",
    ...(ceilingsOf(results).length === 2
      ? [
        "The server's own rate in the same shapes (the rows cdc wrote in round 1, tables " +
        "created beforehand, 5,000 rows per transaction):",
        "",
        ratioTable(ceilingsOf(results), ceilingsOf(results)[0]),
        "",
      ]
      : []),
    firstRowTable(results.filter((r) => !r.name.startsWith("ceiling"))),
    addedTableReport(),
  ].join("\n");
}

// ---------------------------------------------------------------------------
// Latency

/**
 * Per change (numbered as {@linkcode changeOf} does; unit 0, the warm-up, first): when the query
 * making it returned (committed), when its event reached a consumer of the topics, and when a
 * sink poll first saw the row; per unit, when its transaction's END marker reached a consumer.
 */
interface Timeline {
  committedAt: Float64Array;
  arrivedAt: Float64Array;
  seenAt: Float64Array;
  endedAt: Float64Array;
}

/**
 * Makes units 1 .. `units` at `RATE` changes per second on `writer`, noting when each committed.
 * The one-table source: the rows due in one multi-row INSERT, one transaction, committed when it
 * returns. The orders source: each order its own transaction and its own query (queued on the
 * one connection, so they run back to back), committed when that query returns; one query of
 * every transaction due would return only after the last of them committed, and the earlier ones,
 * stamped so, showed negative latencies (Debezium's own included).
 * Returns the changes/s achieved.
 */
async function steadySource(
  writer: mysql.Connection,
  units: number,
  timeline: Timeline,
): Promise<number> {
  const started = performance.now();
  let next = 1;
  while (next <= units) {
    const due = Math.min(units, Math.floor(RATE * (performance.now() - started) / 1000 / UNIT));
    if (due < next) {
      await delay(1); // pacing the source, not waiting for a condition
      continue;
    }
    if (WORKLOAD === "transactions") {
      const committed: Promise<unknown>[] = [];
      for (let unit = next; unit <= due; unit++) {
        committed.push(
          writer.query(SHAPE.units(unit, unit + 1, true)).then(() =>
            timeline.committedAt.fill(performance.now(), unit * UNIT, (unit + 1) * UNIT)
          ),
        );
      }
      await Promise.all(committed);
    } else {
      await writer.query(SHAPE.units(next, due + 1, true));
      timeline.committedAt.fill(performance.now(), next * UNIT, (due + 1) * UNIT);
    }
    next = due + 1;
  }
  return units * UNIT / ((performance.now() - started) / 1000);
}

/**
 * Polls `sink` until the changes of units 0 .. `units` are visible in every table, noting when
 * each was first seen.
 */
async function watch(
  sink: RunningSink,
  units: number,
  timeline: Timeline,
  deadlineMs: number,
): Promise<void> {
  const seen = [...PER_UNIT]; // each topic's next offset not seen yet: unit 0 is the warm-up
  const end = PER_UNIT.map((perUnit) => (units + 1) * perUnit);
  await waitFor(
    `the changes of ${units} units visible`,
    async () => {
      const visible = await sink.visibleByTopic();
      const now = performance.now();
      visible.forEach((next, topic) => {
        for (; seen[topic] < Math.min(next, end[topic]); seen[topic]++) {
          timeline.seenAt[changeOf(PER_UNIT, topic, seen[topic])] = now;
        }
      });
      return seen.every((next, topic) => next >= end[topic]);
    },
    deadlineMs,
    { backoff: steadyBackoff(5) },
  );
}

/** How the latency report names a sink. */
function latencyName(kind: CdcKind | "jdbc"): string {
  if (kind === "jdbc") return `Debezium JDBC sink (batch.size ${BATCH})`;
  const flags = cdcFlags(kind);
  return flags.length ? `\`cdc stream ${flags.join(" ")}\`` : "`cdc stream` (default flags)";
}

async function latencyRounds(): Promise<LatencyResult[]> {
  const results: LatencyResult[] = [];
  const units = Math.floor(RATE * DURATION / UNIT);
  const kinds = SELECTED.filter((c): c is CdcKind | "jdbc" => isCdc(c) || c === "jdbc");
  for (let round = 1; round <= ROUNDS; round++) {
    // each round starts with another sink
    for (const kind of kinds.map((_, i) => kinds[(i + round - 1) % kinds.length])) {
      const load = loadAverage();
      say(`latency round ${round}/${ROUNDS}: ${kind}, load average ${load}`);
      const source = await captureSource(
        db,
        `bench_${run}_lat_${kind.replace("-", "_")}_${round}`,
        SHAPE,
      );
      topics.push(...source.topics, ...(source.transactionTopic ? [source.transactionTopic] : []));
      const sinkDb = `${source.database}_sink`;
      const writer = await connectMysql(source.database, { multipleStatements: true });
      // a warm-up unit (0) seen by the sink first, so start-up is not counted as latency
      await writer.query(SHAPE.units(0, 1, true));
      const sink = kind === "jdbc"
        ? await startJdbc(db, source, sinkDb, `${sinkDb}-jdbc`, JDBC_MODE)
        : startCdc(db, source, sinkDb, cdcFlags(kind));
      const timeline = {
        committedAt: new Float64Array((units + 1) * UNIT),
        arrivedAt: new Float64Array((units + 1) * UNIT),
        seenAt: new Float64Array((units + 1) * UNIT),
        endedAt: new Float64Array(units + 1),
      };
      let achievedRate: number;
      let topicWatch: TopicWatch | undefined;
      let endWatch: TopicWatch | undefined;
      // every record of the topics, and every END of the source's transactions, arrived
      const watched = (n: number) =>
        topicWatch!.received() >= n * UNIT && (endWatch?.received() ?? n) >= n;
      try {
        await waitFor("the warm-up unit", async () => await visibleRows(sink) >= UNIT, 180_000, {
          backoff: steadyBackoff(50),
        });
        topicWatch = await watchTopics(
          source.topics,
          `${sinkDb}-watch`,
          timeline.arrivedAt,
          (topic, offset) => changeOf(PER_UNIT, topic, offset),
        );
        if (source.transactionTopic) {
          endWatch = await watchTransactionEnds(source, `${sinkDb}-ends`, timeline.endedAt);
        }
        // the consumers have joined once they hold the warm-up's records: later ones arrive live
        await waitFor("the warm-up records", () => watched(1), 120_000).catch((error) => {
          throw new Error(
            `${error.message}: ${topicWatch!.received()}/${UNIT} change(s) at the topic consumer` +
              (endWatch ? `, ${endWatch.received()}/1 END marker(s) at the END consumer` : ""),
            { cause: error },
          );
        });
        const watching = watch(sink, units, timeline, (DURATION + 300) * 1000);
        achievedRate = await steadySource(writer, units, timeline);
        await watching;
        await waitFor("every record at the topic consumers", () => watched(units + 1), 60_000);
      } finally {
        await topicWatch?.stop();
        await endWatch?.stop();
        await sink.stop();
        await writer.end();
        await deleteConnector(source.connector);
      }
      // every change but the warm-up's: its time at `at` less its commit
      const since = (at: (change: number) => number) =>
        Array.from(
          { length: units * UNIT },
          (_, i) => at(UNIT + i) - timeline.committedAt[UNIT + i],
        );
      results.push(
        latencyResult(
          `Debezium alone (commit to event at a topic consumer), ${kind} run`,
          round,
          load,
          achievedRate,
          since((change) => timeline.arrivedAt[change]),
        ),
      );
      if (endWatch) {
        results.push(
          latencyResult(
            `Debezium alone (commit to its transaction's END marker at a consumer), ${kind} run`,
            round,
            load,
            achievedRate,
            since((change) => timeline.endedAt[Math.floor(change / UNIT)]),
          ),
        );
      }
      const result = latencyResult(
        latencyName(kind),
        round,
        load,
        achievedRate,
        since((change) => timeline.seenAt[change]),
      );
      say(`${kind}: p50 ${Math.round(result.p50)} ms, p99 ${Math.round(result.p99)} ms`);
      results.push(result);
      await db.query(`DROP DATABASE ${ident(sinkDb)}`);
      await db.query(`DROP DATABASE ${ident(source.database)}`);
    }
  }
  return results;
}

function latencyReport(results: LatencyResult[]): string {
  const source = WORKLOAD === "transactions"
    ? `Source: ${RATE} changes/s for ${DURATION} s as ${
      RATE / UNIT
    } source transactions/s, each an order and its ${LINES_PER_ORDER} lines (an INSERT into ` +
      `${ORDERS}, one into ${ORDER_LINES}, committed), captured by Debezium with transaction ` +
      `metadata; each transaction is its own query, the ones due queued on one connection. ` +
      `Latency of a row = when the first poll (every 5 ms) saw it in the sink - when the query ` +
      `of its transaction returned (commit); "Debezium alone" = when a Kafka ` +
      `consumer in the bench received its event, or its transaction's END marker (what ` +
      `\`--transactions\` waits for), - the same commit.`
    : `Source: ${RATE} inserts/s for ${DURATION} s into a table captured by Debezium, each INSERT ` +
      `its own transaction. Latency of a row = when the first poll (every 5 ms) saw it in the ` +
      `sink - when its INSERT returned (commit); "Debezium alone" = when a Kafka consumer in the ` +
      `bench received its event - the same commit (what every sink's figure includes).`;
  return [
    `${source} ${ROUNDS} alternating round(s), each on a fresh source and topics.`,
    "",
    latencyTable(results),
  ].join("\n");
}
