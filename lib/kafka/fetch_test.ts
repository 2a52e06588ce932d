import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { lz4Compress, snappyCompress } from "@platformatic/wasm-utils/bundled";
import {
  FETCH_VERSIONS,
  fetchRequestBody,
  METADATA_VERSIONS,
  parseFetchResponse,
  parseMetadataResponse,
} from "./fetch.ts";
import { WireReader, WireWriter } from "./wire.ts";

/** Kafka's unsigned varint of a zigzag-encoded integer. */
function varint(n: number): number[] {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  const bytes: number[] = [];
  while (z >= 0x80) {
    bytes.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  bytes.push(z);
  return bytes;
}

function varintBytes(bytes: Uint8Array | null): number[] {
  return bytes === null ? varint(-1) : [...varint(bytes.length), ...bytes];
}

interface TestRecord {
  delta: number;
  key?: string | null;
  value: string | null;
  headers?: [string, string][];
}

function recordBytes({ delta, key = null, value, headers = [] }: TestRecord): number[] {
  const utf8 = (text: string | null) => text === null ? null : new TextEncoder().encode(text);
  const body = [
    0, // attributes
    ...varint(delta * 10), // timestamp delta
    ...varint(delta), // offset delta
    ...varintBytes(utf8(key)),
    ...varintBytes(utf8(value)),
    ...varint(headers.length),
    ...headers.flatMap(([k, v]) => [...varintBytes(utf8(k)), ...varintBytes(utf8(v))]),
  ];
  return [...varint(body.length), ...body];
}

interface TestBatch {
  baseOffset: number;
  records: TestRecord[];
  attributes?: number;
  producerId?: number;
  /** Compress the records section this way (attributes' codec bits must say so). */
  compress?: (records: Uint8Array) => Uint8Array;
}

/** A record batch v2 as a broker sends it (CRC left 0: cdc does not check it). */
function batchBytes(batch: TestBatch): Buffer {
  const records = Uint8Array.from(batch.records.flatMap(recordBytes));
  const section = batch.compress ? batch.compress(records) : records;
  const lastDelta = Math.max(0, ...batch.records.map((r) => r.delta));
  const after = new WireWriter()
    .int32(0) // partition leader epoch
    .int8(2) // magic
    .int32(0) // crc
    .int16(batch.attributes ?? 0)
    .int32(lastDelta)
    .int64(1_700_000_000_000)
    .int64(1_700_000_000_000 + lastDelta * 10)
    .int64(batch.producerId ?? -1)
    .int16(0)
    .int32(-1)
    .int32(batch.records.length)
    .raw(section)
    .done();
  return new WireWriter().int64(batch.baseOffset).int32(after.length).raw(after).done();
}

/** A commit (1) or abort (0) marker of a producer's transaction. */
function markerBatch(baseOffset: number, producerId: number, type: 0 | 1): Buffer {
  const key = new WireWriter().int16(0).int16(type).done();
  const body = [
    0,
    ...varint(0),
    ...varint(0),
    ...varintBytes(key),
    ...varintBytes(new Uint8Array(6)),
    0,
  ];
  const record = [...varint(body.length), ...body];
  const batch = batchBytes({ baseOffset, records: [], attributes: 0x30, producerId });
  // a control batch holds one record: write its count and bytes into the empty batch
  const whole = Buffer.concat([batch, Uint8Array.from(record)]);
  whole.writeInt32BE(whole.length - 12, 8);
  whole.writeInt32BE(1, 57);
  return whole;
}

interface TestPartition {
  partition?: number;
  error?: number;
  highWatermark?: number;
  aborted?: { producerId: number; firstOffset: number }[];
  records: Uint8Array;
}

/** Every Fetch version cdc speaks. */
const FETCH = Array.from(
  { length: FETCH_VERSIONS.max - FETCH_VERSIONS.min + 1 },
  (_, i) => FETCH_VERSIONS.min + i,
);

/** A Fetch response of `version` as a broker lays it out. */
function fetchResponse(topic: string, partitions: TestPartition[], version: number): Buffer {
  const body = new WireWriter().int32(0);
  if (version >= 7) body.int16(0).int32(0); // error, session id
  body.int32(1).string(topic);
  body.array(partitions, (p) => {
    body.int32(p.partition ?? 0).int16(p.error ?? 0).int64(p.highWatermark ?? 100).int64(100);
    if (version >= 5) body.int64(0); // log start offset
    body.array(p.aborted ?? [], (a) => body.int64(a.producerId).int64(a.firstOffset));
    if (version >= 11) body.int32(-1); // preferred read replica
    body.bytes(p.records);
  });
  return body.done();
}

/**
 * Parses what a broker of every Fetch version would answer: each must agree. Returns the
 * newest version's (its records still to be read).
 */
function parseEvery(partitions: TestPartition[], asked: ReadonlyMap<string, number>) {
  const parse = (version: number) =>
    parseFetchResponse(fetchResponse("t", partitions, version), asked, version);
  const summary = (version: number) =>
    parse(version).map((f) => ({
      ...f,
      records: [...f.records].map((r) => [r.offset, text(r.key), text(r.value)]),
    }));
  const newest = summary(FETCH_VERSIONS.max);
  for (const version of FETCH) assert.deepEqual(summary(version), newest, `Fetch v${version}`);
  return parse(FETCH_VERSIONS.max);
}

const text = (b: Buffer | null) => b === null ? null : b.toString("utf8");
const from = (offset: number, partition = 0) => new Map([[`t/${partition}`, offset]]);

Deno.test("parseFetchResponse: records from the asked offset on, headers skipped", () => {
  const records = Buffer.concat([
    batchBytes({
      baseOffset: 10,
      records: [
        { delta: 0, key: "k10", value: "v10", headers: [["__debezium.context.taskId", "0"]] },
        { delta: 1, key: null, value: "v11" },
        { delta: 2, value: null },
      ],
    }),
    batchBytes({ baseOffset: 13, records: [{ delta: 0, value: "é 4-byte 😀" }] }),
  ]);
  const [fetched] = parseEvery([{ records }], from(11));
  assert.deepEqual(
    [...fetched.records].map((r) => [r.offset, text(r.key), text(r.value)]),
    [[11, null, "v11"], [12, null, null], [13, null, "é 4-byte 😀"]],
  );
  assert.equal(fetched.nextOffset, 14);
  assert.equal(fetched.highWatermark, 100);
  const [again] = parseEvery([{ records }], from(11));
  assert.deepEqual(
    [...again.records].map((r) => r.timestamp - 1_700_000_000_000),
    [10, 20, 0],
    "the batch's first timestamp plus each record's delta",
  );
  assert.equal(fetched.error, 0);
});

Deno.test("parseFetchResponse: a batch cut off at the end waits for the next fetch", () => {
  const whole = batchBytes({ baseOffset: 0, records: [{ delta: 0, value: "a" }] });
  const cut = batchBytes({ baseOffset: 1, records: [{ delta: 0, value: "b".repeat(100) }] });
  for (const keep of [5, 30, cut.length - 1]) {
    const records = Buffer.concat([whole, cut.subarray(0, keep)]);
    const [fetched] = parseEvery([{ records }], from(0));
    assert.deepEqual([...fetched.records].map((r) => r.offset), [0], `cut after ${keep} bytes`);
    assert.equal(fetched.nextOffset, 1);
  }
});

Deno.test("parseFetchResponse: control batches and aborted transactions are left out", () => {
  // one record of `producerId` in a transaction
  const inTransaction = (baseOffset: number, producerId: number, value: string) =>
    batchBytes({ baseOffset, attributes: 0x10, producerId, records: [{ delta: 0, value }] });
  const records = Buffer.concat([
    batchBytes({ baseOffset: 0, records: [{ delta: 0, value: "plain" }] }),
    inTransaction(1, 7, "aborted"),
    inTransaction(2, 8, "committed"),
    markerBatch(3, 7, 0),
    markerBatch(4, 8, 1),
    inTransaction(5, 7, "later"),
    markerBatch(6, 7, 1),
  ]);
  const [fetched] = parseEvery(
    [{ records, aborted: [{ producerId: 7, firstOffset: 1 }] }],
    from(0),
  );
  assert.deepEqual([...fetched.records].map((r) => text(r.value)), ["plain", "committed", "later"]);
  assert.equal(fetched.nextOffset, 7, "past the last marker");
});

/** xerial's snappy framing, as Kafka's Java clients write snappy: blocks behind a header. */
function xerialSnappy(bytes: Uint8Array): Uint8Array {
  const header = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1];
  const half = Math.floor(bytes.length / 2);
  const blocks = [bytes.subarray(0, half), bytes.subarray(half)].map((b) =>
    snappyCompress(Buffer.from(b))
  );
  const framed = new WireWriter().raw(Uint8Array.from(header));
  for (const block of blocks) framed.int32(block.length).raw(block);
  return framed.done();
}

Deno.test("parseFetchResponse: batches of every codec are read", () => {
  const codecs: [number, string, (b: Uint8Array) => Uint8Array][] = [
    [1, "gzip", (b) => gzipSync(b)],
    [2, "snappy (raw)", (b) => snappyCompress(Buffer.from(b))],
    [2, "snappy (xerial)", xerialSnappy],
    [3, "lz4", (b) => lz4Compress(Buffer.from(b))],
    [4, "zstd", (b) => zstdCompressSync(b)],
  ];
  const values = Array.from({ length: 50 }, (_, i) => `value ${i} ${"é😀".repeat(i)}`);
  for (const [codec, name, compress] of codecs) {
    const records = batchBytes({
      baseOffset: 0,
      attributes: codec,
      compress,
      records: values.map((value, delta) => ({ delta, value })),
    });
    const [fetched] = parseEvery([{ records }], from(0));
    assert.deepEqual([...fetched.records].map((r) => text(r.value)), values, name);
  }
});

Deno.test("parseFetchResponse: a batch that cannot be read names where, the codec and what to do", () => {
  const corrupt = batchBytes({
    baseOffset: 40,
    attributes: 3,
    compress: () => Uint8Array.from([4, 0x22, 0x4d, 0x18, 1, 2, 3]),
    records: [{ delta: 0, value: "x" }],
  });
  assert.throws(
    () => parseEvery([{ records: corrupt }], from(40)),
    /^FetchedDataError: t\[0\] at offset 40: the lz4 record batch cannot be decompressed \(.*\); the batch is corrupt: .*kafka-dump-log/,
  );
  const unknown = batchBytes({ baseOffset: 7, attributes: 5, records: [{ delta: 0, value: "x" }] });
  assert.throws(
    () => parseEvery([{ records: unknown }], from(7)),
    /t\[0\] at offset 7: codec 5 is not a Kafka codec .*; cdc reads none, gzip, snappy, lz4 and zstd/,
  );
});

Deno.test("parseFetchResponse: a partition's error comes without records", () => {
  const [ok, failed] = parseEvery([
    { partition: 0, records: batchBytes({ baseOffset: 0, records: [{ delta: 0, value: "a" }] }) },
    { partition: 1, error: 1, records: new Uint8Array() },
  ], new Map([["t/0", 0], ["t/1", 42]]));
  assert.equal([...ok.records].length, 1);
  assert.deepEqual(
    [failed.partition, failed.error, [...failed.records], failed.count, failed.nextOffset],
    [1, 1, [], 0, 42],
  );
});

Deno.test("fetchRequestBody: partitions grouped by topic, read-committed, the limits", () => {
  const positions = [
    { topic: "a", partition: 0, offset: 5 },
    { topic: "b", partition: 2, offset: 2 ** 40 },
    { topic: "a", partition: 1, offset: 0 },
  ];
  const limits = { maxBytes: 4096, maxBytesPerPartition: 1024, maxWaitTimeInMs: 500 };
  for (const version of FETCH) {
    const body = new WireReader(fetchRequestBody(positions, limits, version));
    const head = [body.int32(), body.int32(), body.int32(), body.int32(), body.int8()];
    assert.deepEqual(head, [-1, 500, 1, 4096, 1], `v${version}`);
    if (version >= 7) assert.deepEqual([body.int32(), body.int32()], [0, -1], "no session");
    const topics = body.array(() => [
      body.string(),
      body.array(() => {
        const partition = body.int32();
        if (version >= 9) assert.equal(body.int32(), -1, "leader epoch");
        const offset = body.int64();
        if (version >= 5) assert.equal(body.int64(), -1, "log start offset");
        return [partition, offset, body.int32()];
      }),
    ]);
    assert.deepEqual(topics, [["a", [[0, 5, 1024], [1, 0, 1024]]], ["b", [[2, 2 ** 40, 1024]]]]);
    if (version >= 7) assert.equal(body.int32(), 0, "forgotten topics");
    if (version >= 11) assert.equal(body.string(), "", "rack");
    assert.equal(body.at, body.buffer.length, `v${version}: nothing left over`);
  }
});

Deno.test("parseMetadataResponse: brokers, leaders, and topics in error", () => {
  for (let version = METADATA_VERSIONS.min; version <= METADATA_VERSIONS.max; version++) {
    const body = new WireWriter().int32(0);
    body.array([[1, "k1", 9092], [2, "k2", 9093]] as const, ([node, host, port]) => {
      body.int32(node).string(host).int32(port).string(null);
    });
    body.string("cluster").int32(1);
    body.array([["t", 0], ["gone", 3]] as const, ([topic, error]) => {
      body.int16(error).string(topic).int8(0);
      const partitions = error ? [] : [[0, 2], [1, -1]];
      body.array(partitions, ([partition, leader]) => {
        body.int16(0).int32(partition).int32(leader);
        if (version >= 7) body.int32(5); // leader epoch
        for (let lists = 3; lists > 0; lists--) body.array([leader], (n) => body.int32(n));
      });
      if (version >= 8) body.int32(-2147483648); // topic authorized operations
    });
    if (version >= 8) body.int32(-2147483648); // cluster authorized operations
    const layout = parseMetadataResponse(body.done(), version);
    assert.deepEqual([...layout.brokers], [[1, { host: "k1", port: 9092 }], [2, {
      host: "k2",
      port: 9093,
    }]]);
    assert.deepEqual([...layout.leaders], [["t/0", 2]], "a partition without a leader has none");
    assert.deepEqual([...layout.topicErrors], [["gone", 3]], `v${version}`);
  }
});
