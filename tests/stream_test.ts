/**
 * `cdc stream` against real Debezium, Kafka, registry and MariaDB: what lands
 * in `_cdc` for snapshot reads, inserts, updates and deletes, two tables in
 * one process.
 */
import assert from "node:assert/strict";
import {
  CdcProcess,
  connectMysql,
  ensureInventoryConnector,
  query,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";
import { waitFor } from "../lib/util/retry.ts";

Deno.test({
  name: "stream: snapshot, insert, update and delete of customers and addresses land in _cdc",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const sink = `cdc_stream_${uniqueSuffix()}`;
    const db = await connectMysql();
    const cdc = new CdcProcess(streamArgs(["customers", "addresses"], sink, "--flush-ms", "200")); // deno-fmt-ignore
    try {
      // Snapshot rows of the seeded customers arrive as reads.
      const snapshotReads = async () => {
        const rows = await query<{ n: string }>(db, `SELECT COUNT(*) AS n FROM \`${sink}\`.customers_cdc WHERE __op = 'r'`)
          .catch(() => [{ n: "0" }]); // the table appears with the first event
        return Number(rows[0].n);
      };
      await waitFor("snapshot rows in customers_cdc", async () => await snapshotReads() >= 4, 90_000);
      const email = `grace.${uniqueSuffix()}@example.com`;
      const [inserted] = await db.query(
        "INSERT INTO inventory.customers (first_name, last_name, email) VALUES ('Grace', 'Hopper', ?)",
        [email],
      ) as unknown as [{ insertId: number }];
      const id = inserted.insertId;
      await db.query("UPDATE inventory.customers SET last_name = 'Murray Hopper' WHERE id = ?", [id]);
      const [address] = await db.query(
        `INSERT INTO inventory.addresses (customer_id, street, city, state, zip, type)
           VALUES (?, '1 Navy Way', 'Arlington', 'Virginia', '22202', 'SHIPPING')`,
        [id],
      ) as unknown as [{ insertId: number }];
      await db.query("UPDATE inventory.addresses SET zip = '22203' WHERE id = ?", [address.insertId]);
      await db.query("DELETE FROM inventory.addresses WHERE id = ?", [address.insertId]);
      await db.query("DELETE FROM inventory.customers WHERE id = ?", [id]);

      await waitFor("the delete of the new customer in customers_cdc", async () =>
        (await query(db, `SELECT 1 FROM \`${sink}\`.customers_cdc WHERE id = ? AND __op = 'd'`, [id])).length === 1, 60_000); // deno-fmt-ignore
      await waitFor("the delete of the new address in addresses_cdc", async () =>
        (await query(db, `SELECT 1 FROM \`${sink}\`.addresses_cdc WHERE id = ? AND __op = 'd'`, [address.insertId])).length === 1, 60_000); // deno-fmt-ignore

      const customers = await query<Record<string, string>>(
        db,
        `SELECT id, first_name, last_name, email, __op, __ts, __source_ts, __source_pos
           FROM \`${sink}\`.customers_cdc WHERE id = ? ORDER BY __offset`,
        [id],
      );
      assert.deepEqual(customers.map((r) => [r.__op, r.first_name, r.last_name, r.email]), [
        ["c", "Grace", "Hopper", email],
        ["u", "Grace", "Murray Hopper", email],
        ["d", "Grace", "Murray Hopper", email], // the deleted row's image: the seed lost it
      ]);
      for (const row of customers) {
        assert.match(row.__source_pos, /^[\w.-]+:\d+:\d+( gtid=\S+)?$/);
        const committed = Date.parse(row.__source_ts + "Z");
        assert.ok(Math.abs(Date.now() - committed) < 10 * 60_000, `__source_ts ${row.__source_ts} is now`);
        assert.ok(Date.parse(row.__ts + "Z") >= committed, "Debezium processed the change after its commit");
      }
      const addresses = await query<Record<string, string>>(
        db,
        `SELECT customer_id, zip, type, __op FROM \`${sink}\`.addresses_cdc WHERE id = ? ORDER BY __offset`,
        [address.insertId],
      );
      assert.deepEqual(addresses.map((r) => [r.__op, String(r.customer_id), r.zip, r.type]), [
        ["c", String(id), "22202", "SHIPPING"],
        ["u", String(id), "22203", "SHIPPING"],
        ["d", String(id), "22203", "SHIPPING"],
      ]);
      // Every snapshot row of the source is there as a read.
      const [{ n: sourceCount }] = await query<{ n: string }>(db, "SELECT COUNT(*) AS n FROM inventory.addresses");
      const reads = await query<{ n: string }>(db, `SELECT COUNT(DISTINCT id) AS n FROM \`${sink}\`.addresses_cdc WHERE __op = 'r'`);
      assert.ok(Number(reads[0].n) >= Number(sourceCount), "all snapshot addresses read");
      const offsets = await query<{ topic: string; next_offset: string }>(
        db,
        `SELECT topic, next_offset FROM \`${sink}\`.__cdc_offsets WHERE group_id = ? ORDER BY topic`,
        [sink],
      );
      assert.deepEqual(offsets.map((o) => o.topic), ["dbserver1.inventory.addresses", "dbserver1.inventory.customers"]);
      // progress: the end of each table's initial snapshot is said
      for (const table of ["customers", "addresses"]) {
        assert.match(cdc.stderr, new RegExp(`snapshot of dbserver1\\.inventory\\.${table} is through: \\d+ snapshot rows read`));
      }
    } finally {
      const status = await cdc.stop("SIGTERM");
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
      assert.equal(status.code, 0, `cdc stream exits 0 on SIGTERM:\n${cdc.stderr}`);
      assert.match(cdc.stderr, /SIGTERM: finishing the batch in flight/);
    }
  },
});
