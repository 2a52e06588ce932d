/**
 * Kafka's wire protocol, as much as `cdc` speaks itself: the API keys it uses and Kafka's
 * primitive types, written into request bodies and read from responses. The connection that
 * carries them is lib/kafka/broker.ts; the Fetch and Metadata requests, lib/kafka/fetch.ts.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** The API keys used here. */
export const API = {
  fetch: 1,
  metadata: 3,
  saslHandshake: 17,
  apiVersions: 18,
  saslAuthenticate: 36,
} as const;

/** `Fetch`, `Metadata`, ...: the APIs by key, for messages. */
export const API_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(API).map(([name, key]) => [key, name[0].toUpperCase() + name.slice(1)]),
);

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
