/**
 * Schema evolution against real Debezium: while `cdc stream` runs, the source table gains a
 * column, loses one, widens three, narrows one (the wider _cdc column stays), changes one
 * incompatibly, and an ENUM gains members (SPEC section 3).
 */
import assert from "node:assert/strict";
import type mysql from "mysql2/promise";
import {
  CdcProcess,
  connectMysql,
  connectorStatus,
  databaseConnectorConfig,
  deleteConnector,
  query,
  registerConnector,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";
import { waitFor } from "../lib/util/retry.ts";

/** A source database with a table `items`, a connector of its own, and `cdc stream` of it. */
class CapturedItems {
  readonly source: string;
  readonly sink: string;
  readonly connector: string;
  readonly topicPrefix: string;
  cdc?: CdcProcess;

  constructor(readonly db: mysql.Connection, label: string) {
    const suffix = uniqueSuffix();
    this.source = `${label}_${suffix}`;
    this.sink = `${label}_${suffix}_sink`;
    this.connector = `${label}-${suffix}`;
    this.topicPrefix = `${label}_${suffix}`;
  }

  /** Creates the source with `statements` (`{db}` is the database), registers, streams. */
  async start(statements: string[], connectorExtra: Record<string, string> = {}): Promise<void> {
    await this.db.query(`CREATE DATABASE \`${this.source}\``);
    for (const sql of statements) await this.db.query(sql.replaceAll("{db}", `\`${this.source}\``)); // deno-fmt-ignore
    await registerConnector(
      this.connector,
      databaseConnectorConfig(this.source, this.topicPrefix, connectorExtra),
    );
    this.stream();
  }

  /** Starts (again) `cdc stream` of `items`. */
  stream(): CdcProcess {
    this.cdc = new CdcProcess(
      streamArgs(
        "items",
        this.sink,
        "--topic-prefix",
        this.topicPrefix,
        "--database",
        this.source,
        "--flush-ms",
        "100",
      ),
    );
    return this.cdc;
  }

  /** Waits for the row with `id` in `items_cdc` (failing at once if the connector fails). */
  async arrived(id: number): Promise<void> {
    await waitFor(`row ${id} in ${this.sink}.items_cdc`, async () => {
      await connectorStatus(this.connector);
      const sql = `SELECT 1 FROM \`${this.sink}\`.items_cdc WHERE id = ?`;
      return (await query(this.db, sql, [id]).catch(() => [])).length === 1;
    }, 60_000);
  }

  /** The source columns of `items_cdc` and their COLUMN_TYPE, in order. */
  async columns(): Promise<Record<string, string>> {
    const columns = await query<{ name: string; type: string }>(
      this.db,
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'items_cdc' AND COLUMN_NAME NOT LIKE '\\_\\_%'
        ORDER BY ORDINAL_POSITION`,
      [this.sink],
    );
    return Object.fromEntries(columns.map((c) => [c.name, c.type]));
  }

  /** The rows of `items_cdc` without the metadata columns, in Kafka order. */
  async rows(): Promise<Record<string, unknown>[]> {
    const rows = await query<Record<string, unknown>>(
      this.db,
      `SELECT * FROM \`${this.sink}\`.items_cdc ORDER BY __offset`,
    );
    return rows.map((row) =>
      Object.fromEntries(Object.entries(row).filter(([name]) => !name.startsWith("__")))
    );
  }

  /** Stops `cdc`, deletes the connector, drops both databases. */
  async cleanup(): Promise<void> {
    await this.cdc?.stop("SIGTERM");
    await deleteConnector(this.connector);
    await this.db.query(`DROP DATABASE IF EXISTS \`${this.sink}\``);
    await this.db.query(`DROP DATABASE IF EXISTS \`${this.source}\``);
  }
}

Deno.test({
  name:
    "evolution: ADD, DROP, widening MODIFY follow the source; narrowing keeps; VARCHAR→INT stops",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const db = await connectMysql();
    const items = new CapturedItems(db, "evo");
    try {
      await items.start([
        `CREATE TABLE {db}.items (id INT PRIMARY KEY, a INT, name VARCHAR(10), price DECIMAL(5,2),
           gone VARCHAR(20), code VARCHAR(10))`,
        `INSERT INTO {db}.items VALUES (1, -2147483648, 'ten chars!', -999.99, 'bye', NULL)`,
      ], { "column.propagate.source.type": ".*" });
      const source = `\`${items.source}\`.items`;
      await items.arrived(1);
      assert.deepEqual(await items.columns(), {
        id: "int(11)",
        a: "int(11)",
        name: "varchar(10)",
        price: "decimal(5,2)",
        gone: "varchar(20)",
        code: "varchar(10)",
      });

      // ADD COLUMN: appears in _cdc after its predecessor; earlier rows keep NULL.
      await db.query(`ALTER TABLE ${source} ADD COLUMN extra VARCHAR(30) AFTER name`);
      await db.query(`INSERT INTO ${source} (id, a, name, extra) VALUES (2, 2, 'two', 'added')`);
      await items.arrived(2);
      assert.deepEqual(Object.entries(await items.columns()), [
        ["id", "int(11)"],
        ["a", "int(11)"],
        ["name", "varchar(10)"],
        ["extra", "varchar(30)"],
        ["price", "decimal(5,2)"],
        ["gone", "varchar(20)"],
        ["code", "varchar(10)"],
      ]);

      // DROP COLUMN: the column stays, NULL from then on.
      await db.query(`ALTER TABLE ${source} DROP COLUMN gone`);
      await db.query(`INSERT INTO ${source} (id, a, name) VALUES (3, 3, 'three')`);
      await items.arrived(3);
      assert.equal((await items.columns()).gone, "varchar(20)");

      // Widening MODIFY: INT→BIGINT, VARCHAR(10)→VARCHAR(100), DECIMAL(5,2)→DECIMAL(10,2).
      await db.query(
        `ALTER TABLE ${source} MODIFY a BIGINT, MODIFY name VARCHAR(100), MODIFY price DECIMAL(10,2)`,
      );
      const long = "ü".repeat(100);
      await db.query(
        `INSERT INTO ${source} (id, a, name, price) VALUES (4, 9223372036854775807, ?, 12345678.91)`,
        [long],
      );
      await items.arrived(4);
      assert.deepEqual(await items.columns(), {
        id: "int(11)",
        a: "bigint(20)",
        name: "varchar(100)",
        extra: "varchar(30)",
        price: "decimal(10,2)",
        gone: "varchar(20)",
        code: "varchar(10)",
      });
      assert.deepEqual(await items.rows(), [
        {
          id: 1,
          a: "-2147483648",
          name: "ten chars!",
          extra: null,
          price: "-999.99",
          gone: "bye",
          code: null,
        },
        { id: 2, a: "2", name: "two", extra: "added", price: null, gone: null, code: null },
        { id: 3, a: "3", name: "three", extra: null, price: null, gone: null, code: null },
        {
          id: 4,
          a: "9223372036854775807",
          name: long,
          extra: null,
          price: "12345678.91",
          gone: null,
          code: null,
        },
      ]);

      // A narrowing in the source (BIGINT → INT): every INT fits the BIGINT column, which
      // stays; nothing is lost, so the stream goes on.
      await db.query(`UPDATE ${source} SET a = 4 WHERE id = 4`); // so that a fits an INT
      await db.query(`ALTER TABLE ${source} MODIFY a INT`);
      await db.query(`INSERT INTO ${source} (id, a) VALUES (5, -1)`);
      await items.arrived(5);
      assert.equal((await items.columns()).a, "bigint(20)");
      assert.deepEqual((await items.rows()).slice(4).map((row) => [row.id, row.a]), [
        [4, "4"],
        [5, "-1"],
      ]);

      // An incompatible change: VARCHAR(10) → INT. The stream stops and says what changed.
      await db.query(`ALTER TABLE ${source} MODIFY code INT`);
      await db.query(`INSERT INTO ${source} (id, code) VALUES (6, 7)`);
      const status = await items.cdc!.done;
      assert.equal(status.code, 1, `cdc stream exits 1:\n${items.cdc!.stderr}`);
      assert.match(
        items.cdc!.stderr,
        new RegExp(
          `table \`${items.sink}\`\\.\`items_cdc\`, column \`code\`: the source type changed from VARCHAR\\(10\\) to INT\\b`,
        ),
      );
      assert.equal(
        (await items.columns()).code,
        "varchar(10)",
        "the _cdc column is left as it was",
      );
      assert.equal((await items.rows()).length, 6, "nothing of the incompatible event is written");
    } finally {
      await items.cleanup();
      await db.end();
    }
  },
});

Deno.test({
  name: "evolution: ENUM members added while streaming, 4-byte characters included",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const db = await connectMysql();
    const items = new CapturedItems(db, "evoenum");
    const sizeType = async () => (await items.columns()).size;
    try {
      await items.start([
        `CREATE TABLE {db}.items (id INT PRIMARY KEY, size ENUM('S','M'))`,
        `INSERT INTO {db}.items VALUES (1, 'M')`,
      ]);
      const source = `\`${items.source}\`.items`;
      await items.arrived(1);
      assert.equal(await sizeType(), "enum('S','M')");
      await db.query(`ALTER TABLE ${source} MODIFY size ENUM('S','M','L')`);
      await db.query(`INSERT INTO ${source} VALUES (2, 'L')`);
      await items.arrived(2);
      assert.equal(await sizeType(), "enum('S','M','L')");

      // A member with a 4-byte character: MariaDB would show it as 'XL?' in the _cdc column's
      // definition, so the column becomes VARCHAR(255), holding every value as it was.
      await db.query(`ALTER TABLE ${source} MODIFY size ENUM('S','M','L','XL😀')`);
      await db.query(`INSERT INTO ${source} VALUES (3, 'XL😀'), (4, 'S')`);
      await items.arrived(4);
      assert.equal(await sizeType(), "varchar(255)");
      // A restart reads the _cdc column back and finds nothing to change.
      assert.equal((await items.cdc!.stop("SIGTERM")).code, 0);
      await db.query(`INSERT INTO ${source} VALUES (5, 'XL😀')`);
      const restarted = items.stream();
      await items.arrived(5);
      assert.doesNotMatch(restarted.stderr, /schema change/);
      assert.equal(await sizeType(), "varchar(255)");
      assert.deepEqual((await items.rows()).map((row) => [row.id, row.size]), [
        [1, "M"],
        [2, "L"],
        [3, "XL😀"],
        [4, "S"],
        [5, "XL😀"],
      ]);
    } finally {
      await items.cleanup();
      await db.end();
    }
  },
});
