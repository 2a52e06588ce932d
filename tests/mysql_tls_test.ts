/**
 * The sink over TLS: the stack's MariaDB has a certificate from the stack's CA.
 * With `--mysql-ca-file` the stream writes over a verified TLS connection; with
 * `--mysql-tls` and only the system's CAs it refuses the server, saying why.
 */
import assert from "node:assert/strict";
import { STACK_CA_FILE } from "./stack/config.ts";
import {
  CdcProcess,
  connectMysql,
  countRows,
  ensureInventoryConnector,
  query,
  runCdc,
  STACK_FLAGS,
  streamArgs,
  uniqueSuffix,
  waitFor,
} from "./helpers.ts";

/** TLS handshakes the server has accepted so far. */
async function tlsAccepts(db: Awaited<ReturnType<typeof connectMysql>>): Promise<number> {
  const [row] = await query<{ Value: string }>(db, "SHOW GLOBAL STATUS LIKE 'Ssl_accepts'");
  return Number(row.Value);
}

Deno.test({
  name: "mysql tls: the stream writes over TLS verified with --mysql-ca-file",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const sink = `cdc_tls_${uniqueSuffix()}`;
    const db = await connectMysql();
    const before = await tlsAccepts(db);
    const cdc = new CdcProcess(streamArgs("customers", sink, "--mysql-ca-file", STACK_CA_FILE));
    try {
      await cdc.waitForLog(/into MySQL \S+ \(TLS\)\//);
      await waitFor(
        "snapshot rows in customers_cdc",
        async () => await countRows(db, sink, "customers_cdc") >= 4,
      );
      assert.ok(await tlsAccepts(db) > before, "the server accepted a TLS connection");
    } finally {
      assert.equal((await cdc.stop()).code, 0, cdc.stderr);
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.end();
    }
  },
});

Deno.test({
  name: "mysql tls: a server certificate no trusted CA signed is refused, with the reason",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const result = await runCdc(
      ["stream", "--table", "customers", ...STACK_FLAGS, "--mysql-tls", "--wait-timeout", "3s"],
    );
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /gave up on MySQL cdc@127\.0\.0\.1:\d+ \(TLS\)\/\S+ after 3s: .*self-signed certificate/,
    );
  },
});
