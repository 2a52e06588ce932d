/**
 * The server's own cost of the history ceiling: N rows of the `_cdc` shape of the bench's table
 * (10 source columns, the metadata) loaded by the `mariadb` client with one
 * `LOAD DATA LOCAL INFILE` per 5,000 rows into a fresh table, and the stack's mariadbd CPU
 * seconds (from /proc) meanwhile, beside the wall time. Against `cpu_per_event.sh`'s figures for
 * a drain of as many events, it tells how much CPU cdc adds to what the server needs anyway
 * (BENCHMARKS.md, issue 23).
 *
 *   deno run -A tests/bench/ceiling_cpu.ts [rows]      # default 200000
 *
 * Needs the local stack. The rows are generated (the values the bench's source table holds),
 * written to files before the timed part, and the table is dropped afterwards.
 *
 * @module
 */
import { connectMysql } from "../helpers.ts";
import { servicePid } from "../../tools/stack/services.ts";
import { runClient } from "./contenders.ts";

const rows = Number(Deno.args[0] ?? 200_000);
const BATCH = 5000;
const DDL = `CREATE TABLE items_cdc (id INT NULL, name VARCHAR(100) NULL, email VARCHAR(200) NULL,
  amount DECIMAL(10,2) NULL, created_at DATETIME(3) NULL, quantity INT NULL, price DOUBLE NULL,
  active TINYINT(1) NULL, note VARCHAR(200) NULL, updated_at DATETIME(6) NULL,
  __op CHAR(1) NOT NULL, __ts DATETIME(3) NULL, __source_ts DATETIME(3) NULL,
  __source_pos VARCHAR(512) NULL, __partition INT NOT NULL, __offset BIGINT NOT NULL,
  PRIMARY KEY (__partition, __offset)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

const base = Date.UTC(2024, 0, 1);
const datetime = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 23);

/** Row `i` as a line of LOAD DATA text (tab-separated, `\N` for NULL, `\\` escaped). */
function line(i: number): string {
  const note = i % 10 === 0 ? "\\N" : `it's a "note" with \\\\ and ünï 😀 #${i}`;
  return [
    i,
    `customer ${i}`,
    `customer${i}@example.com`,
    (i * 7 % 1_000_000 / 100).toFixed(2),
    datetime(base + i),
    i % 100,
    i / 3,
    i % 2 === 0 ? 1 : 0,
    note,
    `${datetime(base + i)}123`,
    "c",
    datetime(base + i),
    datetime(base + i),
    `mariadb-bin.000001:${i}:0`,
    0,
    i,
  ].join("\t");
}

/** mariadbd's user + system CPU seconds so far. */
function mariadbCpu(): number {
  const pid = servicePid("mariadb");
  if (!pid) throw new Error("the stack's MariaDB is not running: deno task stack up");
  const [utime, stime] = Deno.readTextFileSync(`/proc/${pid}/stat`).split(" ").slice(13, 15);
  return (Number(utime) + Number(stime)) / 100;
}

const dir = await Deno.makeTempDir({ prefix: "cdc-ceiling-" });
const database = `ceiling_${Date.now().toString(36)}`;
const db = await connectMysql();
try {
  const statements: string[] = [];
  for (let from = 0; from < rows; from += BATCH) {
    const file = `${dir}/${from}.tsv`;
    const lines = [];
    for (let i = from; i < Math.min(from + BATCH, rows); i++) lines.push(line(i));
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    statements.push(`LOAD DATA LOCAL INFILE '${file}' INTO TABLE items_cdc CHARACTER SET utf8mb4;`);
  }
  await db.query(`CREATE DATABASE ${database}`);
  await db.query(`USE ${database}`);
  await db.query(DDL);
  await Deno.writeTextFile(`${dir}/load.sql`, statements.join("\n") + "\n");
  const cpu = mariadbCpu();
  const wall = await runClient(database, `${dir}/load.sql`, true);
  const used = mariadbCpu() - cpu;
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(
    `${rows} rows by LOAD DATA: mariadbd ${used.toFixed(2)} s CPU (${
      (used * 1e6 / rows).toFixed(1)
    } µs per row), wall ${wall.toFixed(2)} s, load ${load}`,
  );
} finally {
  await db.query(`DROP DATABASE IF EXISTS ${database}`);
  await db.end();
  await Deno.remove(dir, { recursive: true });
}
