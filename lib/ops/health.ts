/**
 * Liveness and readiness of `cdc stream`, for `/healthz` and `/readyz`.
 *
 * Readiness is the conjunction of named conditions the stream reports as they
 * change (start-up done, group joined with partitions, sink not retrying) and
 * of checks run at probe time (the sink answers). Liveness fails only when the
 * pipeline is wedged: a write has been in flight for longer than retrying can
 * take, or the stream is shutting down.
 *
 * @module
 */
import { errorMessage } from "../util/errors.ts";

/** The answer of a probe: ok, or the reasons it is not. */
export interface Probe {
  ok: boolean;
  reasons: string[];
}

/** Settings of {@linkcode Health}. */
export interface HealthOptions {
  /** Checks run by every readiness probe, by name; a rejection is the reason. */
  checks?: Record<string, () => Promise<void>>;
  /** How long each check may take. */
  checkTimeoutMs?: number;
  /** Milliseconds the write in flight has taken so far (0: none). */
  writeInFlightMs: () => number;
  /** A write in flight for longer than this means the pipeline is wedged. */
  wedgedAfterMs: number;
}

/** Tracks what readiness and liveness depend on. */
export class Health {
  readonly #options: HealthOptions;
  /** Conditions not met, by name: the reason. */
  readonly #unmet = new Map<string, string>();
  #stopping = false;
  /** A probe's checks in progress, shared by concurrent probes. */
  #checking?: Promise<string[]>;

  constructor(options: HealthOptions) {
    this.#options = options;
  }

  /** Condition `name` is not met, for `reason` (replaces an earlier reason). */
  unmet(name: string, reason: string): void {
    this.#unmet.set(name, reason);
  }

  /** Condition `name` is met. */
  met(name: string): void {
    this.#unmet.delete(name);
  }

  /** The stream is shutting down: neither alive nor ready from now on. */
  stopping(): void {
    this.#stopping = true;
  }

  /** `/healthz`: the stream is not shutting down and no write is wedged. */
  liveness(): Probe {
    const reasons: string[] = [];
    if (this.#stopping) reasons.push("shutting down");
    const inFlight = this.#options.writeInFlightMs();
    if (inFlight > this.#options.wedgedAfterMs) {
      reasons.push(`a batch write has been in flight for ${Math.round(inFlight / 1000)} s`);
    }
    return { ok: reasons.length === 0, reasons };
  }

  /** `/readyz`: every condition met and every check passing. */
  async readiness(): Promise<Probe> {
    const reasons = this.#stopping ? ["shutting down"] : [...this.#unmet.values()];
    this.#checking ??= this.#runChecks().finally(() => this.#checking = undefined);
    reasons.push(...await this.#checking);
    return { ok: reasons.length === 0, reasons };
  }

  async #runChecks(): Promise<string[]> {
    const timeoutMs = this.#options.checkTimeoutMs ?? 2_000;
    const results = await Promise.all(
      Object.entries(this.#options.checks ?? {}).map(async ([name, check]) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        });
        try {
          await Promise.race([check(), timeout]);
          return undefined;
        } catch (error) {
          return `${name}: ${errorMessage(error)}`;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return results.filter((r): r is string => r !== undefined);
  }
}
