/**
 * Service URLs that may carry credentials (`http://user:secret@host/`): fetch
 * refuses them inline, and logs must never show them.
 *
 * @module
 */

/** A base URL without its credentials, and the Basic auth header they make (if any). */
export interface Endpoint {
  /** The URL without credentials or a trailing slash: safe to log. */
  baseUrl: string;
  /** `Basic ...` when the URL held credentials. */
  authorization?: string;
}

/** Splits the credentials off a service URL; throws on a URL that does not parse. */
export function endpoint(url: string): Endpoint {
  const parsed = new URL(url);
  let authorization: string | undefined;
  if (parsed.username || parsed.password) {
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    authorization = `Basic ${btoa(`${user}:${password}`)}`;
    parsed.username = "";
    parsed.password = "";
  }
  return { baseUrl: parsed.toString().replace(/\/$/, ""), authorization };
}
