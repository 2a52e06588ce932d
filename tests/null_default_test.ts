/**
 * NULL versus a column's DEFAULT, through the stack's real converter (Apicurio 3.0.x, as
 * `cdc connector register` configures it), as snapshot reads and as binlog inserts.
 *
 * Debezium writes each column's DEFAULT into the field's Connect schema; Kafka Connect's
 * `Struct.get(Field)` returns that default for a null value. Confluent's converter reads the
 * struct with `getWithoutDefault` under `ignore.default.for.nullables=true` (cdc's registration
 * default for `--converter confluent`). Apicurio's AvroConverter has no such setting up to
 * 3.3.x (its AvroData never reads the option), so on this stack an explicit NULL in a nullable
 * column with a DEFAULT arrives as the DEFAULT: the bytes on the topic hold it, and no
 * consumer can tell it from a written default. This test pins that down (it fails the day a
 * converter keeps the NULL: then flip its expectation and docs/design.md), and proves everything
 * around it: defaults, values, and NULL in a column without a DEFAULT land exactly.
 */
import assert from "node:assert/strict";
import {
  CdcProcess,
  connectMysql,
  databaseConnectorConfig,
  deleteConnector,
  query,
  registerConnector,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";

/** Nullable columns with a DEFAULT, one per type family, and one without a DEFAULT. */
const COLUMNS = [
  ["c", "VARCHAR(5) NULL DEFAULT 'dflt'", "'val'"],
  ["n", "INT NULL DEFAULT 7", "42"],
  ["dt", "DATETIME NULL DEFAULT '2001-02-03 04:05:06'", "'2020-01-01 00:00:01'"],
  ["d", "DECIMAL(6,2) NULL DEFAULT 1.50", "12.34"],
  ["e", "ENUM('a','b','c') NULL DEFAULT 'b'", "'c'"],
  ["b", "TINYINT(1) NULL DEFAULT 1", "0"],
  ["plain", "VARCHAR(5) NULL", "'p'"],
] as const;
const WITH_DEFAULT = COLUMNS.filter(([, ddl]) => ddl.includes("DEFAULT")).map(([name]) => name);

/** Per row kind: what is inserted (after the id). */
const ROWS = {
  nulls: COLUMNS.map(() => "NULL"),
  defaults: COLUMNS.map(() => "DEFAULT"),
  values: COLUMNS.map(([, , value]) => value),
};
/** Row ids: snapshot rows 1-3, binlog rows 11-13, in the order of {@link ROWS}. */
const SNAPSHOT_IDS = [1, 2, 3];
const BINLOG_IDS = [11, 12, 13];

function insertSql(database: string, ids: number[]): string {
  const rows = Object.values(ROWS).map((values, i) => `(${[ids[i], ...values].join(", ")})`);
  return `INSERT INTO \`${database}\`.t VALUES ${rows.join(", ")}`;
}

Deno.test({
  name: "NULL vs DEFAULT: defaults and values exact; Apicurio's converter sends NULL as DEFAULT",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const suffix = uniqueSuffix();
    const database = `cdc_nulldef_${suffix}`;
    const sink = `${database}_sink`;
    const connector = `cdc-nulldef-${suffix}`;
    const db = await connectMysql();
    let cdc: CdcProcess | undefined;
    try {
      await db.query(`CREATE DATABASE \`${database}\``);
      await db.query(
        `CREATE TABLE \`${database}\`.t (id INT PRIMARY KEY, ${
          COLUMNS.map(([name, ddl]) => `${name} ${ddl}`).join(", ")
        })`,
      );
      await db.query(insertSql(database, SNAPSHOT_IDS));
      await registerConnector(connector, databaseConnectorConfig(database, connector));
      cdc = new CdcProcess(
        streamArgs("t", sink, "--database", database, "--topic-prefix", connector),
      );
      await cdc.waitForRows(db, sink, "t_cdc", SNAPSHOT_IDS.length);
      await db.query(insertSql(database, BINLOG_IDS));
      await cdc.waitForRows(db, sink, "t_cdc", SNAPSHOT_IDS.length + BINLOG_IDS.length);

      const names = COLUMNS.map(([name]) => name);
      const select = (table: string, ids: number[]) =>
        query<Record<string, unknown>>(
          db,
          `SELECT id, ${names.join(", ")} FROM ${table} WHERE id IN (?) ORDER BY id`,
          [ids],
        );
      for (const [ids, op] of [[SNAPSHOT_IDS, "r"], [BINLOG_IDS, "c"]] as const) {
        const source = await select(`\`${database}\`.t`, [...ids]);
        const sunk = await select(`\`${sink}\`.t_cdc`, [...ids]);
        const [nulls, defaults, values] = [0, 1, 2].map((i) => ({
          source: source[i],
          sunk: Object.fromEntries(Object.entries(sunk[i]).map(([k, v]) => [k, normal(v)])),
        }));
        const expect = (row: Record<string, unknown>) =>
          Object.fromEntries(Object.entries(row).map(([k, v]) => [k, normal(v)]));
        assert.deepEqual(defaults.sunk, expect(defaults.source), `op ${op}: DEFAULTs`);
        assert.deepEqual(values.sunk, expect(values.source), `op ${op}: values`);
        assert.equal(nulls.sunk.plain, null, `op ${op}: NULL without a DEFAULT stays NULL`);
        for (const name of WITH_DEFAULT) {
          assert.equal(nulls.source[name], null);
          assert.equal(
            nulls.sunk[name],
            expect(defaults.source)[name],
            `op ${op}: ${name}: Apicurio's converter sends an explicit NULL as the DEFAULT`,
          );
        }
      }
    } finally {
      if (cdc) assert.equal((await cdc.stop()).code, 0, cdc.stderr);
      await deleteConnector(connector);
      await db.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
    }
  },
});

/** Values compared as text, without a zero fraction (DATETIME vs DATETIME(3), 1.50 vs 1.5). */
function normal(value: unknown): string | null {
  if (value === null) return null;
  const text = String(value);
  return /^-?\d+\.\d+$/.test(text) ? String(Number(text)) : text.replace(/\.0+$/, "");
}
