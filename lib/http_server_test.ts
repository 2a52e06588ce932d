import assert from "node:assert/strict";
import { type Endpoints, handle, parseListen, serveHttp } from "./http_server.ts";

Deno.test("parseListen: host:port, IPv6 in brackets, port 0; anything else explained", () => {
  assert.deepEqual(parseListen("127.0.0.1:9464"), { hostname: "127.0.0.1", port: 9464 });
  assert.deepEqual(parseListen("0.0.0.0:0"), { hostname: "0.0.0.0", port: 0 });
  assert.deepEqual(parseListen("[::]:9464"), { hostname: "::", port: 9464 });
  assert.deepEqual(parseListen("cdc.local:80"), { hostname: "cdc.local", port: 80 });
  for (const bad of ["9464", ":9464", "host:", "host:65536", "::1:9464", "a:b"]) {
    assert.throws(() => parseListen(bad), /expected host:port like 127\.0\.0\.1:9464/, bad);
  }
});

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
