import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import { fetchRequestBody, parseFetchResponse, parseMetadataResponse } from "./kafka_fetch.ts";
import { WireReader, WireWriter } from "./kafka_wire.ts";

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

function fetchResponse(topic: string, partitions: TestPartition[]): Buffer {
  const body = new WireWriter().int32(0).int32(1).string(topic);
  body.array(partitions, (p) => {
    body.int32(p.partition ?? 0).int16(p.error ?? 0).int64(p.highWatermark ?? 100).int64(100);
    body.array(p.aborted ?? [], (a) => body.int64(a.producerId).int64(a.firstOffset));
    body.bytes(p.records);
  });
  return body.done();
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
  const [fetched] = parseFetchResponse(fetchResponse("t", [{ records }]), from(11));
  assert.deepEqual(
    [...fetched.records].map((r) => [r.offset, text(r.key), text(r.value)]),
    [[11, null, "v11"], [12, null, null], [13, null, "é 4-byte 😀"]],
  );
  assert.equal(fetched.nextOffset, 14);
  assert.equal(fetched.highWatermark, 100);
  assert.equal(fetched.error, 0);
});

Deno.test("parseFetchResponse: a batch cut off at the end waits for the next fetch", () => {
  const whole = batchBytes({ baseOffset: 0, records: [{ delta: 0, value: "a" }] });
  const cut = batchBytes({ baseOffset: 1, records: [{ delta: 0, value: "b".repeat(100) }] });
  for (const keep of [5, 30, cut.length - 1]) {
    const records = Buffer.concat([whole, cut.subarray(0, keep)]);
    const [fetched] = parseFetchResponse(fetchResponse("t", [{ records }]), from(0));
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
  const [fetched] = parseFetchResponse(
    fetchResponse("t", [{ records, aborted: [{ producerId: 7, firstOffset: 1 }] }]),
    from(0),
  );
  assert.deepEqual([...fetched.records].map((r) => text(r.value)), ["plain", "committed", "later"]);
  assert.equal(fetched.nextOffset, 7, "past the last marker");
});

Deno.test("parseFetchResponse: gzip batches are read; other codecs fail saying what to do", () => {
  const gzipped = batchBytes({
    baseOffset: 0,
    attributes: 1,
    compress: (b) => gzipSync(b),
    records: [{ delta: 0, value: "x" }, { delta: 1, value: "y" }],
  });
  const [fetched] = parseFetchResponse(fetchResponse("t", [{ records: gzipped }]), from(0));
  assert.deepEqual([...fetched.records].map((r) => text(r.value)), ["x", "y"]);

  const snappy = batchBytes({ baseOffset: 0, attributes: 2, records: [{ delta: 0, value: "x" }] });
  assert.throws(
    () => parseFetchResponse(fetchResponse("t", [{ records: snappy }]), from(0)),
    /t\[0\]: records compressed with snappy, which cdc cannot read; .*gzip or none/,
  );
});

Deno.test("parseFetchResponse: a partition's error comes without records", () => {
  const [ok, failed] = parseFetchResponse(
    fetchResponse("t", [
      { partition: 0, records: batchBytes({ baseOffset: 0, records: [{ delta: 0, value: "a" }] }) },
      { partition: 1, error: 1, records: new Uint8Array() },
    ]),
    new Map([["t/0", 0], ["t/1", 42]]),
  );
  assert.equal([...ok.records].length, 1);
  assert.deepEqual(
    [failed.partition, failed.error, [...failed.records], failed.count, failed.nextOffset],
    [1, 1, [], 0, 42],
  );
});

Deno.test("fetchRequestBody: partitions grouped by topic, read-committed, the limits", () => {
  const body = new WireReader(
    fetchRequestBody(
      [{ topic: "a", partition: 0, offset: 5 }, { topic: "b", partition: 2, offset: 2 ** 40 }, {
        topic: "a",
        partition: 1,
        offset: 0,
      }],
      { maxBytes: 4096, maxBytesPerPartition: 1024, maxWaitTimeInMs: 500 },
    ),
  );
  assert.deepEqual([body.int32(), body.int32(), body.int32(), body.int32(), body.int8()], [
    -1,
    500,
    1,
    4096,
    1,
  ]);
  const topics = body.array(() => [
    body.string(),
    body.array(() => [body.int32(), body.int64(), body.int32()]),
  ]);
  assert.deepEqual(topics, [["a", [[0, 5, 1024], [1, 0, 1024]]], ["b", [[2, 2 ** 40, 1024]]]]);
});

Deno.test("parseMetadataResponse: brokers, leaders, and topics in error", () => {
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
      for (let lists = 3; lists > 0; lists--) body.array([leader], (n) => body.int32(n));
    });
  });
  const layout = parseMetadataResponse(body.done());
  assert.deepEqual([...layout.brokers], [[1, { host: "k1", port: 9092 }], [2, {
    host: "k2",
    port: 9093,
  }]]);
  assert.deepEqual([...layout.leaders], [["t/0", 2]], "a partition without a leader has none");
  assert.deepEqual([...layout.topicErrors], [["gone", 3]]);
});
