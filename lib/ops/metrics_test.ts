import assert from "node:assert/strict";
import type { SinkBatch } from "../sink/batch.ts";
import { targetOf } from "../sink/testing.ts";
import { StreamMetrics } from "./metrics.ts";

const batch = (rows: Record<string, number>): SinkBatch => ({
  tables: Object.entries(rows).map(([table, n]) => ({
    ...targetOf(table, `t.${table}`, ["id"]),
    rows: Array.from({ length: n }, (_, i) => [i]),
  })),
  deadLetters: [],
  positions: new Map(),
});

const memory = () => ({ rss: 5_000_000, heapUsed: 1_000, heapTotal: 2_000, external: 300 });

Deno.test("StreamMetrics: counters, histograms and gauges in Prometheus text format", async () => {
  let clock = 10_000;
  let written = 0;
  const metrics = new StreamMetrics({ now: () => clock, memory, onWritten: () => written++ });
  metrics.lagFrom(() => [{ topic: "p.db.t", partition: 0, lag: 42 }]);
  metrics.consumed("p.db.t", "c");
  metrics.consumed("p.db.t", "c");
  metrics.consumed("p.db.t", "tombstone");
  metrics.buffered("t_cdc", 9_000);
  metrics.buffered("t_cdc", 8_000);
  metrics.buffered("t_cdc", undefined);
  metrics.badRecord("p.db.t", "dead-letter", "undecodable-avro");
  const done = metrics.writing(batch({ t_cdc: 3 }));
  clock += 250;
  assert.equal(metrics.writeInFlightMs(), 250);
  done();
  assert.equal(metrics.writeInFlightMs(), 0);
  assert.equal(written, 1);
  metrics.writing(batch({ t_cdc: 1 }))(new Error("gone"));
  metrics.retried("sink");
  metrics.retried("sink");
  metrics.failed("kafka");
  clock += 750;
  const text = await metrics.render();
  for (
    const line of [
      'cdc_events_consumed_total{topic="p.db.t",op="c"} 2',
      'cdc_events_consumed_total{topic="p.db.t",op="tombstone"} 1',
      'cdc_rows_written_total{table="t_cdc"} 3',
      "cdc_batches_written_total 1",
      'cdc_batch_write_duration_seconds_bucket{le="0.25"} 1',
      'cdc_batch_write_duration_seconds_bucket{le="0.1"} 0',
      "cdc_batch_write_duration_seconds_count 1",
      // 10.25 s - 9 s and 10.25 s - 8 s; the row without source.ts_ms has no latency
      'cdc_end_to_end_latency_seconds_bucket{le="1",table="t_cdc"} 0',
      'cdc_end_to_end_latency_seconds_bucket{le="2.5",table="t_cdc"} 2',
      'cdc_end_to_end_latency_seconds_sum{table="t_cdc"} 3.5',
      'cdc_bad_records_total{topic="p.db.t",action="dead-letter",reason="undecodable-avro"} 1',
      'cdc_retries_total{service="sink"} 2',
      'cdc_failures_total{service="kafka"} 1',
      'cdc_failures_total{service="sink"} 1',
      'cdc_lag_records{topic="p.db.t",partition="0"} 42',
      // now (11 s) minus the newest source time written (9 s)
      'cdc_seconds_behind_source{table="t_cdc"} 2',
      "process_resident_memory_bytes 5000000",
      'cdc_heap_bytes{state="used"} 1000',
    ]
  ) assert.ok(text.split("\n").includes(line), `${line} in\n${text}`);
  assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
});

Deno.test("StreamMetrics: metric names follow Prometheus conventions", async () => {
  const text = await new StreamMetrics({ memory }).render();
  const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({
    name,
    type,
  }));
  assert.ok(types.length >= 12);
  for (const { name, type } of types) {
    assert.match(name, /^(cdc|process)_[a-z_]+$/);
    if (type === "counter") assert.match(name, /_total$/);
    if (type === "histogram") assert.match(name, /_seconds$/);
  }
});

Deno.test("StreamMetrics: lag series of partitions no longer reported disappear", async () => {
  const metrics = new StreamMetrics({ memory });
  let lag = [{ topic: "a", partition: 0, lag: 1 }, { topic: "a", partition: 1, lag: 2 }];
  metrics.lagFrom(() => lag);
  assert.match(await metrics.render(), /partition="1"\} 2/);
  lag = [{ topic: "a", partition: 0, lag: 0 }];
  assert.doesNotMatch(await metrics.render(), /partition="1"/);
});
