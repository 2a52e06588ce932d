/**
 * `--mode mirror` and `--mode scd2` against real Debezium: a random workload
 * (inserts, updates, deletes, primary-key changes, a truncate; a single and a
 * composite key, named so that Avro needs other names: a space, a dot, a non-ASCII
 * letter; awkward types) runs while both modes stream, each killed with
 * SIGKILL at random instants and restarted. At the end the mirror equals the
 * source row for row, and for the instant after every phase of the workload the
 * scd2 "as of T" query returns exactly the rows the source held then; both
 * compared on the server.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type mysql from "mysql2/promise";
import {
  capturedStreamArgs,
  type CdcProcess,
  query,
  runCdc,
  STACK_FLAGS,
  streamArgs,
} from "./helpers.ts";
import { Scratch } from "./fixtures/scratch.ts";
import { FinalError, steadyBackoff, waitFor } from "../lib/util/retry.ts";

/** The tables under test: their DDL, key and non-key columns. */
const TABLES = {
  single: {
    ddl: `\`line no\` INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(12,4), at DATETIME(6),
          big BIGINT UNSIGNED, bits VARBINARY(8), size ENUM('S','M','XL')`,
    key: ["line no"],
    columns: ["line no", "name", "price", "at", "big", "bits", "size"],
  },
  composite: {
    ddl:
      `\`kód\` INT, \`a.b\` VARCHAR(10), note VARCHAR(30), n INT, PRIMARY KEY (\`kód\`, \`a.b\`)`,
    key: ["kód", "a.b"],
    columns: ["kód", "a.b", "note", "n"],
  },
} as const;
type TableName = keyof typeof TABLES;

/** A seeded pseudo-random generator, so that a failing run can be repeated. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const q = (name: string) => "`" + name.replaceAll("`", "``") + "`";

/** One random change to `table` in `db`. */
async function randomChange(
  db: mysql.Connection,
  source: string,
  table: TableName,
  rnd: () => number,
) {
  const name = `${q(source)}.${q(table)}`;
  const pick = <T>(items: readonly T[]) => items[Math.floor(rnd() * items.length)];
  const id = Math.floor(rnd() * 40);
  const text = pick(["plain", "it's", "back\\slash", "ÿ😀 wide", "", null]);
  const keyOf = (row: Record<string, unknown>) =>
    TABLES[table].key.map((k) => `${q(k)} = ${db.escape(row[k])}`).join(" AND ");
  const existing = await query<Record<string, unknown>>(
    db,
    `SELECT * FROM ${name} ORDER BY RAND(${id}) LIMIT 1`,
  );
  const action = existing.length === 0 ? 0 : rnd();
  if (table === "single") {
    if (action < 0.4) {
      await db.query(
        `INSERT INTO ${name} VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)`,
        [
          id,
          text,
          (rnd() * 1e6).toFixed(4),
          `2020-01-0${1 + Math.floor(rnd() * 9)} 10:11:12.${Math.floor(rnd() * 1e6)}`,
          pick(["18446744073709551615", "0", "12345"]),
          Buffer.from([0, Math.floor(rnd() * 256), 255]),
          pick(["S", "M", "XL", null]),
        ],
      );
    } else if (action < 0.7) {
      await db.query(`UPDATE ${name} SET name = ?, price = price + 1 WHERE ${keyOf(existing[0])}`, [
        text,
      ]);
    } else if (action < 0.85) {
      await db.query(`DELETE FROM ${name} WHERE ${keyOf(existing[0])}`);
    } else {
      // a primary-key change: Debezium sends a delete of the old key and a create of the new
      await db.query(`UPDATE IGNORE ${name} SET \`line no\` = ? WHERE ${keyOf(existing[0])}`, [
        id + 100,
      ]);
    }
  } else {
    const k2 = pick(["a", "b", "c d", "é"]);
    if (action < 0.4) {
      await db.query(`INSERT IGNORE INTO ${name} VALUES (?, ?, ?, ?)`, [
        id,
        k2,
        text,
        Math.floor(rnd() * 1000),
      ]);
    } else if (action < 0.7) {
      await db.query(`UPDATE ${name} SET note = ?, n = n + 1 WHERE ${keyOf(existing[0])}`, [text]);
    } else if (action < 0.85) {
      await db.query(`DELETE FROM ${name} WHERE ${keyOf(existing[0])}`);
    } else {
      await db.query(`UPDATE IGNORE ${name} SET \`a.b\` = ? WHERE ${keyOf(existing[0])}`, [
        `${k2}x`,
      ]);
    }
  }
}

/** Rows of `a` and `b` over `columns` that the other lacks (server-side, NULL-safe). */
async function difference(
  db: mysql.Connection,
  a: string,
  b: string,
  columns: readonly string[],
): Promise<number> {
  const on = columns.map((c) => `x.${q(c)} <=> y.${q(c)}`).join(" AND ");
  const [{ n }] = await query<{ n: string }>(
    db,
    `SELECT (SELECT COUNT(*) FROM ${a} x WHERE NOT EXISTS (SELECT 1 FROM ${b} y WHERE ${on}))
          + (SELECT COUNT(*) FROM ${b} x WHERE NOT EXISTS (SELECT 1 FROM ${a} y WHERE ${on})) AS n`,
  );
  return Number(n);
}

/** The scd2 "as of T" query (docs/guide.md): the rows valid at instant `at`. */
function asOf(table: string, at: string): string {
  return `(SELECT * FROM ${table} WHERE __valid_from <= '${at}'
            AND (__valid_to IS NULL OR __valid_to > '${at}') AND __deleted = 0)`;
}

/** Waits until the clock has passed the next whole second: binlog times have whole seconds. */
async function nextSecond(): Promise<string> {
  const boundary = Math.ceil((Date.now() + 1) / 1000) * 1000;
  await waitFor("the next second", () => Date.now() > boundary, 5_000, {
    backoff: steadyBackoff(20),
  });
  // every change before the boundary has a source time below it; every later change at or after
  return new Date(boundary - 1).toISOString().replace("T", " ").slice(0, 23);
}

Deno.test({
  name: "modes: mirror and scd2 follow a random workload exactly, through SIGKILLs",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using scratch = await Scratch.open("modes");
    const db = scratch.db;
    const seed = Number(Deno.env.get("CDC_TEST_SEED") ?? Date.now() % 100_000);
    const rnd = random(seed);
    const source = scratch.name();
    const recorded = scratch.name("states"); // the source's rows after each phase
    const sinks = { mirror: scratch.name("mirror"), scd2: scratch.name("scd2") };
    const args = (mode: "mirror" | "scd2") =>
      capturedStreamArgs(
        Object.keys(TABLES),
        source,
        sinks[mode],
        "--mode",
        mode,
        "--batch-size",
        "7",
      );
    const running: Record<"mirror" | "scd2", CdcProcess | undefined> = {
      mirror: undefined,
      scd2: undefined,
    };
    // killed at random and restarted: their exit codes say nothing
    const start = (mode: "mirror" | "scd2") => scratch.stream(args(mode), { exitCode: undefined });
    let kills = 0;
    await scratch.database();
    await scratch.database("states");
    for (const [table, spec] of Object.entries(TABLES)) {
      await db.query(`CREATE TABLE ${source}.${table} (${spec.ddl})`);
      await db.query(
        `CREATE TABLE ${recorded}.${table} (phase INT, ${
          spec.ddl.replace(/,?\s*PRIMARY KEY \([^)]*\)/, "").replace(" PRIMARY KEY", "")
        })`,
      );
    }
    for (let i = 0; i < 15; i++) {
      await randomChange(db, source, i % 2 ? "single" : "composite", rnd);
    }
    await scratch.capture(source);
    for (const mode of ["mirror", "scd2"] as const) running[mode] = start(mode);
    const phases: { phase: number; at: string }[] = [];
    for (let phase = 0; phase < 11; phase++) {
      // each process is killed at a random change of the phase, and started again
      const killAt = { mirror: Math.floor(rnd() * 12), scd2: Math.floor(rnd() * 12) };
      for (let i = 0; i < 12; i++) {
        await randomChange(db, source, rnd() < 0.5 ? "single" : "composite", rnd);
        for (const mode of ["mirror", "scd2"] as const) {
          if (killAt[mode] !== i) continue;
          await running[mode]!.stop("SIGKILL");
          kills++;
          running[mode] = start(mode);
        }
      }
      if (phase === 5) await db.query(`TRUNCATE TABLE ${source}.single`);
      const at = await nextSecond();
      phases.push({ phase, at });
      for (const [table, spec] of Object.entries(TABLES)) {
        await db.query(
          `INSERT INTO ${recorded}.${table} SELECT ?, ${
            spec.columns.map(q).join(", ")
          } FROM ${source}.${table}`,
          [phase],
        );
      }
    }
    assert.ok(kills >= 20, `${kills} kills`);

    // both modes catch up: the stored positions reach the topics' ends
    const ends = new Map<string, number>();
    for (const table of Object.keys(TABLES)) {
      const tail = await runCdc([
        "tail",
        "--topic",
        `${source}.${source}.${table}`,
        "--last",
        "1",
        ...STACK_FLAGS.slice(0, 4),
      ]);
      assert.equal(tail.code, 0, tail.stderr);
      ends.set(`${source}.${source}.${table}`, Number(JSON.parse(tail.stdout.trim()).offset) + 1);
    }
    for (const mode of ["mirror", "scd2"] as const) {
      await waitFor(`${mode} to catch up`, async () => {
        const cdc = running[mode]!;
        if (cdc.exited) {
          throw new FinalError(`cdc --mode ${mode} exited before catching up:\n${cdc.stderr}`);
        }
        const stored = await query<{ topic: string; next: string }>(
          db,
          `SELECT topic, next_offset AS next FROM ${sinks[mode]}.__cdc_offsets`,
        ).catch(() => []);
        return [...ends].every(([topic, end]) =>
          stored.some((s) => s.topic === topic && Number(s.next) >= end)
        );
      }, 180_000);
    }

    for (const [table, spec] of Object.entries(TABLES)) {
      const mirror = `${sinks.mirror}.${table}_mirror`;
      assert.equal(
        await difference(db, `${source}.${table}`, mirror, spec.columns),
        0,
        `mirror of ${table} equals the source (seed ${seed})`,
      );
      for (const { phase, at } of phases) {
        const then = `(SELECT * FROM ${recorded}.${table} WHERE phase = ${phase})`;
        assert.equal(
          await difference(db, then, asOf(`${sinks.scd2}.${table}_scd2`, at), spec.columns),
          0,
          `scd2 of ${table} as of ${at} (after phase ${phase}) equals the source then (seed ${seed})`,
        );
      }
      // every change event is one scd2 row, none twice (the key is the Kafka position)
      const [{ events }] = await query<{ events: string }>(
        db,
        `SELECT COUNT(*) AS events FROM ${sinks.scd2}.${table}_scd2`,
      );
      assert.ok(Number(events) > 0);
    }
  },
});

Deno.test({
  name: "modes: a table without a primary key cannot be mirrored; the source is never the target",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using scratch = await Scratch.open("nokey");
    const db = scratch.db;
    const source = scratch.name();
    const same = await runCdc([
      ...streamArgs("t", source, "--mode", "mirror", "--database", source),
      "--table-template",
      "{table}",
    ]);
    assert.equal(same.code, 2, same.stderr);
    assert.match(
      same.stderr,
      /the source table itself: choose another --table-template or --sink-database/,
    );

    await scratch.database();
    await db.query(`CREATE TABLE ${source}.t (a INT, b VARCHAR(5))`);
    await db.query(`INSERT INTO ${source}.t VALUES (1, 'x')`);
    await scratch.capture(source);
    const result = await runCdc(
      capturedStreamArgs("t", source, scratch.name("sink"), "--mode", "mirror"),
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /offset 0 \(missing-key\): .*t_mirror has no primary key.*message\.key\.columns/,
    );
  },
});

Deno.test({
  name: "modes: ADD COLUMN and widenings (the key's too) while mirror and scd2 stream",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using scratch = await Scratch.open("modevo");
    const db = scratch.db;
    const source = scratch.name();
    const sinks = { mirror: scratch.name("mirror"), scd2: scratch.name("scd2") };
    const columnType = async (database: string, table: string, column: string) =>
      (await query<{ t: string }>(
        db,
        `SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?`,
        [database, table, column],
      ))[0]?.t;
    await scratch.database();
    await db.query(`CREATE TABLE ${source}.t (id INT PRIMARY KEY, name VARCHAR(10))`);
    await db.query(`INSERT INTO ${source}.t VALUES (1, 'one'), (2, 'two')`);
    await scratch.capture(source);
    const processes = (["mirror", "scd2"] as const).map((mode) =>
      scratch.stream(capturedStreamArgs("t", source, sinks[mode], "--mode", mode))
    );
    await processes[0].waitForRows(db, sinks.mirror, "t_mirror", 2, 90_000);
    await db.query(
      `ALTER TABLE ${source}.t ADD COLUMN extra VARCHAR(5), MODIFY name VARCHAR(50), MODIFY id BIGINT`,
    );
    await db.query(`INSERT INTO ${source}.t VALUES (5000000000, '${"x".repeat(50)}', 'new')`);
    await db.query(`UPDATE ${source}.t SET extra = 'e1', name = 'uno' WHERE id = 1`);
    await db.query(`DELETE FROM ${source}.t WHERE id = 2`);
    const columns = ["id", "name", "extra"];
    await waitFor("mirror and scd2 to follow the evolved table", async () => {
      for (const p of processes) if (p.exited) throw new FinalError(`cdc exited:\n${p.stderr}`);
      const mirror = await difference(db, `${source}.t`, `${sinks.mirror}.t_mirror`, columns)
        .catch(() => -1);
      const current = `(SELECT * FROM ${sinks.scd2}.t_scd2 WHERE __current = 1)`;
      const scd2 = await difference(db, `${source}.t`, current, columns).catch(() => -1);
      return mirror === 0 && scd2 === 0;
    }, 90_000);
    for (const [database, table] of [[sinks.mirror, "t_mirror"], [sinks.scd2, "t_scd2"]]) {
      assert.match((await columnType(database, table, "id"))!, /^bigint/, table);
      assert.equal(await columnType(database, table, "name"), "varchar(50)", table);
      assert.equal(await columnType(database, table, "extra"), "varchar(5)", table);
    }
    // scd2 keeps the old versions: id 1 as 'one', then 'uno'; id 2 closed by its delete
    const history = await query<{ id: string; name: string; open: number }>(
      db,
      `SELECT id, name, __valid_to IS NULL AS open FROM ${sinks.scd2}.t_scd2
        WHERE __deleted = 0 ORDER BY id, __offset`,
    );
    assert.deepEqual(history.map((r) => [Number(r.id), r.name, Number(r.open)]), [
      [1, "one", 0],
      [1, "uno", 1],
      [2, "two", 0],
      [5000000000, "x".repeat(50), 1],
    ]);
  },
});
