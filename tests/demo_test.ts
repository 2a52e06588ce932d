/**
 * `deno task demo` as a new user runs it (no Docker engine here: the local
 * stack path), end to end, its output asserted.
 */
import assert from "node:assert/strict";

Deno.test({
  name: "demo: registers, streams, changes the source and prints c/u/d rows of both _cdc tables",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["task", "demo"],
      cwd: new URL("..", import.meta.url).pathname,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const out = new TextDecoder().decode(stdout);
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 0, `${out}\n${err}`);
    assert.match(out, /no Docker engine answers: using the local stack/);
    assert.match(out, /inventory-connector: RUNNING/);
    for (const [table, key] of [["customers", "email"], ["addresses", "zip"]]) {
      const section = new RegExp(`\\n${table}_cdc \\(id (\\d+)\\):\\n(.*)\\n[-+]+\\n((?:.+\\n){3})`)
        .exec(out);
      assert.ok(section, `no ${table}_cdc table in:\n${out}`);
      const [, id, header, body] = section;
      const columns = header.split("|").map((c) => c.trim());
      assert.ok(
        columns.includes(key) && columns.includes("__op") && columns.includes("__source_pos"),
      );
      const rows = body.trim().split("\n").map((line) =>
        Object.fromEntries(line.split("|").map((v, i) => [columns[i], v.trim()]))
      );
      assert.deepEqual(rows.map((r) => r.__op), ["c", "u", "d"], table);
      assert.ok(rows.every((r) => r.id === id));
      assert.notEqual(rows[0][key], rows[1][key], `${table}: the update shows in the row image`);
      assert.equal(rows[2][key], rows[1][key], `${table}: the delete keeps the last image`);
    }
    assert.match(out, /one source transaction: a customer and their address/);
    assert.match(out, /showed either row showed customers 1, addresses 1: together/);
    assert.match(out, /Look further:\n.*tail --table customers/);
    assert.match(out, /deno task stack down/);
  },
});
