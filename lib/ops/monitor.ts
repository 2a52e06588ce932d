/**
 * Wires metrics, health and the HTTP endpoint of `cdc stream` to the hooks of
 * source, sink, registry and pipeline, so that the stream command only hands
 * them over.
 *
 * @module
 */
import { Health } from "./health.ts";
import { type HttpEndpoint, type Listen, serveHttp } from "./http_server.ts";
import { logger } from "../util/log.ts";
import { StreamMetrics } from "./metrics.ts";
import { errorMessage } from "../util/errors.ts";
import type { SourceEvents } from "../kafka/mod.ts";

const log = logger("http");

/** Settings of {@linkcode StreamMonitor}. */
export interface MonitorOptions {
  /** Run by each readiness probe: resolves when the sink answers (none for `--dry-run`). */
  sinkCheck?: () => Promise<void>;
  /** `--retry-timeout`: a write in flight for much longer than this is wedged. */
  retryTimeoutMs: number;
}

/** How long past `--retry-timeout` a write may stay in flight before liveness fails. */
const WEDGED_MARGIN_MS = 60_000;

/** Metrics and health of one stream, and the endpoint serving them. */
export class StreamMonitor {
  readonly metrics: StreamMetrics;
  readonly health: Health;
  #endpoint?: HttpEndpoint;

  constructor(options: MonitorOptions) {
    this.metrics = new StreamMetrics({ onWritten: () => this.health.met("sink") });
    this.health = new Health({
      checks: options.sinkCheck ? { sink: options.sinkCheck } : {},
      writeInFlightMs: () => this.metrics.writeInFlightMs(),
      wedgedAfterMs: options.retryTimeoutMs + WEDGED_MARGIN_MS,
    });
    this.health.unmet("startup", "waiting for Kafka, the schema registry and the sink");
    this.health.unmet("kafka", "not in the consumer group yet");
  }

  /** The source's hooks: group membership for readiness, retries and failures for metrics. */
  readonly sourceEvents: SourceEvents = {
    joined: (partitions) =>
      partitions > 0
        ? this.health.met("kafka")
        : this.health.unmet("kafka", "no partitions assigned (more processes than partitions)"),
    rebalancing: () => this.health.unmet("kafka", "the consumer group is rebalancing"),
    retrying: (error) => {
      this.metrics.retried("kafka");
      this.health.unmet("kafka", `consumer restarting after: ${errorMessage(error)}`);
    },
    fetchRetrying: (error) => {
      this.metrics.retried("kafka");
      this.health.unmet("kafka", `Kafka fetch retrying after: ${errorMessage(error)}`);
    },
    fetchRecovered: () => this.health.met("kafka"),
    commitFailed: () => this.metrics.failed("kafka"),
  };

  /** The sink's retry hook: counted, and not ready until a batch is written again. */
  sinkRetrying = (error: unknown): void => {
    this.metrics.retried("sink");
    this.health.unmet("sink", `sink write retrying after: ${errorMessage(error)}`);
  };

  /** The registry's retry hook. */
  registryRetrying = (): void => this.metrics.retried("registry");

  /** Start-up waits are over. */
  started(): void {
    this.health.met("startup");
  }

  /** Starts serving `/metrics`, `/healthz` and `/readyz` on `listen`. */
  listen(listen: Listen): void {
    try {
      this.#endpoint = serveHttp(listen, {
        metrics: () => this.metrics.render(),
        metricsContentType: this.metrics.contentType,
        liveness: () => this.health.liveness(),
        readiness: () => this.health.readiness(),
      });
    } catch (error) {
      throw new Error(
        `--http-listen ${listen.hostname}:${listen.port}: cannot listen (${
          errorMessage(error)
        }); choose a free port, or 0 for any`,
      );
    }
    log.info(`metrics and probes on ${this.#endpoint.url} (/metrics, /healthz, /readyz)`);
  }

  /** Probes fail from now on; the endpoint stays up until {@linkcode close}. */
  stopping(): void {
    this.health.stopping();
  }

  /** Stops the endpoint. */
  async close(): Promise<void> {
    await this.#endpoint?.close();
  }
}
