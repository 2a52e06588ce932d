/**
 * Kafka's wire protocol, as much as `cdc` speaks itself: request framing, the primitive
 * types, and a broker connection over TCP or TLS with SASL PLAIN or SCRAM. The stream's
 * fetches go through it (lib/kafka_fetch.ts); kafkajs keeps the group, commits and admin.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { connect as connectTcp, isIP, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import type { KafkaConnection } from "./kafka.ts";

/** The API keys used here. */
export const API = {
  fetch: 1,
  metadata: 3,
  saslHandshake: 17,
  apiVersions: 18,
  saslAuthenticate: 36,
} as const;

const API_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(API).map(([name, key]) => [key, name[0].toUpperCase() + name.slice(1)]),
);

/** The version of ApiVersions asked for: its request is empty, its answer lists the rest. */
const API_VERSIONS_VERSION = 2;

/** Kafka's error codes that a fetch handles; the rest end the stream with the code. */
export const ERROR = {
  none: 0,
  offsetOutOfRange: 1,
  unknownTopicOrPartition: 3,
  leaderNotAvailable: 5,
  notLeaderOrFollower: 6,
  requestTimedOut: 7,
  replicaNotAvailable: 9,
  networkException: 13,
  topicAuthorizationFailed: 29,
  unsupportedVersion: 35,
  kafkaStorageError: 56,
  fencedLeaderEpoch: 74,
  unknownLeaderEpoch: 75,
  unsupportedCompressionType: 76,
} as const;

/** Names of the codes a fetch may meet (Kafka's protocol guide), for messages. */
const ERROR_NAMES: Readonly<Record<number, string>> = {
  1: "OFFSET_OUT_OF_RANGE",
  2: "CORRUPT_MESSAGE",
  3: "UNKNOWN_TOPIC_OR_PARTITION",
  5: "LEADER_NOT_AVAILABLE",
  6: "NOT_LEADER_OR_FOLLOWER",
  7: "REQUEST_TIMED_OUT",
  9: "REPLICA_NOT_AVAILABLE",
  13: "NETWORK_EXCEPTION",
  29: "TOPIC_AUTHORIZATION_FAILED",
  35: "UNSUPPORTED_VERSION",
  56: "KAFKA_STORAGE_ERROR",
  74: "FENCED_LEADER_EPOCH",
  75: "UNKNOWN_LEADER_EPOCH",
  76: "UNSUPPORTED_COMPRESSION_TYPE",
};

/** A Kafka error code from a response, named where known, with what to do about a denial. */
export class KafkaProtocolError extends Error {
  readonly code: number;
  constructor(what: string, code: number) {
    const name = ERROR_NAMES[code] ? ` ${ERROR_NAMES[code]}` : "";
    const hint = code === ERROR.topicAuthorizationFailed
      ? " (the Kafka user needs READ on the topic and on the consumer group)"
      : "";
    super(`${what}: Kafka error ${code}${name}${hint}`);
    this.name = "KafkaProtocolError";
    this.code = code;
  }
}

/** Builds a request body from Kafka's primitive types. */
export class WireWriter {
  #buffer = Buffer.alloc(256);
  #at = 0;

  int8(n: number): this {
    this.#room(1);
    this.#at = this.#buffer.writeInt8(n, this.#at);
    return this;
  }

  int16(n: number): this {
    this.#room(2);
    this.#at = this.#buffer.writeInt16BE(n, this.#at);
    return this;
  }

  int32(n: number): this {
    this.#room(4);
    this.#at = this.#buffer.writeInt32BE(n, this.#at);
    return this;
  }

  int64(n: number): this {
    this.#room(8);
    this.#at = this.#buffer.writeBigInt64BE(BigInt(n), this.#at);
    return this;
  }

  string(text: string | null): this {
    if (text === null) return this.int16(-1);
    const bytes = Buffer.from(text);
    this.int16(bytes.length);
    return this.raw(bytes);
  }

  bytes(bytes: Uint8Array): this {
    this.int32(bytes.length);
    return this.raw(bytes);
  }

  array<T>(items: readonly T[], write: (item: T) => void): this {
    this.int32(items.length);
    for (const item of items) write(item);
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.#room(bytes.length);
    this.#buffer.set(bytes, this.#at);
    this.#at += bytes.length;
    return this;
  }

  done(): Buffer {
    return this.#buffer.subarray(0, this.#at);
  }

  #room(n: number): void {
    if (this.#at + n <= this.#buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.#buffer.length * 2, this.#at + n));
    this.#buffer.copy(grown, 0, 0, this.#at);
    this.#buffer = grown;
  }
}

/** Reads Kafka's primitive types from a response, in order. */
export class WireReader {
  readonly buffer: Buffer;
  at: number;

  constructor(buffer: Buffer, at = 0) {
    this.buffer = buffer;
    this.at = at;
  }

  int8(): number {
    return this.buffer.readInt8(this.at++);
  }

  int16(): number {
    const n = this.buffer.readInt16BE(this.at);
    this.at += 2;
    return n;
  }

  int32(): number {
    const n = this.buffer.readInt32BE(this.at);
    this.at += 4;
    return n;
  }

  /** An int64 as a number: offsets and timestamps stay far below 2^53. */
  int64(): number {
    const n = this.buffer.readInt16BE(this.at) * 2 ** 48 + this.buffer.readUIntBE(this.at + 2, 6);
    this.at += 8;
    return n;
  }

  string(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const text = this.buffer.toString("utf8", this.at, this.at + length);
    this.at += length;
    return text;
  }

  /** Bytes as a view of the response, or null. */
  bytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    const view = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return view;
  }

  array<T>(read: () => T): T[] {
    const length = this.int32();
    const items: T[] = [];
    for (let i = 0; i < length; i++) items.push(read());
    return items;
  }

  /** A zigzag varint (record lengths, deltas, key and value lengths). */
  varint(): number {
    const bytes = this.buffer;
    let at = this.at;
    let byte = bytes[at++];
    let result = byte & 0x7f;
    // arithmetic, not bit operations: a varlong (a timestamp delta) can pass 32 bits
    for (let scale = 0x80; byte & 0x80; scale *= 0x80) {
      byte = bytes[at++];
      result += (byte & 0x7f) * scale;
    }
    this.at = at;
    return result < 0x80000000
      ? (result >>> 1) ^ -(result & 1)
      : result % 2 === 0
      ? result / 2
      : -(result + 1) / 2;
  }

  /** Steps over bytes of a varint length (a record header: no view made). */
  skipVarintBytes(): void {
    const length = this.varint(); // before `this.at` is read: varint() moves it
    if (length > 0) this.at += length;
  }

  /** Bytes of a varint length as a view of the response, or null. */
  varintBytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    const view = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return view;
  }
}

/** Where a connection goes, and how it authenticates. */
export interface BrokerAddress {
  host: string;
  port: number;
}

/** `host:port` → its parts; a bracketed IPv6 host loses its brackets. */
export function brokerAddress(text: string): BrokerAddress {
  const colon = text.lastIndexOf(":");
  const port = Number(text.slice(colon + 1));
  if (colon < 1 || !Number.isInteger(port)) {
    throw new Error(`Kafka broker "${text}" is not host:port`);
  }
  return { host: text.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port };
}

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
  if (!theirs) throw new Error(`the Kafka broker does not offer ${name} requests`);
  const version = Math.min(theirs.max, ours.max);
  if (version < Math.max(theirs.min, ours.min)) {
    throw new Error(
      `the Kafka broker speaks ${name} v${theirs.min}-v${theirs.max} and cdc v${ours.min}-` +
        `v${ours.max}: none in common (cdc needs Kafka 2.x or later)`,
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

  /** Connects (TLS when `connection.ssl` is set) and authenticates (SASL, if set). */
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
        this.#fail(new Error(`${describe(this.address)} did not answer within ${timeoutMs} ms`));
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
    this.#fail(new Error(`connection to ${describe(this.address)} closed`));
    this.#socket?.destroy();
  }

  #connect(connection: KafkaConnection, timeoutMs: number): Promise<void> {
    const { host, port } = this.address;
    return new Promise((resolve, reject) => {
      const ssl = connection.ssl;
      const socket = ssl
        ? connectTls({
          host,
          port,
          ...(isIP(host) ? {} : { servername: host }),
          ...(ssl === true ? {} : { ca: ssl.ca }),
        })
        : connectTcp({ host, port });
      this.#socket = socket;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new Error(`connecting to ${describe(this.address)} timed out after ${timeoutMs} ms`),
        );
      }, timeoutMs);
      socket.once(ssl ? "secureConnect" : "connect", () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve();
      });
      socket.on("data", (chunk: Buffer) => this.#received(chunk));
      socket.on("error", (error: Error) => {
        clearTimeout(timer);
        const failed = new Error(`Kafka broker ${describe(this.address)}: ${error.message}`);
        reject(failed);
        this.#fail(failed);
      });
      socket.on("close", () => this.#fail(new Error(`${describe(this.address)} closed`)));
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

function describe({ host, port }: BrokerAddress): string {
  return `${host}:${port}`;
}

type Sasl = NonNullable<KafkaConnection["sasl"]>;

/** SASL over SaslHandshake v1 and SaslAuthenticate v0 (KIP-152). */
async function authenticate(broker: BrokerConnection, sasl: Sasl): Promise<void> {
  const mechanism = sasl.mechanism.toUpperCase();
  const handshake = new WireReader(
    await broker.request(API.saslHandshake, 1, new WireWriter().string(mechanism).done()),
  );
  const code = handshake.int16();
  if (code !== ERROR.none) {
    const offered = handshake.array(() => handshake.string()).join(", ");
    throw saslError(`the broker does not offer SASL ${mechanism} (it offers ${offered})`);
  }
  if (!("username" in sasl) || !("password" in sasl)) {
    throw saslError(`SASL ${mechanism} needs a user name and a password`);
  }
  const exchange = async (message: string): Promise<string> => {
    const reply = new WireReader(
      await broker.request(
        API.saslAuthenticate,
        0,
        new WireWriter().bytes(Buffer.from(message)).done(),
      ),
    );
    const error = reply.int16();
    const text = reply.string();
    if (error !== ERROR.none) throw saslError(text ?? `Kafka error code ${error}`);
    return reply.bytes()?.toString("utf8") ?? "";
  };
  if (mechanism === "PLAIN") {
    await exchange(`\0${sasl.username}\0${sasl.password}`);
    return;
  }
  const hash = mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512";
  const scram = new ScramClient(hash, sasl.username, sasl.password);
  const serverFirst = await exchange(scram.first());
  const serverFinal = await exchange(scram.final(serverFirst));
  scram.verify(serverFinal);
}

/** Named as kafkajs names it, so that retrying gives up on a refused login alike. */
function saslError(message: string): Error {
  const error = new Error(`SASL authentication failed: ${message}`);
  error.name = "KafkaJSSASLAuthenticationError";
  return error;
}

/** The client side of SCRAM (RFC 5802) with SHA-256 or SHA-512 (RFC 7677). */
export class ScramClient {
  readonly #hash: "sha256" | "sha512";
  readonly #user: string;
  readonly #password: string;
  readonly #nonce: string;
  #firstBare = "";
  #serverSignature?: Buffer;

  constructor(hash: "sha256" | "sha512", user: string, password: string, nonce?: string) {
    this.#hash = hash;
    this.#user = user;
    this.#password = password;
    this.#nonce = nonce ?? randomBytes(24).toString("base64");
  }

  /** The client-first message. */
  first(): string {
    const name = this.#user.replaceAll("=", "=3D").replaceAll(",", "=2C");
    this.#firstBare = `n=${name},r=${this.#nonce}`;
    return `n,,${this.#firstBare}`;
  }

  /** The client-final message, answering the server-first one. */
  final(serverFirst: string): string {
    const fields = new Map(serverFirst.split(",").map((f) => [f[0], f.slice(2)]));
    const nonce = fields.get("r") ?? "";
    const salt = Buffer.from(fields.get("s") ?? "", "base64");
    const iterations = Number(fields.get("i"));
    if (!nonce.startsWith(this.#nonce) || !salt.length || !(iterations > 0)) {
      throw saslError(`unexpected SCRAM server message "${serverFirst}"`);
    }
    const length = this.#hash === "sha256" ? 32 : 64;
    const salted = pbkdf2Sync(this.#password, salt, iterations, length, this.#hash);
    const clientKey = this.#hmac(salted, "Client Key");
    const storedKey = createHash(this.#hash).update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const message = `${this.#firstBare},${serverFirst},${withoutProof}`;
    const signature = this.#hmac(storedKey, message);
    const proof = clientKey.map((b, i) => b ^ signature[i]);
    this.#serverSignature = this.#hmac(this.#hmac(salted, "Server Key"), message);
    return `${withoutProof},p=${Buffer.from(proof).toString("base64")}`;
  }

  /** Checks the server-final message: the server knew the password too. */
  verify(serverFinal: string): void {
    if (serverFinal.startsWith("e=")) throw saslError(serverFinal.slice(2));
    const signature = Buffer.from(serverFinal.replace(/^v=/, ""), "base64");
    const expected = this.#serverSignature;
    if (
      !expected || signature.length !== expected.length || !timingSafeEqual(signature, expected)
    ) {
      throw saslError("the server's SCRAM signature does not match");
    }
  }

  #hmac(key: Uint8Array, text: string): Buffer {
    return createHmac(this.#hash, key).update(text).digest();
  }
}
