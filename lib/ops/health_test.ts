import assert from "node:assert/strict";
import { Health } from "./health.ts";

Deno.test("Health: ready when every condition is met and every check passes", async () => {
  let sinkDown = false;
  const health = new Health({
    checks: {
      sink: () => sinkDown ? Promise.reject(new Error("ECONNREFUSED")) : Promise.resolve(),
    },
    writeInFlightMs: () => 0,
    wedgedAfterMs: 1_000,
  });
  health.unmet("kafka", "not in the consumer group yet");
  assert.deepEqual(await health.readiness(), {
    ok: false,
    reasons: ["not in the consumer group yet"],
  });
  health.met("kafka");
  assert.deepEqual(await health.readiness(), { ok: true, reasons: [] });
  sinkDown = true;
  assert.deepEqual(await health.readiness(), { ok: false, reasons: ["sink: ECONNREFUSED"] });
  sinkDown = false;
  health.stopping();
  assert.deepEqual(await health.readiness(), { ok: false, reasons: ["shutting down"] });
});

Deno.test("Health: a check that does not answer in time is a reason, not a hung probe", async () => {
  const health = new Health({
    checks: { sink: () => new Promise(() => {}) },
    checkTimeoutMs: 10,
    writeInFlightMs: () => 0,
    wedgedAfterMs: 1_000,
  });
  assert.deepEqual(await health.readiness(), {
    ok: false,
    reasons: ["sink: no answer within 10 ms"],
  });
});

Deno.test("Health: concurrent probes share one run of the checks", async () => {
  let runs = 0;
  const health = new Health({
    checks: { sink: () => Promise.resolve(void runs++) },
    writeInFlightMs: () => 0,
    wedgedAfterMs: 1_000,
  });
  await Promise.all([health.readiness(), health.readiness(), health.readiness()]);
  assert.equal(runs, 1);
  await health.readiness();
  assert.equal(runs, 2);
});

Deno.test("Health: not alive once a write is wedged, or while shutting down", () => {
  let inFlight = 0;
  const health = new Health({ writeInFlightMs: () => inFlight, wedgedAfterMs: 60_000 });
  assert.deepEqual(health.liveness(), { ok: true, reasons: [] });
  inFlight = 60_000;
  assert.equal(health.liveness().ok, true, "retrying up to the limit is alive");
  inFlight = 61_000;
  assert.deepEqual(health.liveness(), {
    ok: false,
    reasons: ["a batch write has been in flight for 61 s"],
  });
  inFlight = 0;
  health.stopping();
  assert.deepEqual(health.liveness(), { ok: false, reasons: ["shutting down"] });
});
