import assert from "node:assert/strict";
import {
  abortable,
  backoffDelay,
  DeadlineError,
  delay,
  FinalError,
  retry,
  waitFor,
  type WaitProgress,
} from "./retry.ts";

const FAST = { initialMs: 1, maxMs: 4, factor: 2 };

Deno.test("backoffDelay: doubles from the first delay, capped", () => {
  const backoff = { initialMs: 100, maxMs: 1_000, factor: 2 };
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(n, backoff)), [
    100,
    200,
    400,
    800,
    1000,
  ]);
});

Deno.test("waitFor: returns the probe's first truthy value; throws count as not yet", async () => {
  let probes = 0;
  const value = await waitFor(
    "the third probe",
    () => {
      probes++;
      if (probes === 1) throw new Error("not up yet");
      return probes === 3 ? { answer: 42 } : undefined;
    },
    5_000,
    { backoff: FAST },
  );
  assert.deepEqual(value, { answer: 42 });
  assert.equal(probes, 3);
});

Deno.test("waitFor: past the deadline, a DeadlineError naming what and the last error", async () => {
  const error = await waitFor(
    "the moon",
    () => {
      throw new Error("connection refused");
    },
    30,
    { backoff: FAST },
  ).catch((e) => e);
  assert.ok(error instanceof DeadlineError);
  assert.match(error.message, /^gave up waiting for the moon after 30ms: connection refused$/);
  assert.equal((error.lastError as Error).message, "connection refused");
  const quiet = await waitFor("a false probe", () => false, 20, { backoff: FAST }).catch((e) => e);
  assert.equal(quiet.message, "gave up waiting for a false probe after 20ms");
});

Deno.test("waitFor: a FinalError, or an error isFinal accepts, ends the wait at once", async () => {
  let probes = 0;
  const final = new FinalError("the process exited");
  await assert.rejects(
    waitFor(
      "rows",
      () => {
        probes++;
        throw final;
      },
      60_000,
      { backoff: FAST },
    ),
    (error) => error === final,
  );
  assert.equal(probes, 1);
  class Refused extends Error {}
  probes = 0;
  await assert.rejects(
    waitFor(
      "a login",
      () => {
        if (++probes === 2) throw new Refused("wrong password");
        throw new Error("reset");
      },
      60_000,
      { backoff: FAST, isFinal: (error) => error instanceof Refused },
    ),
    Refused,
  );
  assert.equal(probes, 2);
});

Deno.test("waitFor: an abort ends the wait during a pause, with the signal's reason", async () => {
  const controller = new AbortController();
  const started = Date.now();
  const waiting = waitFor("never", () => false, 60_000, {
    signal: controller.signal,
    backoff: { initialMs: 60_000, maxMs: 60_000, factor: 1 },
    onProgress: () => controller.abort(new Error("stopping")),
  });
  await assert.rejects(waiting, /stopping/);
  assert.ok(Date.now() - started < 5_000, "the abort did not cut the pause short");
  await assert.rejects(
    waitFor("aborted before", () => true, 1_000, { signal: controller.signal }),
    /stopping/,
  );
});

Deno.test("waitFor: onProgress says how long it waited, at most every progressEveryMs", async () => {
  const seen: WaitProgress[] = [];
  let probes = 0;
  await waitFor("ten probes", () => ++probes >= 10, 5_000, {
    backoff: FAST,
    onProgress: (progress) => seen.push(progress),
  });
  assert.deepEqual(seen.map((p) => p.attempt), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(seen.every((p, i) => i === 0 || p.elapsedMs >= seen[i - 1].elapsedMs));
  const throttled: WaitProgress[] = [];
  const started = Date.now();
  await waitFor("40 ms", () => Date.now() - started >= 40, 5_000, {
    backoff: FAST,
    progressEveryMs: 15,
    onProgress: (progress) => throttled.push(progress),
  });
  // the first at once, then at most one per 15 ms of the 40
  assert.ok(throttled.length >= 2 && throttled.length <= 3, `${throttled.length} reports`);
  assert.equal(throttled[0].attempt, 1);
  assert.ok(throttled[1].elapsedMs - throttled[0].elapsedMs >= 15);
});

Deno.test("retry: retries transient failures, says so, and returns the result", async () => {
  const retries: number[] = [];
  let attempts = 0;
  const result = await retry(() => {
    if (++attempts < 3) return Promise.reject(new Error("blip"));
    return Promise.resolve(0); // a falsy result is a result
  }, {
    what: "a flaky call",
    timeoutMs: 5_000,
    backoff: FAST,
    onRetry: ({ attempt, error }) => {
      assert.equal((error as Error).message, "blip");
      retries.push(attempt);
    },
  });
  assert.equal(result, 0);
  assert.deepEqual(retries, [1, 2]);
});

Deno.test("retry: a non-transient failure is thrown at once; a deadline names the last failure", async () => {
  let attempts = 0;
  await assert.rejects(
    retry(() => {
      attempts++;
      return Promise.reject(new Error("access denied"));
    }, { what: "MySQL", timeoutMs: 60_000, backoff: FAST, isTransient: () => false }),
    /^Error: access denied$/,
  );
  assert.equal(attempts, 1);
  await assert.rejects(
    retry(() => Promise.reject(new Error("refused")), {
      what: "Kafka at 127.0.0.1:1",
      timeoutMs: 20,
      backoff: FAST,
    }),
    (error) =>
      error instanceof DeadlineError &&
      error.message === "gave up on Kafka at 127.0.0.1:1 after 20ms: refused",
  );
});

Deno.test("delay: resolves after the time, or rejects when aborted", async () => {
  await delay(1);
  const controller = new AbortController();
  const pending = delay(60_000, controller.signal);
  controller.abort(new Error("bye"));
  await assert.rejects(pending, /bye/);
});

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
