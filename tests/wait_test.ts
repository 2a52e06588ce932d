/**
 * `cdc wait` against the real stack: all four services answer; one stopped is
 * named; a wait in progress succeeds once the stopped service comes back.
 */
import assert from "node:assert/strict";
import { startService, stopService } from "../tools/stack/services.ts";
import { CdcProcess, runCdc, STACK, STACK_FLAGS } from "./helpers.ts";

const WAIT = ["wait", ...STACK_FLAGS, "--connect-url", STACK.connectUrl];

Deno.test({
  name: "wait: exit 0 with a checklist when Kafka, registry, Connect and MySQL answer",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const result = await runCdc([...WAIT, "--timeout", "30s"]);
    assert.equal(result.code, 0, result.stderr);
    for (const service of ["kafka", "registry", "connect", "mysql"]) {
      assert.match(result.stdout, new RegExp(`^ok +${service} `, "m"));
    }
    assert.ok(!result.stdout.includes(STACK.mysql.password), "the password never shows");
  },
});

Deno.test({
  name: "wait: a stopped service is named and exits 1; a running wait sees it come back",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await stopService("connect");
    try {
      const result = await runCdc([...WAIT, "--timeout", "3s"]);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /^FAILED +connect +http:\/\/\S+: gave up .* after 3s/m);
      assert.match(result.stdout, /^ok +kafka /m);
      assert.match(result.stderr, /not ready within 3s: connect \(the reasons are above\)$/m);

      const waiting = new CdcProcess([...WAIT, "--services", "connect", "--timeout", "120s"]);
      await waiting.waitForLog(/waiting for connect at /, 30_000);
      await startService("connect");
      const status = await waiting.done;
      assert.equal(status.code, 0, waiting.stderr);
      assert.match(waiting.stdout, /^ok +connect /m);
    } finally {
      await startService("connect"); // a no-op when it runs
    }
  },
});

Deno.test({
  name: "wait: an unknown service name is a usage error",
  async fn() {
    const result = await runCdc(["wait", "--services", "kafka,zookeeper"]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /expected a comma-separated list of kafka, registry, connect, mysql/,
    );
  },
});

Deno.test({
  name: "wait, schemas, connector: credentials in service URLs are sent, never shown",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const secret = "s3cret-in-url";
    const withCredentials = (url: string) => url.replace("http://", `http://ops:${secret}@`);
    const results = [
      await runCdc([
        "wait",
        "--services",
        "registry,connect",
        "--timeout",
        "10s",
        "--registry-url",
        withCredentials(STACK.registryUrl),
        "--connect-url",
        withCredentials(STACK.connectUrl),
      ]),
      await runCdc(["schemas", "subjects", "--registry-url", withCredentials(STACK.registryUrl)]),
      await runCdc(["connector", "list", "--connect-url", withCredentials(STACK.connectUrl)]),
    ]; // deno-fmt-ignore
    for (const result of results) {
      assert.equal(result.code, 0, result.stderr);
      assert.ok(!`${result.stdout}${result.stderr}`.includes(secret), "the secret never shows");
    }
    assert.match(results[0].stdout, new RegExp(`^ok +connect +${STACK.connectUrl} `, "m"));
  },
});
