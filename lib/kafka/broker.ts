/**
 * One connection to a broker, over TCP or TLS, authenticated with SASL where asked: requests
 * go out as they come and are matched to their responses by correlation id, and the broker's
 * API versions are asked for first, so that every request uses one both sides speak.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { connect as connectTcp, isIP, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { type BrokerAddress, describeAddress, type KafkaConnection } from "./connection.ts";
import { ERROR, KafkaProtocolError } from "./errors.ts";
import { authenticate } from "./sasl.ts";
import { API, API_NAMES, WireReader, WireWriter } from "./wire.ts";

/** The version of ApiVersions asked for: its request is empty, its answer lists the rest. */
const API_VERSIONS_VERSION = 2;
const CLIENT_ID = "cdc-fetch";
/** How long a request may wait for its answer: kafkajs's `requestTimeout` default too. */
const REQUEST_TIMEOUT_MS = 30_000;

/** The versions of one API a broker speaks. */
export interface VersionRange {
  min: number;
  max: number;
}

/**
 * The highest version of `api` that both sides speak: the broker (its ApiVersions answer)
 * and cdc (`ours`). Throws when they share none, naming both ranges.
 */
export function commonVersion(
  api: number,
  broker: ReadonlyMap<number, VersionRange>,
  ours: VersionRange,
): number {
  const theirs = broker.get(api);
  const name = API_NAMES[api] ?? `API ${api}`;
  const unsupported = (why: string) =>
    new KafkaProtocolError(`${why} (cdc needs Kafka 2.1 or later)`, ERROR.unsupportedVersion);
  if (!theirs) throw unsupported(`the Kafka broker does not offer ${name} requests`);
  const version = Math.min(theirs.max, ours.max);
  if (version < Math.max(theirs.min, ours.min)) {
    throw unsupported(
      `the Kafka broker speaks ${name} v${theirs.min}-v${theirs.max} and cdc v${ours.min}-` +
        `v${ours.max}: none in common`,
    );
  }
  return version;
}

/** The API versions of an ApiVersions response (v1-v2). */
export function parseApiVersions(body: Buffer): Map<number, VersionRange> {
  const reader = new WireReader(body);
  const error = reader.int16();
  if (error !== ERROR.none) throw new KafkaProtocolError("asking the broker's API versions", error);
  const versions = new Map<number, VersionRange>();
  for (let n = reader.int32(); n > 0; n--) {
    versions.set(reader.int16(), { min: reader.int16(), max: reader.int16() });
  }
  return versions;
}

/**
 * One connection to a broker: requests are sent as they come and matched to their
 * responses by correlation id. A failed or closed socket fails every pending request.
 */
export class BrokerConnection {
  readonly address: BrokerAddress;
  /** The API versions the broker speaks, asked for when the connection opened. */
  versions: ReadonlyMap<number, VersionRange> = new Map();
  #socket?: Socket;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Bytes the response being received needs: its size field, then all of it. */
  #needed = 4;
  #correlation = 0;
  readonly #pending = new Map<number, { resolve(b: Buffer): void; reject(e: Error): void }>();
  #closed?: Error;

  private constructor(address: BrokerAddress) {
    this.address = address;
  }

  /** Connects (TLS when `connection.tls` is set) and authenticates (SASL, if set). */
  static async open(
    address: BrokerAddress,
    connection: KafkaConnection,
    timeoutMs = 5_000,
  ): Promise<BrokerConnection> {
    const broker = new BrokerConnection(address);
    await broker.#connect(connection, timeoutMs);
    try {
      // before authenticating: Kafka answers ApiVersions on any connection
      broker.versions = parseApiVersions(
        await broker.request(API.apiVersions, API_VERSIONS_VERSION, new Uint8Array(), timeoutMs),
      );
      if (connection.sasl) await authenticate(broker, connection.sasl);
    } catch (error) {
      broker.close();
      throw error;
    }
    return broker;
  }

  /** The highest version of `api` that the broker and cdc (`ours`) both speak. */
  version(api: number, ours: VersionRange): number {
    return commonVersion(api, this.versions, ours);
  }

  /**
   * Sends a request; resolves with its response's body (after the correlation id). A response
   * later than `timeoutMs` (a broker gone without closing the socket) fails the connection:
   * what it would still answer could not be told apart.
   */
  request(
    apiKey: number,
    version: number,
    body: Uint8Array,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<Buffer> {
    if (this.#closed) return Promise.reject(this.#closed);
    const correlation = ++this.#correlation;
    const header = new WireWriter().int32(0).int16(apiKey).int16(version).int32(correlation)
      .string(CLIENT_ID).done();
    header.writeInt32BE(header.length - 4 + body.length, 0);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(
          new Error(`${describeAddress(this.address)} did not answer within ${timeoutMs} ms`),
        );
        this.#socket?.destroy();
      }, timeoutMs);
      this.#pending.set(correlation, {
        resolve: (response) => {
          clearTimeout(timer);
          resolve(response);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#socket!.write(Buffer.concat([header, body]));
    });
  }

  close(): void {
    this.#fail(new Error(`connection to ${describeAddress(this.address)} closed`));
    this.#socket?.destroy();
  }

  #connect(connection: KafkaConnection, timeoutMs: number): Promise<void> {
    const { host, port } = this.address;
    return new Promise((resolve, reject) => {
      const tls = connection.tls;
      const socket = tls
        ? connectTls({
          host,
          port,
          ...(isIP(host) ? {} : { servername: host }),
          ...(tls === true ? {} : { ca: tls.ca }),
        })
        : connectTcp({ host, port });
      this.#socket = socket;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new Error(
            `connecting to ${describeAddress(this.address)} timed out after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      socket.once(tls ? "secureConnect" : "connect", () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve();
      });
      socket.on("data", (chunk: Buffer) => this.#received(chunk));
      socket.on("error", (error: Error) => {
        clearTimeout(timer);
        const failed = new Error(`Kafka broker ${describeAddress(this.address)}: ${error.message}`);
        reject(failed);
        this.#fail(failed);
      });
      socket.on("close", () => this.#fail(new Error(`${describeAddress(this.address)} closed`)));
    });
  }

  #received(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    // joined once a whole response is there, not at every chunk of a large one
    while (this.#buffered >= this.#needed) {
      const buffer = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
      const size = buffer.readInt32BE(0);
      if (buffer.length < 4 + size) {
        this.#chunks = [buffer];
        this.#needed = 4 + size;
        return;
      }
      this.#needed = 4;
      const rest = buffer.subarray(4 + size);
      this.#chunks = rest.length ? [rest] : [];
      this.#buffered = rest.length;
      const correlation = buffer.readInt32BE(4);
      const waiting = this.#pending.get(correlation);
      this.#pending.delete(correlation);
      waiting?.resolve(buffer.subarray(8, 4 + size));
    }
  }

  #fail(error: Error): void {
    this.#closed ??= error;
    for (const waiting of this.#pending.values()) waiting.reject(error);
    this.#pending.clear();
  }
}
