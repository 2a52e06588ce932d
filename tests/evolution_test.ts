/**
 * Schema evolution against real Debezium: while `cdc stream` runs, the source table gains a
 * column, loses one, widens three, narrows one (the wider _cdc column stays), then changes a
 * column incompatibly (SPEC section 3).
 */
import assert from "node:assert/strict";
import { inventoryConnectorConfig } from "./stack/connector.ts";
import {
  CdcProcess,
  connectMysql,
  connectorStatus,
  deleteConnector,
  query,
  registerConnector,
  streamArgs,
  uniqueSuffix,
  waitFor,
} from "./helpers.ts";

Deno.test({
  name:
    "evolution: ADD, DROP, widening MODIFY follow the source; narrowing keeps; VARCHAR→INT stops",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const suffix = uniqueSuffix();
    const source = `evo_${suffix}`;
    const sink = `evo_${suffix}_sink`;
    const connector = `evo-${suffix}`;
    const topicPrefix = `evo_${suffix}`;
    const db = await connectMysql();
    let cdc: CdcProcess | undefined;
    const columns = async () =>
      Object.fromEntries(
        (await query<{ name: string; type: string }>(
          db,
          `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'items_cdc' AND COLUMN_NAME NOT LIKE '\\_\\_%'
            ORDER BY ORDINAL_POSITION`,
          [sink],
        )).map((c) => [c.name, c.type]),
      );
    const rows = () =>
      query<Record<string, string | null>>(
        db,
        `SELECT * FROM \`${sink}\`.items_cdc ORDER BY __offset`,
      ).then((all) =>
        all.map((row) =>
          Object.fromEntries(Object.entries(row).filter(([name]) => !name.startsWith("__")))
        )
      );
    const arrived = (id: number) =>
      waitFor(`row ${id} in ${sink}.items_cdc`, async () => {
        await connectorStatus(connector);
        const found = await query(db, `SELECT 1 FROM \`${sink}\`.items_cdc WHERE id = ?`, [id])
          .catch(() => []);
        return found.length === 1;
      }, 60_000);
    try {
      await db.query(`CREATE DATABASE \`${source}\``);
      await db.query(
        `CREATE TABLE \`${source}\`.items (id INT PRIMARY KEY, a INT, name VARCHAR(10),
           price DECIMAL(5,2), gone VARCHAR(20), code VARCHAR(10))`,
      );
      await db.query(
        `INSERT INTO \`${source}\`.items VALUES (1, -2147483648, 'ten chars!', -999.99, 'bye', NULL)`,
      );
      await registerConnector(
        connector,
        inventoryConnectorConfig({
          serverId: 300_000 + Math.floor(Math.random() * 1_000_000),
          topicPrefix,
          databases: [source],
          historyTopic: `dbhistory.${topicPrefix}`,
          extra: { "column.propagate.source.type": ".*" },
        }),
      );
      cdc = new CdcProcess(
        streamArgs(
          "items",
          sink,
          "--topic-prefix",
          topicPrefix,
          "--database",
          source,
          "--flush-ms",
          "100",
        ), // deno-fmt-ignore
      );
      await arrived(1);
      assert.deepEqual(await columns(), {
        id: "int(11)",
        a: "int(11)",
        name: "varchar(10)",
        price: "decimal(5,2)",
        gone: "varchar(20)",
        code: "varchar(10)",
      });

      // ADD COLUMN: appears in _cdc after its predecessor; earlier rows keep NULL.
      await db.query(`ALTER TABLE \`${source}\`.items ADD COLUMN extra VARCHAR(30) AFTER name`);
      await db.query(
        `INSERT INTO \`${source}\`.items (id, a, name, extra) VALUES (2, 2, 'two', 'added')`,
      );
      await arrived(2);
      assert.deepEqual(Object.keys(await columns()), [
        "id",
        "a",
        "name",
        "extra",
        "price",
        "gone",
        "code",
      ]);
      assert.equal(await columns().then((c) => c.extra), "varchar(30)");

      // DROP COLUMN: the column stays, NULL from then on.
      await db.query(`ALTER TABLE \`${source}\`.items DROP COLUMN gone`);
      await db.query(`INSERT INTO \`${source}\`.items (id, a, name) VALUES (3, 3, 'three')`);
      await arrived(3);
      assert.equal((await columns()).gone, "varchar(20)");

      // Widening MODIFY: INT→BIGINT, VARCHAR(10)→VARCHAR(100), DECIMAL(5,2)→DECIMAL(10,2).
      await db.query(
        `ALTER TABLE \`${source}\`.items MODIFY a BIGINT, MODIFY name VARCHAR(100),
           MODIFY price DECIMAL(10,2)`,
      );
      const long = "ü".repeat(100);
      await db.query(
        `INSERT INTO \`${source}\`.items (id, a, name, price) VALUES (4, 9223372036854775807, ?, 12345678.91)`,
        [long],
      );
      await arrived(4);
      assert.deepEqual(await columns(), {
        id: "int(11)",
        a: "bigint(20)",
        name: "varchar(100)",
        extra: "varchar(30)",
        price: "decimal(10,2)",
        gone: "varchar(20)",
        code: "varchar(10)",
      });
      assert.deepEqual(await rows(), [
        {
          id: 1,
          a: "-2147483648",
          name: "ten chars!",
          extra: null,
          price: "-999.99",
          gone: "bye",
          code: null,
        }, // deno-fmt-ignore
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
        }, // deno-fmt-ignore
      ]);

      // A narrowing in the source (BIGINT → INT): every INT fits the BIGINT column, which
      // stays; nothing is lost, so the stream goes on.
      await db.query(`UPDATE \`${source}\`.items SET a = 4 WHERE id = 4`); // so that a fits an INT
      await db.query(`ALTER TABLE \`${source}\`.items MODIFY a INT`);
      await db.query(`INSERT INTO \`${source}\`.items (id, a) VALUES (5, -1)`);
      await arrived(5);
      assert.equal((await columns()).a, "bigint(20)");
      assert.deepEqual((await rows()).slice(4).map((row) => [row.id, row.a]), [[4, "4"], [
        5,
        "-1",
      ]]);

      // An incompatible change: VARCHAR(10) → INT. The stream stops and says what changed.
      await db.query(`ALTER TABLE \`${source}\`.items MODIFY code INT`);
      await db.query(`INSERT INTO \`${source}\`.items (id, code) VALUES (6, 7)`);
      const status = await cdc.done;
      assert.equal(status.code, 1, `cdc stream exits 1:\n${cdc.stderr}`);
      assert.match(
        cdc.stderr,
        new RegExp(
          `table \`${sink}\`\\.\`items_cdc\`, column \`code\`: the source type changed from VARCHAR\\(10\\) to INT\\b`,
        ),
      );
      assert.equal((await columns()).code, "varchar(10)", "the _cdc column is left as it was");
      assert.equal((await rows()).length, 6, "nothing of the incompatible event is written");
    } finally {
      await cdc?.stop("SIGTERM");
      await deleteConnector(connector);
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.query(`DROP DATABASE IF EXISTS \`${source}\``);
      await db.end();
    }
  },
});

Deno.test({
  name: "evolution: ENUM members added while streaming, 4-byte characters included",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const suffix = uniqueSuffix();
    const source = `evoenum_${suffix}`;
    const sink = `evoenum_${suffix}_sink`;
    const connector = `evoenum-${suffix}`;
    const topicPrefix = `evoenum_${suffix}`;
    const db = await connectMysql();
    let cdc: CdcProcess | undefined;
    const sizeType = async () =>
      (await query<{ type: string }>(
        db,
        `SELECT COLUMN_TYPE AS type FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'items_cdc' AND COLUMN_NAME = 'size'`,
        [sink],
      ))[0]?.type;
    const arrived = (id: number) =>
      waitFor(`row ${id} in ${sink}.items_cdc`, async () => {
        await connectorStatus(connector);
        const found = await query(db, `SELECT 1 FROM \`${sink}\`.items_cdc WHERE id = ?`, [id])
          .catch(() => []);
        return found.length === 1;
      }, 60_000);
    try {
      await db.query(`CREATE DATABASE \`${source}\``);
      await db.query(`CREATE TABLE \`${source}\`.items (id INT PRIMARY KEY, size ENUM('S','M'))`);
      await db.query(`INSERT INTO \`${source}\`.items VALUES (1, 'M')`);
      await registerConnector(
        connector,
        inventoryConnectorConfig({
          serverId: 300_000 + Math.floor(Math.random() * 1_000_000),
          topicPrefix,
          databases: [source],
          historyTopic: `dbhistory.${topicPrefix}`,
        }),
      );
      cdc = new CdcProcess(
        streamArgs(
          "items",
          sink,
          "--topic-prefix",
          topicPrefix,
          "--database",
          source,
          "--flush-ms",
          "100",
        ), // deno-fmt-ignore
      );
      await arrived(1);
      assert.equal(await sizeType(), "enum('S','M')");
      await db.query(`ALTER TABLE \`${source}\`.items MODIFY size ENUM('S','M','L')`);
      await db.query(`INSERT INTO \`${source}\`.items VALUES (2, 'L')`);
      await arrived(2);
      assert.equal(await sizeType(), "enum('S','M','L')");
      // A member with a 4-byte character: MariaDB would show it as 'XL?' in the _cdc column's
      // definition, so the column becomes VARCHAR(255), holding every value as it was.
      await db.query(`ALTER TABLE \`${source}\`.items MODIFY size ENUM('S','M','L','XL😀')`);
      await db.query(`INSERT INTO \`${source}\`.items VALUES (3, 'XL😀'), (4, 'S')`);
      await arrived(4);
      assert.equal(await sizeType(), "varchar(255)");
      // A restart reads the _cdc column back and finds nothing to change.
      assert.equal((await cdc.stop("SIGTERM")).code, 0);
      await db.query(`INSERT INTO \`${source}\`.items VALUES (5, 'XL😀')`);
      cdc = new CdcProcess(
        streamArgs(
          "items",
          sink,
          "--topic-prefix",
          topicPrefix,
          "--database",
          source,
          "--flush-ms",
          "100",
        ), // deno-fmt-ignore
      );
      await arrived(5);
      assert.doesNotMatch(cdc.stderr, /schema change/);
      assert.equal(await sizeType(), "varchar(255)");
      const rows = await query<{ id: number; size: string }>(
        db,
        `SELECT id, size FROM \`${sink}\`.items_cdc ORDER BY __offset`,
      );
      assert.deepEqual(rows.map((r) => [r.id, r.size]), [
        [1, "M"],
        [2, "L"],
        [3, "XL😀"],
        [4, "S"],
        [5, "XL😀"],
      ]);
    } finally {
      await cdc?.stop("SIGTERM");
      await deleteConnector(connector);
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.query(`DROP DATABASE IF EXISTS \`${source}\``);
      await db.end();
    }
  },
});
