import assert from "node:assert/strict";
import { abortable, backoffDelay, DeadlineError, retry } from "./retry.ts";

const never = () => new Promise<never>(() => {});

Deno.test("abortable: settles as the work does, or rejects with the reason on abort", async () => {
  assert.equal(await abortable(Promise.resolve(1), new AbortController().signal), 1);
  const controller = new AbortController();
  const waiting = abortable(never(), controller.signal);
  controller.abort(new Error("SIGTERM"));
  await assert.rejects(waiting, /SIGTERM/);
  // already aborted: rejects at once, and the abandoned work's failure is swallowed
  await assert.rejects(abortable(Promise.reject(new Error("late")), controller.signal), /SIGTERM/);
});

Deno.test("retry: an abort ends an attempt that never settles", async () => {
  const controller = new AbortController();
  const retrying = retry(never, { what: "x", timeoutMs: 60_000, signal: controller.signal });
  controller.abort(new Error("stop"));
  await assert.rejects(retrying, /stop/);
});

Deno.test("retry: an abort ends the wait between attempts; none starts after it", async () => {
  const controller = new AbortController();
  let attempts = 0;
  const retrying = retry(() => {
    attempts++;
    return Promise.reject(new Error("down"));
  }, {
    what: "x",
    timeoutMs: 60_000,
    backoff: { initialMs: 60_000, maxMs: 60_000, factor: 1 },
    onRetry: () => controller.abort(new Error("stop")),
    signal: controller.signal,
  });
  await assert.rejects(retrying, /stop/);
  assert.equal(attempts, 1);
  await assert.rejects(
    retry(() => Promise.resolve(attempts++), {
      what: "x",
      timeoutMs: 1,
      signal: controller.signal,
    }),
    /stop/,
  );
  assert.equal(attempts, 1, "an aborted signal starts no attempt");
});

Deno.test("retry: gives up after the deadline naming what and why", async () => {
  await assert.rejects(
    retry(() => Promise.reject(new Error("refused")), {
      what: "the registry",
      timeoutMs: 0,
    }),
    (error: unknown) =>
      error instanceof DeadlineError &&
      /gave up on the registry after 0s: refused/.test(error.message),
  );
  assert.equal(backoffDelay(1), 250);
  assert.equal(backoffDelay(10), 10_000);
});
