/**
 * Waiting on a condition with a deadline: the only synchronisation the stack and its
 * tests use (never a fixed sleep).
 *
 * @module
 */

/** Raised by {@link waitFor} when the deadline passes before the probe succeeds. */
export class WaitTimeout extends Error {
  constructor(
    readonly description: string,
    readonly deadlineMs: number,
    readonly lastError?: unknown,
  ) {
    super(
      `timed out after ${(deadlineMs / 1000).toFixed(1)}s waiting for ${description}` +
        (lastError === undefined ? "" : ` (last error: ${errorText(lastError)})`),
    );
    this.name = "WaitTimeout";
  }
}

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** First pause between two probes, in ms (doubles up to `maxIntervalMs`). Default 100. */
  intervalMs?: number;
  /** Longest pause between two probes, in ms. Default 1000. */
  maxIntervalMs?: number;
  /** Cancels the wait. */
  signal?: AbortSignal;
  /** Called between probes, at most every 10 s, with the time waited so far: progress. */
  onProgress?: (elapsedMs: number) => void;
}

/**
 * Calls `probe` until it returns a truthy value, and returns that value.
 * A probe that throws counts as "not yet"; its last error is reported on time-out.
 * Throws {@link WaitTimeout} when `deadlineMs` milliseconds have passed.
 */
export async function waitFor<T>(
  description: string,
  probe: () => T | Promise<T>,
  deadlineMs: number,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const start = Date.now();
  const end = start + deadlineMs;
  let reported = start;
  let interval = options.intervalMs ?? 100;
  const maxInterval = options.maxIntervalMs ?? 1000;
  let lastError: unknown = undefined;
  while (true) {
    options.signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    const left = end - Date.now();
    if (left <= 0) throw new WaitTimeout(description, deadlineMs, lastError);
    if (options.onProgress && Date.now() - reported >= 10_000) {
      reported = Date.now();
      options.onProgress(reported - start);
    }
    await pause(Math.min(interval, left), options.signal);
    interval = Math.min(interval * 2, maxInterval);
  }
}

/** The pause between two probes of a poll loop (not a synchronisation by itself). */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A one-line description of an error. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
