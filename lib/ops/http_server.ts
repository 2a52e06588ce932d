/**
 * The HTTP endpoint of `cdc stream` (`--http-listen`): `/metrics` for
 * Prometheus, `/healthz` (liveness) and `/readyz` (readiness) for probes.
 *
 * @module
 */
import type { Probe } from "./health.ts";

/** Where to listen. */
export interface Listen {
  hostname: string;
  port: number;
}

/** What the endpoint serves. */
export interface Endpoints {
  metrics(): Promise<string>;
  metricsContentType: string;
  liveness(): Probe;
  readiness(): Promise<Probe>;
}

/** Answers one request (kept apart from the server, so that it is tested without a socket). */
export async function handle(endpoints: Endpoints, request: Request): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("only GET and HEAD\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  switch (new URL(request.url).pathname) {
    case "/metrics":
      return new Response(await endpoints.metrics(), {
        headers: { "content-type": endpoints.metricsContentType },
      });
    case "/healthz":
      return probeResponse(endpoints.liveness());
    case "/readyz":
      return probeResponse(await endpoints.readiness());
    default:
      return new Response("not found: try /metrics, /healthz or /readyz\n", { status: 404 });
  }
}

/** 200 `{"status":"ok"}`, or 503 with the reasons, as probes and people read them. */
function probeResponse(probe: Probe): Response {
  return Response.json(
    probe.ok ? { status: "ok" } : { status: "unavailable", reasons: probe.reasons },
    { status: probe.ok ? 200 : 503, headers: { "cache-control": "no-store" } },
  );
}

/** A running endpoint: its URL, and how to stop it. */
export interface HttpEndpoint {
  url: string;
  close(): Promise<void>;
}

/** Serves `endpoints` on `listen`; throws when the address cannot be bound (in use, denied). */
export function serveHttp(listen: Listen, endpoints: Endpoints): HttpEndpoint {
  const server = Deno.serve({
    hostname: listen.hostname,
    port: listen.port,
    onListen: () => {}, // the caller logs the address, with the port chosen for :0
    onError: (error) =>
      new Response(`internal error: ${error instanceof Error ? error.message : error}\n`, {
        status: 500,
      }),
  }, (request) => handle(endpoints, request));
  const { hostname, port } = server.addr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return { url: `http://${host}:${port}`, close: () => server.shutdown() };
}
