/**
 * A client for the Kafka Connect REST API: what `cdc connector` and `cdc wait`
 * need, with Connect's errors turned into messages an operator can act on.
 *
 * @module
 */
import type { ConnectorConfig } from "./connector_config.ts";
import { endpoint } from "../util/http_url.ts";
import { DeadlineError, retry, waitFor } from "../util/retry.ts";

/** States Kafka Connect reports for a connector or a task. */
export type ConnectorState =
  | "UNASSIGNED"
  | "RUNNING"
  | "PAUSED"
  | "STOPPED"
  | "FAILED"
  | "RESTARTING";

/** `GET /connectors/{name}/status`. */
export interface ConnectorStatus {
  name: string;
  connector: { state: ConnectorState; worker_id: string; trace?: string };
  tasks: { id: number; state: ConnectorState; worker_id: string; trace?: string }[];
  type?: string;
}

/** An error answer of the Connect REST API. */
export class ConnectError extends Error {
  /** `status` 0: no answer (unreachable, or `timedOut`). */
  constructor(message: string, readonly status: number, readonly timedOut = false) {
    super(message);
    this.name = "ConnectError";
  }
}

/** A connector or one of its tasks is FAILED; the message holds the readable trace. */
export class ConnectorFailedError extends Error {
  constructor(readonly status: ConnectorStatus) {
    super(failureReport(status));
    this.name = "ConnectorFailedError";
  }
}

/**
 * A Java stack trace as the chain of its messages, one line each, without
 * frames: `ConnectException: ...` then `caused by: DebeziumException: ...`.
 */
export function readableTrace(trace: string): string[] {
  const lines: string[] = [];
  for (const raw of trace.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("at ") || /^\.\.\. \d+ more$/.test(line)) continue;
    const cause = line.startsWith("Caused by: ");
    const text = (cause ? line.slice("Caused by: ".length) : line)
      // a.b.c.SomeException: message → SomeException: message
      .replace(/^(?:[a-z_$][\w$]*\.)+([A-Z][\w$]*(?::|$))/, "$1");
    if (lines.some((seen) => seen.endsWith(text))) continue;
    lines.push(cause ? `caused by: ${text}` : text);
  }
  return lines;
}

/** The failed parts of a status, each with its readable trace. */
export function failureReport(status: ConnectorStatus): string {
  const parts: string[] = [];
  const describe = (what: string, trace?: string) =>
    parts.push(
      `${what} FAILED${
        trace ? `:\n${readableTrace(trace).map((l) => `    ${l}`).join("\n")}` : ""
      }`,
    );
  if (status.connector.state === "FAILED") {
    describe(`connector ${status.name}`, status.connector.trace);
  }
  for (const task of status.tasks) {
    if (task.state === "FAILED") describe(`task ${status.name}-${task.id}`, task.trace);
  }
  return parts.join("\n");
}

/** One line: `connector RUNNING, task 0 RUNNING`. */
export function stateSummary(status: ConnectorStatus): string {
  const tasks = status.tasks.length === 0
    ? "no tasks yet"
    : status.tasks.map((t) => `task ${t.id} ${t.state}`).join(", ");
  return `connector ${status.connector.state}, ${tasks}`;
}

/** Options of {@linkcode ConnectClient}. */
export interface ConnectClientOptions {
  /** Per-request timeout. Default 10 s. */
  requestTimeoutMs?: number;
}

/** Talks to one Kafka Connect cluster through any of its workers. */
export class ConnectClient {
  /** Without credentials: safe to show. */
  readonly baseUrl: string;
  readonly #headers: Headers;
  readonly #requestTimeoutMs: number;

  /** `baseUrl` may hold credentials (`http://user:secret@connect:8083`): sent as Basic auth. */
  constructor(baseUrl: string, options: ConnectClientOptions = {}) {
    const { baseUrl: url, authorization } = endpoint(baseUrl);
    this.baseUrl = url;
    this.#headers = new Headers({ "content-type": "application/json", accept: "application/json" });
    if (authorization) this.#headers.set("authorization", authorization);
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  /** The worker's version (`GET /`): answers when Connect is up. */
  info(): Promise<{ version: string; kafka_cluster_id: string }> {
    return this.#request("GET", "/");
  }

  /** Every connector with its status. */
  async list(): Promise<ConnectorStatus[]> {
    const all = await this.#request<Record<string, { status: ConnectorStatus }>>(
      "GET",
      "/connectors?expand=status",
    );
    return Object.values(all).map((entry) => entry.status)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  status(name: string): Promise<ConnectorStatus> {
    return this.#request("GET", `/connectors/${encodeURIComponent(name)}/status`);
  }

  config(name: string): Promise<ConnectorConfig> {
    return this.#request("GET", `/connectors/${encodeURIComponent(name)}/config`);
  }

  /**
   * Creates the connector or replaces its config (`PUT .../config`): the same
   * call whether or not it exists, so registering twice is not an error.
   */
  async putConfig(name: string, config: ConnectorConfig): Promise<"created" | "updated"> {
    const path = `/connectors/${encodeURIComponent(name)}/config`;
    const response = await this.#send("PUT", path, config);
    return response.status === 201 ? "created" : "updated";
  }

  /** Restarts the connector and its tasks (all of them, or only the failed ones). */
  async restart(name: string, onlyFailed = false): Promise<void> {
    await this.#send(
      "POST",
      `/connectors/${encodeURIComponent(name)}/restart?includeTasks=true&onlyFailed=${onlyFailed}`,
    );
  }

  async pause(name: string): Promise<void> {
    await this.#send("PUT", `/connectors/${encodeURIComponent(name)}/pause`);
  }

  async resume(name: string): Promise<void> {
    await this.#send("PUT", `/connectors/${encodeURIComponent(name)}/resume`);
  }

  async delete(name: string): Promise<void> {
    await this.#send("DELETE", `/connectors/${encodeURIComponent(name)}`);
  }

  /** Polls until the connector's status is gone (a delete takes effect asynchronously). */
  async waitForDeletion(name: string, timeoutMs: number): Promise<void> {
    await retry(async () => {
      const found = await this.status(name).then(() => true, (error) => {
        if (error instanceof ConnectError && error.status === 404) return false;
        throw error;
      });
      if (found) throw new Error(`${name} is still listed`);
    }, {
      what: `the deletion of ${name}`,
      timeoutMs,
      backoff: { initialMs: 100, maxMs: 1_000, factor: 2 },
    });
  }

  /**
   * Polls the status until the connector and all its tasks are in `state`,
   * failing at once when anything is FAILED and after `timeoutMs` otherwise.
   * `onProgress` hears of every change of the summary line.
   */
  async waitForState(
    name: string,
    state: "RUNNING" | "PAUSED",
    timeoutMs: number,
    onProgress: (summary: string) => void = () => {},
  ): Promise<ConnectorStatus> {
    let last = "";
    try {
      return await waitFor(
        `${name} to reach ${state}`,
        async () => {
          const status = await this.status(name).catch((error) => {
            // just registered: the status appears once a worker picked the connector up
            if (error instanceof ConnectError && error.status === 404) return undefined;
            throw error;
          });
          if (!status) return undefined;
          if (failureReport(status)) throw new ConnectorFailedError(status);
          const summary = stateSummary(status);
          if (summary !== last) onProgress(last = summary);
          const reached = status.connector.state === state && status.tasks.length > 0 &&
            status.tasks.every((task) => task.state === state);
          return reached ? status : undefined;
        },
        timeoutMs,
        {
          backoff: { initialMs: 100, maxMs: 2_000, factor: 2 },
          // a FAILED connector, or Connect answering an error: waiting cannot help
          isFinal: () => true,
        },
      );
    } catch (error) {
      if (!(error instanceof DeadlineError)) throw error;
      throw new Error(
        `${name} did not reach ${state} within ${Math.round(timeoutMs / 1000)}s ` +
          `(${last || "no status yet"}): see \`cdc connector status --name ${name}\` ` +
          `and the Connect worker's log`,
      );
    }
  }

  async #request<T>(method: string, path: string): Promise<T> {
    return await (await this.#send(method, path)).json() as T;
  }

  /**
   * One request. Connect answers 409 while its workers rebalance, and holds a
   * config write until a rebalance is through (seen: 10.06 s right after a
   * connector was deleted); both are retried briefly (a `PUT` of a config is
   * idempotent). Every other error answer is thrown with Connect's message.
   */
  #send(method: string, path: string, body?: unknown): Promise<Response> {
    return retry(async () => {
      let response: Response;
      try {
        response = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers: this.#headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.#requestTimeoutMs),
        });
      } catch (error) {
        const timedOut = (error as Error).name === "TimeoutError";
        throw new ConnectError(
          `Kafka Connect at ${this.baseUrl} is unreachable (${
            (error as Error).message
          }): is it running, and is --connect-url right?`,
          0,
          timedOut,
        );
      }
      if (response.ok) return response;
      const text = await response.text();
      let message = text.slice(0, 2_000) || response.statusText;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch { /* not JSON: keep the text */ }
      const connector = /^\/connectors\/([^/?]+)/.exec(path)?.[1];
      if (response.status === 404 && connector) {
        message = `there is no connector named "${decodeURIComponent(connector)}" ` +
          `(\`cdc connector list\` shows the ones there)`;
      }
      throw new ConnectError(
        `Kafka Connect ${method} ${path} answered ${response.status}: ${message}`,
        response.status,
      );
    }, {
      what: `Kafka Connect ${method} ${path}`,
      timeoutMs: 30_000,
      isTransient: (error) =>
        error instanceof ConnectError &&
        (error.status === 409 || (error.timedOut && method === "PUT")),
    });
  }
}
