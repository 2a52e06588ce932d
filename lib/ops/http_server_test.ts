import assert from "node:assert/strict";
import { type Endpoints, handle, serveHttp } from "./http_server.ts";

const endpoints = (ready: boolean): Endpoints => ({
  metrics: () => Promise.resolve("cdc_x_total 1\n"),
  metricsContentType: "text/plain; version=0.0.4; charset=utf-8",
  liveness: () => ({ ok: true, reasons: [] }),
  readiness: () =>
    Promise.resolve(ready ? { ok: true, reasons: [] } : { ok: false, reasons: ["sink: down"] }),
});

const get = (e: Endpoints, path: string, method = "GET") =>
  handle(e, new Request(`http://cdc${path}`, { method }));

Deno.test("handle: /metrics, /healthz, /readyz (200 or 503 with reasons), 404, 405", async () => {
  const metrics = await get(endpoints(true), "/metrics");
  assert.equal(metrics.status, 200);
  assert.equal(metrics.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.equal(await metrics.text(), "cdc_x_total 1\n");
  const healthz = await get(endpoints(true), "/healthz");
  assert.deepEqual([healthz.status, await healthz.json()], [200, { status: "ok" }]);
  const ready = await get(endpoints(true), "/readyz");
  assert.deepEqual([ready.status, await ready.json()], [200, { status: "ok" }]);
  const notReady = await get(endpoints(false), "/readyz");
  assert.deepEqual([notReady.status, await notReady.json()], [503, {
    status: "unavailable",
    reasons: ["sink: down"],
  }]);
  const missing = await get(endpoints(true), "/");
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /try \/metrics, \/healthz or \/readyz/);
  const post = await get(endpoints(true), "/metrics", "POST");
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

Deno.test("serveHttp: listens on a free port, answers, and closes", async () => {
  const server = serveHttp({ hostname: "127.0.0.1", port: 0 }, endpoints(true));
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${server.url}/healthz`);
    assert.equal(response.status, 200);
    await response.body?.cancel();
  } finally {
    await server.close();
  }
});
