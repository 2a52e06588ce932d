/**
 * A client for any schema registry that speaks the Confluent REST API:
 * Confluent Schema Registry, Apicurio (`/apis/ccompat/v7`), Karapace, Redpanda.
 *
 * Schema ids are immutable, so a schema fetched once is kept for the life of
 * the process; an id never seen before is fetched the moment it appears.
 *
 * @module
 */
import { endpoint } from "../util/http_url.ts";
import { type Backoff, DEFAULT_BACKOFF, retry } from "../util/retry.ts";

/** A Confluent schema reference: a named type defined by another subject's version. */
export interface SchemaReference {
  /** For Avro, the full name of the referenced type. */
  name: string;
  subject: string;
  version: number;
}

/** A schema as the registry returns it for `GET /schemas/ids/{id}`. */
export interface RegisteredSchema {
  id: number;
  /** The schema text (Avro JSON for our topics). */
  schema: string;
  schemaType?: string;
  /** Named types the schema uses but does not define (Apicurio's converter writes these). */
  references?: SchemaReference[];
}

/** A subject's version: its schema with the subject and version number. */
export type SubjectVersion = RegisteredSchema & { subject: string; version: number };

/** A registry answer that is an error: status and the registry's message. */
export class RegistryError extends Error {
  constructor(message: string, readonly status: number, readonly errorCode?: number) {
    super(message);
    this.name = "RegistryError";
  }
}

/** The registry has no schema with this id (HTTP 404). */
export class UnknownSchemaIdError extends RegistryError {
  constructor(readonly schemaId: number, url: string) {
    super(
      `the schema registry at ${url} has no schema with id ${schemaId}: ` +
        `was the message written against another registry?`,
      404,
      40403,
    );
    this.name = "UnknownSchemaIdError";
  }
}

/** True for failures worth retrying: network errors, timeouts and 5xx/429 answers. */
export function isTransientRegistryError(error: unknown): boolean {
  if (error instanceof RegistryError) return error.status >= 500 || error.status === 429;
  return error instanceof TypeError || (error instanceof DOMException); // fetch: network, timeout
}

/** Options of {@linkcode RegistryClient}. */
export interface RegistryClientOptions {
  /** How long one look-up may keep retrying transient failures. */
  retryTimeoutMs?: number;
  backoff?: Backoff;
  /** Per-request timeout. */
  requestTimeoutMs?: number;
  onRetry?: (what: string, error: unknown, delayMs: number) => void;
}

/** Reads schemas from a Confluent-compatible registry, caching by id. */
export class RegistryClient {
  readonly baseUrl: string;
  readonly #headers: Headers;
  readonly #byId = new Map<number, Promise<RegisteredSchema>>();
  readonly #bySubjectVersion = new Map<string, Promise<SubjectVersion>>();
  readonly #options: Required<Omit<RegistryClientOptions, "onRetry">> & RegistryClientOptions;

  constructor(baseUrl: string, options: RegistryClientOptions = {}) {
    const { baseUrl: url, authorization } = endpoint(baseUrl);
    this.#headers = new Headers({
      accept: "application/vnd.schemaregistry.v1+json, application/json",
    });
    if (authorization) this.#headers.set("authorization", authorization);
    this.baseUrl = url;
    this.#options = {
      retryTimeoutMs: 60_000,
      backoff: DEFAULT_BACKOFF,
      requestTimeoutMs: 10_000,
      ...options,
    };
  }

  /** The schema with this id, fetched once and then served from memory. */
  schemaById(id: number): Promise<RegisteredSchema> {
    let pending = this.#byId.get(id);
    if (!pending) {
      pending = this.#get<RegisteredSchema>(`/schemas/ids/${id}`).then((body) => ({
        ...body,
        id,
      }));
      // A failed look-up is not cached: the next message asks again.
      pending.catch(() => this.#byId.delete(id));
      this.#byId.set(id, pending);
    }
    return pending;
  }

  /**
   * All subjects (`GET /subjects`), read page by page: Apicurio's ccompat API answers at most
   * 1,000 subjects per request unless asked for more (`apicurio.ccompat.max-subjects`), and it
   * and Confluent's page with `offset` and `limit`. Pages are read until one is short; a
   * registry that ignores the parameters answers the whole list again, and a page that adds
   * nothing new ends the reading.
   */
  async subjects(pageSize = 1000): Promise<string[]> {
    const subjects = new Set<string>();
    for (let offset = 0;; offset += pageSize) {
      const page = await this.#get<string[]>(`/subjects?offset=${offset}&limit=${pageSize}`);
      const known = subjects.size;
      for (const subject of page) subjects.add(subject);
      if (page.length < pageSize || subjects.size === known) return [...subjects];
    }
  }

  /** The version numbers of a subject (`GET /subjects/{s}/versions`). */
  versions(subject: string): Promise<number[]> {
    return this.#get<number[]>(`/subjects/${encodeURIComponent(subject)}/versions`);
  }

  /** One version of a subject; `latest` for the newest. Numbered versions are cached. */
  subjectVersion(subject: string, version: number | "latest"): Promise<SubjectVersion> {
    const path = `/subjects/${encodeURIComponent(subject)}/versions/${version}`;
    if (version === "latest") return this.#get(path);
    let pending = this.#bySubjectVersion.get(path);
    if (!pending) {
      pending = this.#get<SubjectVersion>(path);
      pending.catch(() => this.#bySubjectVersion.delete(path));
      this.#bySubjectVersion.set(path, pending);
    }
    return pending;
  }

  /**
   * Answers when the registry is up: asks once, without retrying, for its global compatibility
   * level (`GET /config`: a few bytes, where `/subjects` lists every subject, 41 KB here).
   */
  async ping(): Promise<void> {
    await this.#request("/config");
  }

  #get<T>(path: string): Promise<T> {
    return retry(() => this.#request<T>(path), {
      what: `the schema registry at ${this.baseUrl}${path}`,
      timeoutMs: this.#options.retryTimeoutMs,
      backoff: this.#options.backoff,
      isTransient: isTransientRegistryError,
      onRetry: ({ error, delayMs }) => this.#options.onRetry?.(path, error, delayMs),
    });
  }

  async #request<T>(path: string): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      headers: this.#headers,
      signal: AbortSignal.timeout(this.#options.requestTimeoutMs),
    });
    const text = await response.text();
    if (response.ok) return JSON.parse(text) as T;
    let body: { error_code?: number; message?: string } = {};
    try {
      body = JSON.parse(text);
    } catch { /* not JSON: keep the status line */ }
    const idMatch = /^\/schemas\/ids\/(\d+)$/.exec(path);
    if (response.status === 404 && idMatch) {
      throw new UnknownSchemaIdError(Number(idMatch[1]), this.baseUrl);
    }
    throw new RegistryError(
      `schema registry ${this.baseUrl}${path} answered ${response.status}: ${
        body.message ?? (text.slice(0, 200) || response.statusText)
      }`,
      response.status,
      body.error_code,
    );
  }
}
