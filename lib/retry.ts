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
  signal?: AbortSignal;
}

/**
 * Runs `attempt` until it resolves, retrying transient failures with bounded
 * exponential backoff until `timeoutMs` has passed.
 */
export async function retry<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (let n = 1;; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (options.signal?.aborted) throw error;
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
