/**
 * `cdc stream --http-listen` against the real stack: the counters of
 * `/metrics` equal the rows in `_cdc`, lag agrees with the topic's end
 * offsets, a real Prometheus server (Debian's `prometheus`) scrapes it and
 * answers a query with the rows written, and `/readyz` is 503 while the sink
 * MariaDB is stopped and 200 once it is back, as `cdc wait --services http`
 * (the compose healthcheck) sees it.
 */
import assert from "node:assert/strict";
import { kafkaClient } from "../lib/kafka/client.ts";
import { type ServiceName, startService, stopService } from "../tools/stack/services.ts";
import { TOPIC_PREFIX } from "../tools/stack/config.ts";
import {
  CdcProcess,
  connectMysql,
  countRows,
  ensureInventoryConnector,
  query,
  runCdc,
  STACK,
  streamArgs,
  uniqueSuffix,
} from "./helpers.ts";
import { waitFor } from "../lib/util/retry.ts";

/** Starts `cdc stream` with the endpoint on a free port; resolves with its base URL. */
async function streamWithEndpoint(
  tables: string,
  sink: string,
  ...extra: string[]
): Promise<{ cdc: CdcProcess; url: string }> {
  const cdc = new CdcProcess(streamArgs(tables, sink, "--http-listen", "127.0.0.1:0", ...extra));
  const listening = /metrics and probes on (http:\/\/\S+) /;
  await cdc.waitForLog(listening, 30_000);
  return { cdc, url: listening.exec(cdc.stderr)![1] };
}

/** One sample's value from Prometheus text format (`name{labels}`), or undefined. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = match[2]?.split(",") ?? [];
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) {
      return Number(match[3]);
    }
  }
  return undefined;
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return await response.text();
}

async function probe(url: string, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}${path}`);
  return { status: response.status, body: await response.text() };
}

/** A free TCP port on 127.0.0.1 (for the Prometheus server). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Runs Prometheus scraping `target` every second; stop it with the returned function. */
async function startPrometheus(target: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "cdc-prometheus-" });
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    [
      "global: { scrape_interval: 1s, evaluation_interval: 1s }",
      "scrape_configs:",
      "  - job_name: cdc",
      `    static_configs: [{ targets: ["${new URL(target).host}"] }]`,
    ].join("\n"),
  );
  const port = freePort();
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The value of a PromQL instant query with one series, or undefined while it has none. */
async function promQuery(url: string, promql: string): Promise<number | undefined> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = await response.json() as {
    status: string;
    data?: { result: { value: [number, string] }[] };
  };
  if (body.status !== "success" || body.data?.result.length !== 1) return undefined;
  return Number(body.data.result[0].value[1]);
}

Deno.test({
  name: "metrics: counters equal the _cdc rows, lag agrees with end offsets, Prometheus scrapes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureInventoryConnector();
    const suffix = uniqueSuffix();
    const table = `metrics_${suffix}`;
    const cdcTable = `${table}_cdc`;
    const topic = `${TOPIC_PREFIX}.inventory.${table}`;
    const sink = `cdc_metrics_${suffix}`;
    const db = await connectMysql();
    await db.query(`CREATE TABLE inventory.${table} (id INT PRIMARY KEY, v VARCHAR(20))`);
    const rows = Array.from({ length: 300 }, (_, i) => [i + 1, `v${i + 1}`]);
    await db.query(`INSERT INTO inventory.${table} VALUES ?`, [rows]);
    await db.query(`UPDATE inventory.${table} SET v = 'u' WHERE id <= 50`);
    await db.query(`DELETE FROM inventory.${table} WHERE id > 280`);
    const expected = { c: 300, u: 50, d: 20 };
    const total = expected.c + expected.u + expected.d;
    const { cdc, url } = await streamWithEndpoint(table, sink, "--flush-ms", "100");
    const prometheus = await startPrometheus(url);
    const admin = kafkaClient({ brokers: [STACK.bootstrapServers] }).admin();
    try {
      await cdc.waitForRows(db, sink, cdcTable, total, 120_000).catch((e) => {
        console.error(cdc.stderr);
        throw e;
      });
      // Debezium's tombstones follow the deletes; the counters settle once they are read
      let text = "";
      await waitFor("the tombstones counted", async () => {
        text = await scrape(url);
        return sample(text, "cdc_events_consumed_total", { topic, op: "tombstone" }) ===
          expected.d;
      }, 60_000);

      const written = await countRows(db, sink, cdcTable);
      assert.equal(written, total);
      assert.equal(sample(text, "cdc_rows_written_total", { table: cdcTable }), written);
      const byOp = await query<{ op: string; n: string }>(
        db,
        `SELECT __op AS op, COUNT(*) AS n FROM \`${sink}\`.\`${cdcTable}\` GROUP BY __op`,
      );
      for (const { op, n } of byOp) {
        assert.equal(sample(text, "cdc_events_consumed_total", { topic, op }), Number(n), op);
      }
      assert.deepEqual(
        Object.fromEntries(byOp.map(({ op, n }) => [op, Number(n)])),
        expected,
      );
      const batches = sample(text, "cdc_batches_written_total")!;
      assert.ok(batches >= 1);
      assert.equal(sample(text, "cdc_batch_write_duration_seconds_count"), batches);
      assert.equal(
        sample(text, "cdc_end_to_end_latency_seconds_count", { table: cdcTable }),
        written,
      );
      assert.ok(sample(text, "cdc_seconds_behind_source", { table: cdcTable })! >= 0);
      assert.ok(sample(text, "process_resident_memory_bytes")! > 0);

      // lag: end offset minus the position stored with the rows, per partition
      const ends = await admin.fetchTopicOffsets(topic);
      const stored = await query<{ p: number; next: string }>(
        db,
        `SELECT \`partition\` AS p, next_offset AS next FROM \`${sink}\`.__cdc_offsets ` +
          `WHERE topic = ?`,
        [topic],
      );
      for (const end of ends) {
        const next = Number(stored.find((s) => s.p === end.partition)?.next ?? 0);
        assert.equal(next, Number(end.high), `partition ${end.partition} fully written`);
        assert.equal(
          sample(text, "cdc_lag_records", { topic, partition: String(end.partition) }),
          Number(end.high) - next,
        );
      }

      assert.deepEqual(await probe(url, "/healthz"), { status: 200, body: '{"status":"ok"}' });
      assert.deepEqual(await probe(url, "/readyz"), { status: 200, body: '{"status":"ok"}' });

      // a real Prometheus server scrapes the endpoint; its query API returns the rows written
      await waitFor("Prometheus to have scraped the rows written", async () =>
        await promQuery(
          prometheus.url,
          `cdc_rows_written_total{job="cdc",table="${cdcTable}"}`,
        ) === written, 60_000);
    } finally {
      await prometheus.stop();
      await admin.disconnect();
      const status = await cdc.stop("SIGTERM");
      await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
      await db.query(`DROP TABLE IF EXISTS inventory.${table}`);
      await db.end();
      assert.equal(status.code, 0, cdc.stderr);
    }
  },
});

/**
 * `cdc stream` with the endpoint, ready; then `service` stopped until /readyz answers 503
 * (`check` looks at that answer), started again, and ready again within `readyAgainMs`.
 */
async function readinessAcrossOutage(
  service: ServiceName,
  check: (url: string, notReady: { status: number; body: string }) => Promise<void>,
  readyAgainMs: number,
): Promise<void> {
  await ensureInventoryConnector();
  const sink = `cdc_ready_${service}_${uniqueSuffix()}`;
  const { cdc, url } = await streamWithEndpoint("customers", sink);
  try {
    await waitFor("ready", async () => (await probe(url, "/readyz")).status === 200, 60_000);
    await check(url, { status: 200, body: "" });
    await stopService(service);
    let notReady = { status: 0, body: "" };
    await waitFor("not ready", async () => {
      notReady = await probe(url, "/readyz");
      return notReady.status === 503;
    }, 30_000);
    await check(url, notReady);
    // alive all the same: a restart would not bring the service back
    assert.equal((await probe(url, "/healthz")).status, 200);
    await startService(service);
    await waitFor(
      "ready again",
      async () => (await probe(url, "/readyz")).status === 200,
      readyAgainMs,
    );
  } finally {
    await startService(service); // a no-op when it runs
    const status = await cdc.stop("SIGTERM");
    const db = await connectMysql();
    await db.query(`DROP DATABASE IF EXISTS \`${sink}\``);
    await db.end();
    assert.equal(status.code, 0, cdc.stderr);
  }
}

Deno.test({
  name: "readyz: 503 with the reason while the sink MariaDB is stopped, 200 once it is back",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    readinessAcrossOutage("mariadb", async (url, { status, body }) => {
      const healthcheck = ["wait", "--services", "http", "--http-url", `${url}/readyz`];
      if (status === 200) {
        const healthy = await runCdc([...healthcheck, "--timeout", "5s"]);
        assert.equal(healthy.code, 0, healthy.stderr);
        assert.match(healthy.stdout, /^ok {6}http/m);
        return;
      }
      const answer = JSON.parse(body);
      assert.equal(answer.status, "unavailable");
      assert.match(answer.reasons.join("\n"), /^sink: /m);
      const unhealthy = await runCdc([...healthcheck, "--timeout", "1s"]);
      assert.equal(unhealthy.code, 1);
      assert.match(unhealthy.stdout, /^FAILED {2}http .*HTTP 503: .*sink: /m);
    }, 60_000),
});

Deno.test({
  name: "readyz: 503 with the reason while the Kafka broker is stopped, 200 once it is back",
  sanitizeOps: false,
  sanitizeResources: false,
  // ready again only once both the group (kafkajs) and the fetches (cdc's own) work again
  fn: () =>
    readinessAcrossOutage("kafka", (_url, { status, body }) => {
      if (status === 200) return Promise.resolve();
      // whichever noticed first: cdc's fetch, or kafkajs's group membership
      assert.match(
        JSON.parse(body).reasons.join("\n"),
        /^(Kafka fetch retrying after: .*127\.0\.0\.1|consumer restarting after: )/m,
      );
      return Promise.resolve();
    }, 90_000),
});
