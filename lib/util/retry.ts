/**
 * Waiting and retrying with bounded exponential backoff.
 *
 * Every wait in `cdc` goes through here: a condition polled until a deadline,
 * never a fixed sleep standing in for synchronisation.
 *
 * @module
 */

import { errorMessage } from "./errors.ts";

/** Backoff settings: the first delay, its cap, and the factor between tries. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  factor: number;
}

/** The default: 250 ms, doubling, capped at 10 s. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 10_000, factor: 2 };

/** Backoff that does not grow: a steady pause of `ms` (for probes that are costly to run). */
export function steadyBackoff(ms: number): Backoff {
  return { initialMs: ms, maxMs: ms, factor: 1 };
}

/** The delay before retry number `attempt` (1-based), capped at `maxMs`. */
export function backoffDelay(attempt: number, backoff: Backoff = DEFAULT_BACKOFF): number {
  const delay = backoff.initialMs * backoff.factor ** Math.max(0, attempt - 1);
  return Math.min(backoff.maxMs, delay);
}

/** Thrown when a deadline passes; `lastError` is the failure seen last. */
export class DeadlineError extends Error {
  constructor(message: string, readonly lastError?: unknown) {
    super(message);
    this.name = "DeadlineError";
  }
}

/**
 * Thrown by a probe (or a retried attempt) to end the wait at once: the failure is final,
 * waiting longer cannot help (a process that exited, a connector that FAILED). The wait
 * rethrows it as it is.
 */
export class FinalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FinalError";
  }
}

/** Resolves after `ms`, or early (rejecting) when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
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

/** Where a wait stands, for progress messages. */
export interface WaitProgress {
  /** Probes made so far. */
  attempt: number;
  /** Time since the wait began. */
  elapsedMs: number;
  /** The pause before the next probe. */
  delayMs: number;
  /** What the last probe threw (undefined when it merely answered "not yet"). */
  error: unknown;
}

/** Options of {@linkcode waitFor}. */
export interface WaitOptions {
  /** Pauses between probes. Default: 100 ms, doubling, capped at 500 ms. */
  backoff?: Backoff;
  /** Cancels the wait: it rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Errors for which this returns true end the wait at once (as a {@link FinalError} does). */
  isFinal?: (error: unknown) => boolean;
  /** Says what is being waited for: before the first pause, then at most every `progressEveryMs`. */
  onProgress?: (progress: WaitProgress) => void;
  /** Least time between two `onProgress` calls. Default 0: before every pause. */
  progressEveryMs?: number;
}

/** The pauses of a poll: short, since the condition is usually met soon. */
const POLL_BACKOFF: Backoff = { initialMs: 100, maxMs: 500, factor: 2 };

/**
 * Calls `probe` until it returns a truthy value, and returns that value: the one
 * wait/poll loop of `cdc`, its stack and its tests. A probe that throws counts as
 * "not yet", unless the error is a {@link FinalError} or `isFinal` says so: that is
 * rethrown at once. After `timeoutMs` (may be `Infinity`) throws a
 * {@link DeadlineError} naming `what` and the last error.
 */
export function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = 60_000,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  return poll(`waiting for ${what}`, probe, timeoutMs, options);
}

async function poll<T>(
  subject: string,
  probe: () => T | Promise<T>,
  timeoutMs: number,
  options: WaitOptions,
): Promise<NonNullable<T>> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let reported = -Infinity;
  let lastError: unknown = undefined;
  for (let attempt = 1;; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value) return value;
      lastError = undefined;
    } catch (error) {
      if (error instanceof FinalError || options.isFinal?.(error) || options.signal?.aborted) {
        throw error;
      }
      lastError = error;
    }
    const now = Date.now();
    if (now >= deadline) {
      const reason = lastError === undefined ? "" : `: ${errorMessage(lastError)}`;
      throw new DeadlineError(`gave up ${subject} after ${seconds(timeoutMs)}${reason}`, lastError);
    }
    const delayMs = Math.min(
      deadline - now,
      backoffDelay(attempt, options.backoff ?? POLL_BACKOFF),
    );
    if (options.onProgress && now - reported >= (options.progressEveryMs ?? 0)) {
      reported = now;
      options.onProgress({ attempt, elapsedMs: now - started, delayMs, error: lastError });
    }
    await delay(delayMs, options.signal);
  }
}

/** `30ms`, `2s`, `2.5s`: a duration in messages. */
function seconds(ms: number): string {
  return ms < 1_000 ? `${ms}ms` : `${Number((ms / 1000).toFixed(1))}s`;
}

/**
 * Settles as `work` does, or rejects with the signal's reason as soon as `signal` aborts
 * (also when it already has). For work that takes no signal of its own (a connect, a
 * group join): the caller stops waiting, and `work` runs on until its owner ends it.
 */
export function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined); // abandoned: its failure is nobody's concern now
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => undefined);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Options of {@linkcode retry}. */
export interface RetryOptions {
  /** What is being attempted, for messages ("Kafka at 127.0.0.1:9092"). */
  what: string;
  /** Give up after this many milliseconds in total. */
  timeoutMs: number;
  backoff?: Backoff;
  /** Errors for which this returns false are thrown at once. Default: retry all. */
  isTransient?: (error: unknown) => boolean;
  /** Called before each wait, to say what is being waited for. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Ends the retrying at once, in an attempt or between attempts, rejecting with its reason. */
  signal?: AbortSignal;
}

/**
 * Runs `attempt` until it resolves, retrying transient failures with bounded
 * exponential backoff until `timeoutMs` has passed ({@link waitFor} for an action), or
 * until `signal` aborts: an attempt in progress is then abandoned (see {@link abortable}).
 */
export async function retry<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { isTransient, onRetry } = options;
  const done = await poll(
    `on ${options.what}`,
    async () => ({ value: await abortable(attempt(), options.signal) }),
    options.timeoutMs,
    {
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      signal: options.signal,
      isFinal: isTransient && ((error) => !isTransient(error)),
      onProgress: onRetry &&
        (({ attempt, delayMs, error }) => onRetry({ attempt, delayMs, error })),
    },
  );
  return done.value;
}
