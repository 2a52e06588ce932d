/**
 * What reading a backlog would cost without a Kafka client's per-record objects: reads `n`
 * records of partition 0 of a topic on the stack's single broker with bare Fetch v4 requests
 * over one socket, walking each record batch in place (an offset, a timestamp and views of key
 * and value per record; headers skipped, as `cdc stream` ignores them), and prints the wall and
 * CPU time it took, as tests/bench/kafka_read.ts does for kafkajs. A measuring instrument for
 * issue 13, not a client: no groups, no leader changes, no compression, no TLS or SASL.
 *
 *   deno run -A --v8-flags=<the binary's V8 flags>,--trace-gc-nvp tests/bench/raw_fetch_read.ts \
 *     perf200k.perf200k.items 200000 | deno run tests/bench/gc_summary.ts
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";
import { FETCH_LIMITS } from "../../lib/source.ts";
import { BOOTSTRAP } from "../../tools/stack/config.ts";
import { readBenchArgs, reportRead } from "./source.ts";

/** One record as a fetch path would hand it on: nothing copied out of the response. */
interface RawRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

const FETCH = 1;
const FETCH_VERSION = 4;
const CLIENT_ID = Buffer.from("cdc-raw-fetch");
/** Record batch attributes: the codec's bits, and the flag of transaction markers. */
const COMPRESSION = 0x07;
const CONTROL = 0x20;

/** Sends Kafka requests one at a time and resolves each with its response's body. */
class BrokerSocket {
  #socket: Socket;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #waiting?: (body: Buffer) => void;
  #correlation = 0;

  constructor(host: string, port: number) {
    this.#socket = connect({ host, port, noDelay: true });
    this.#socket.on("data", (chunk: Buffer) => this.#received(chunk));
  }

  request(apiKey: number, version: number, body: Buffer): Promise<Buffer> {
    const header = Buffer.alloc(14 + CLIENT_ID.length);
    header.writeInt32BE(10 + CLIENT_ID.length + body.length, 0);
    header.writeInt16BE(apiKey, 4);
    header.writeInt16BE(version, 6);
    header.writeInt32BE(++this.#correlation, 8);
    header.writeInt16BE(CLIENT_ID.length, 12);
    CLIENT_ID.copy(header, 14);
    this.#socket.write(Buffer.concat([header, body]));
    return new Promise((resolve) => this.#waiting = resolve);
  }

  close(): void {
    this.#socket.destroy();
  }

  #received(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered < 4) return;
    const first = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
    const size = first.readInt32BE(0);
    if (this.#buffered < 4 + size) {
      this.#chunks = [first];
      return;
    }
    // one request in flight: nothing follows its response
    this.#chunks = [];
    this.#buffered = 0;
    this.#waiting?.(first.subarray(8, 4 + size)); // past the size and the correlation id
  }
}

function fetchRequest(topic: string, offset: number): Buffer {
  const name = Buffer.from(topic);
  const body = Buffer.alloc(4 + 4 + 4 + 4 + 1 + 4 + 2 + name.length + 4 + 4 + 8 + 4);
  let at = body.writeInt32BE(-1, 0); // replica id: a consumer
  at = body.writeInt32BE(FETCH_LIMITS.maxWaitTimeInMs, at);
  at = body.writeInt32BE(1, at); // min bytes
  at = body.writeInt32BE(FETCH_LIMITS.maxBytes, at);
  at = body.writeInt8(0, at); // read uncommitted, as kafkajs's default
  at = body.writeInt32BE(1, at);
  at = body.writeInt16BE(name.length, at);
  at += name.copy(body, at);
  at = body.writeInt32BE(1, at);
  at = body.writeInt32BE(0, at); // partition
  at = body.writeBigInt64BE(BigInt(offset), at);
  body.writeInt32BE(FETCH_LIMITS.maxBytesPerPartition, at);
  return body;
}

/** Walks a Fetch v4 response of one topic and partition, handing each record on. */
class FetchResponseReader {
  #bytes: Buffer;
  #at = 0;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  records(from: number, each: (record: RawRecord) => void): number {
    const b = this.#bytes;
    this.#at = 4; // throttle time
    this.#at += 4 + 2 + b.readInt16BE(this.#at + 4) + 4; // one topic: count, name, partitions
    const error = b.readInt16BE(this.#at + 4);
    if (error !== 0) throw new Error(`fetch: Kafka error code ${error}`);
    this.#at += 4 + 2 + 8 + 8;
    const aborted = b.readInt32BE(this.#at);
    this.#at += 4 + Math.max(aborted, 0) * 16;
    const end = this.#at + 4 + b.readInt32BE(this.#at);
    this.#at += 4;
    let next = from;
    // a response may end in a partial batch: it comes whole in the next fetch
    while (this.#at + 61 <= end) {
      const batchEnd = this.#at + 12 + b.readInt32BE(this.#at + 8);
      if (batchEnd > end) break;
      const attributes = b.readInt16BE(this.#at + 21);
      if (attributes & COMPRESSION) throw new Error("compressed batches are not read here");
      const baseOffset = Number(b.readBigInt64BE(this.#at));
      const baseTimestamp = Number(b.readBigInt64BE(this.#at + 27));
      const count = b.readInt32BE(this.#at + 57);
      this.#at += 61;
      for (let i = 0; i < count; i++) {
        this.#varint(); // record length
        this.#at++; // attributes
        const timestamp = baseTimestamp + this.#varint();
        const offset = baseOffset + this.#varint();
        const key = this.#bytesView();
        const value = this.#bytesView();
        for (let h = this.#varint(); h > 0; h--) {
          this.#bytesView(); // key
          this.#bytesView(); // value
        }
        if (offset >= from && !(attributes & CONTROL)) {
          each({ offset, timestamp, key, value });
          next = offset + 1;
        }
      }
      this.#at = batchEnd;
    }
    return next;
  }

  /** A zigzag varint (lengths, deltas): small enough for a double here. */
  #varint(): number {
    let result = 0;
    let shift = 0;
    let byte;
    do {
      byte = this.#bytes[this.#at++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }

  #bytesView(): Uint8Array | null {
    const length = this.#varint();
    if (length < 0) return null;
    const view = this.#bytes.subarray(this.#at, this.#at + length);
    this.#at += length;
    return view;
  }
}

const { topic, count } = readBenchArgs("raw_fetch_read.ts");
const [host, port] = BOOTSTRAP.split(":");
const broker = new BrokerSocket(host, Number(port));
const started = performance.now();
let read = 0;
let offset = 0;
let checksum = 0; // touches each record, as a consumer would
while (read < count) {
  const response = await broker.request(FETCH, FETCH_VERSION, fetchRequest(topic, offset));
  offset = new FetchResponseReader(response).records(offset, (record) => {
    read++;
    checksum += record.value?.length ?? 0;
  });
}
reportRead(read, started);
console.error(`${checksum} value bytes`);
broker.close();
Deno.exit(0);
