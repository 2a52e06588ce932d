/**
 * The sink over TLS: the stack's MariaDB has a certificate from the stack's CA.
 * With `--mysql-ca-file` the stream writes over a verified TLS connection; with
 * `--mysql-tls` and only the system's CAs it refuses the server, saying why.
 */
import assert from "node:assert/strict";
import { STACK_CA_FILE } from "../tools/stack/config.ts";
import { connectMysql, query, runCdc, STACK_FLAGS, streamCustomersSnapshot } from "./helpers.ts";

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
    const db = await connectMysql();
    try {
      const before = await tlsAccepts(db);
      const cdc = await streamCustomersSnapshot({
        adapt: (args) => [...args, "--mysql-ca-file", STACK_CA_FILE],
      });
      assert.match(cdc.stderr, /into MySQL \S+ \(TLS\)\//);
      assert.ok(await tlsAccepts(db) > before, "the server accepted a TLS connection");
    } finally {
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
