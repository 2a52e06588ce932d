/**
 * Waiting and retrying with bounded exponential backoff.
 *
 * Every wait in `cdc` goes through here: a condition polled until a deadline,
 * never a fixed sleep standing in for synchronisation.
 *
 * @module
 */

/** Backoff settings: the first delay, its cap, and the factor between tries. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  factor: number;
}

/** The default: 250 ms, doubling, capped at 10 s. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 10_000, factor: 2 };

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
 * exponential backoff until `timeoutMs` has passed, or until `signal` aborts.
 */
export async function retry<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (let n = 1;; n++) {
    options.signal?.throwIfAborted();
    try {
      return await abortable(attempt(), options.signal);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (options.isTransient && !options.isTransient(error)) throw error;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new DeadlineError(
          `gave up on ${options.what} after ${Math.round(options.timeoutMs / 1000)}s: ${
            errorMessage(error)
          }`,
          error,
        );
      }
      const delayMs = Math.min(remaining, backoffDelay(n, options.backoff));
      options.onRetry?.({ attempt: n, delayMs, error });
      await delay(delayMs, options.signal);
    }
  }
}

/** The message of any thrown value, with its cause chain, on one line. */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const parts = [error.message || error.name];
  let cause = error.cause;
  while (cause instanceof Error) {
    if (!parts.includes(cause.message)) parts.push(cause.message);
    cause = cause.cause;
  }
  return parts.join(": ");
}
