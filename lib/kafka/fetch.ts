/**
 * Kafka's Fetch and Metadata requests as `cdc` speaks them (the versions of
 * {@linkcode FETCH_VERSIONS} and {@linkcode METADATA_VERSIONS}): their bodies, and their
 * responses read in place, each record batch walked where it lies, each record an offset and
 * views of its key and value. A Kafka client's per-record objects (kafkajs: Buffers, headers,
 * offset and timestamp strings) cost three quarters of its CPU and made most of what the
 * stream's garbage collector promoted (BENCHMARKS.md). Pure: lib/kafka/fetcher.ts does the I/O.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { codecName, CODECS, decompress } from "./codecs.ts";
import type { BrokerAddress } from "./connection.ts";
import { ERROR, KafkaProtocolError } from "./errors.ts";
import type { PartitionPosition } from "./positions.ts";
import { errorMessage } from "../util/errors.ts";
import type { VersionRange } from "./broker.ts";
import { WireReader, WireWriter } from "./wire.ts";

/** One Kafka record, as views of the fetched bytes. */
export interface SourceRecord {
  offset: number;
  /** When the producer (or the broker, by the topic's settings) stamped it, in ms. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** One fetched batch of one partition. */
export interface SourceBatch {
  topic: string;
  partition: number;
  /** Offset of the next record the broker will write (for lag). */
  highWatermark: number;
  /**
   * The records in offset order, each read from the response as it is reached: a record
   * handled is garbage before the next scavenge, not a survivor of a whole response.
   */
  records: Iterable<SourceRecord>;
  /**
   * Where the partition goes on: after the last record, or past what followed it and is not
   * a record to hand on (a transaction's marker, an aborted transaction's records).
   */
  nextOffset: number;
}

/** How much a fetch asks for, and how long the broker may hold it when there is nothing. */
export interface FetchLimits {
  maxBytes: number;
  maxBytesPerPartition: number;
  maxWaitTimeInMs: number;
}

/** One partition's part of a fetch response. */
export interface PartitionFetch extends SourceBatch {
  /** Records in the batches read, any before the asked offset too: 0 when none is new. */
  count: number;
  error: number;
}

/**
 * The Fetch versions cdc speaks: v4 (read committed) to v11, the last before flexible
 * encodings (v12) and topic ids (v13); zstd batches need v10 or later.
 */
export const FETCH_VERSIONS: VersionRange = { min: 4, max: 11 };
/** The Metadata versions cdc speaks: v5 to v8, the last before flexible encodings. */
export const METADATA_VERSIONS: VersionRange = { min: 5, max: 8 };
/** Fetch isolation: only committed transactions' records (kafkajs's default too). */
const READ_COMMITTED = 1;

/** Record batch attributes. */
const COMPRESSION = 0x07;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
/** A record batch's header, up to and with its record count. */
const BATCH_HEADER = 61;
/** The control record that ends an aborted transaction. */
const ABORT_MARKER = 0;

/** The body of a Fetch request (`version` in {@linkcode FETCH_VERSIONS}) for `positions`. */
export function fetchRequestBody(
  positions: readonly PartitionPosition[],
  limits: FetchLimits,
  version: number,
): Buffer {
  const byTopic = Map.groupBy(positions, (p) => p.topic);
  const body = new WireWriter()
    .int32(-1) // replica id: a consumer
    .int32(limits.maxWaitTimeInMs)
    .int32(1) // min bytes: answer as soon as there is a record
    .int32(limits.maxBytes)
    .int8(READ_COMMITTED);
  if (version >= 7) body.int32(0).int32(-1); // no fetch session: every fetch says it all
  body.array([...byTopic], ([topic, partitions]) => {
    body.string(topic).array(partitions, ({ partition, offset }) => {
      body.int32(partition);
      if (version >= 9) body.int32(-1); // current leader epoch: not checked
      body.int64(offset);
      if (version >= 5) body.int64(-1); // log start offset: a follower's, not a consumer's
      body.int32(limits.maxBytesPerPartition);
    });
  });
  if (version >= 7) body.int32(0); // forgotten topics (of a session)
  if (version >= 11) body.string(""); // rack: no preference for a nearby replica
  return body.done();
}

/**
 * A Fetch response's partitions (`version` in {@linkcode FETCH_VERSIONS}), each with its
 * records from `from` (the offsets asked for, by `topic/partition`) on: control records and
 * aborted transactions' records left out, a batch cut off at the end of the response left
 * for the next fetch. Throws {@linkcode FetchedDataError} for records cdc cannot read.
 */
export function parseFetchResponse(
  body: Buffer,
  from: ReadonlyMap<string, number>,
  version: number,
): PartitionFetch[] {
  const reader = new WireReader(body);
  reader.int32(); // throttle time
  if (version >= 7) {
    const error = reader.int16();
    reader.int32(); // session id
    if (error !== ERROR.none) throw new KafkaProtocolError("fetching", error);
  }
  return fetchedPartitions(reader, from, version);
}

/**
 * A record batch cdc cannot read (corrupt, an unknown codec, an old record format): no retry
 * makes it readable, so the stream stops, saying where and what to do.
 */
export class FetchedDataError extends Error {
  constructor(where: string, offset: number, problem: string, todo: string) {
    super(`${where} at offset ${offset}: ${problem}; ${todo}`);
    this.name = "FetchedDataError";
  }
}

function fetchedPartitions(
  reader: WireReader,
  from: ReadonlyMap<string, number>,
  version: number,
): PartitionFetch[] {
  const fetched: PartitionFetch[] = [];
  for (let topics = reader.int32(); topics > 0; topics--) {
    const topic = reader.string() ?? "";
    for (let partitions = reader.int32(); partitions > 0; partitions--) {
      const partition = reader.int32();
      const error = reader.int16();
      const highWatermark = reader.int64();
      reader.int64(); // last stable offset
      if (version >= 5) reader.int64(); // log start offset
      const aborted = reader.array(() => ({
        producerId: reader.int64(),
        firstOffset: reader.int64(),
      }));
      if (version >= 11) reader.int32(); // preferred read replica: none asked for
      const size = reader.int32();
      const end = reader.at + Math.max(size, 0);
      const start = from.get(`${topic}/${partition}`) ?? 0;
      const { runs, nextOffset } = error === ERROR.none
        ? recordRuns(reader, end, start, aborted, `${topic}[${partition}]`)
        : { runs: [], nextOffset: start };
      reader.at = end;
      const count = runs.reduce((sum, run) => sum + run.count, 0);
      const records = readRecords(runs, start);
      fetched.push({ topic, partition, error, highWatermark, records, count, nextOffset });
    }
  }
  return fetched;
}

interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

/** The records of one record batch, still to be read. */
interface RecordRun {
  records: WireReader;
  baseOffset: number;
  /** The batch's first timestamp: each record's is a delta from it. */
  baseTimestamp: number;
  count: number;
}

/**
 * The complete record batches before `end` that hold records from offset `from` on: each
 * checked and decompressed, its records left for {@linkcode readRecords}.
 */
function recordRuns(
  reader: WireReader,
  end: number,
  from: number,
  aborted: AbortedTransaction[],
  where: string,
): { runs: RecordRun[]; nextOffset: number } {
  const runs: RecordRun[] = [];
  const pending = aborted.toSorted((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<number>();
  let nextOffset = from;
  const bytes = reader.buffer;
  while (reader.at + BATCH_HEADER <= end) {
    const at = reader.at;
    const batchEnd = at + 12 + bytes.readInt32BE(at + 8);
    if (batchEnd > end) break; // cut off: it comes whole with the next fetch
    const baseOffset = reader.int64();
    const magic = bytes.readInt8(at + 16);
    if (magic !== 2) {
      throw new FetchedDataError(
        where,
        baseOffset,
        `record format v${magic}, which cdc does not read`,
        "cdc reads record format v2 (written by Kafka 0.11 and later); rewrite the topic " +
          "with a current producer, or start past these records",
      );
    }
    const attributes = bytes.readInt16BE(at + 21);
    const lastOffset = baseOffset + bytes.readInt32BE(at + 23);
    const producerId = new WireReader(bytes, at + 43).int64();
    const count = bytes.readInt32BE(at + 57);
    reader.at = batchEnd;
    nextOffset = Math.max(nextOffset, lastOffset + 1);
    if (attributes & TRANSACTIONAL) {
      while (pending.length && pending[0].firstOffset <= lastOffset) {
        abortedProducers.add(pending.shift()!.producerId);
      }
    }
    if (attributes & CONTROL) {
      // a transaction's end: after an abort marker the producer's records count again
      const marker = batchRecords(bytes, at, batchEnd, attributes & COMPRESSION, where);
      if (controlType(marker) === ABORT_MARKER) abortedProducers.delete(producerId);
      continue;
    }
    if (lastOffset < from) continue;
    if (attributes & TRANSACTIONAL && abortedProducers.has(producerId)) continue;
    const records = batchRecords(bytes, at, batchEnd, attributes & COMPRESSION, where);
    const baseTimestamp = new WireReader(bytes, at + 27).int64();
    runs.push({ records, baseOffset, baseTimestamp, count });
  }
  return { runs, nextOffset };
}

/** The records of `runs` from offset `from` on, each read when it is reached. */
function* readRecords(runs: readonly RecordRun[], from: number): Generator<SourceRecord> {
  for (const { records: body, baseOffset, baseTimestamp, count } of runs) {
    for (let i = 0; i < count; i++) {
      body.varint(); // record length
      body.at++; // attributes
      const timestamp = baseTimestamp + body.varint();
      const offset = baseOffset + body.varint();
      const key = body.varintBytes();
      const value = body.varintBytes();
      for (let headers = body.varint(); headers > 0; headers--) {
        body.skipVarintBytes();
        body.skipVarintBytes();
      }
      if (offset >= from) yield { offset, timestamp, key, value };
    }
  }
}

/** The records of the batch at `at`, decompressed when they are. */
function batchRecords(
  bytes: Buffer,
  at: number,
  end: number,
  codec: number,
  where: string,
): WireReader {
  if (codec === 0) return new WireReader(bytes, at + BATCH_HEADER);
  try {
    return new WireReader(decompress(codec, bytes.subarray(at + BATCH_HEADER, end)));
  } catch (error) {
    const baseOffset = new WireReader(bytes, at).int64();
    throw codec < CODECS.length
      ? new FetchedDataError(
        where,
        baseOffset,
        `the ${codecName(codec)} record batch cannot be decompressed (${errorMessage(error)})`,
        "the batch is corrupt: look at it with kafka-dump-log.sh --deep-iteration on the " +
          "partition's segment; cdc cannot pass it by itself",
      )
      : new FetchedDataError(
        where,
        baseOffset,
        errorMessage(error),
        "cdc reads none, gzip, snappy, lz4 and zstd: have the producer or the topic " +
          "(compression.type) use one of them",
      );
  }
}

/** The type of a control batch's record: 0 abort, 1 commit (its key's second int16). */
function controlType(records: WireReader): number {
  records.varint(); // record length
  records.at++; // attributes
  records.varint(); // timestamp delta
  records.varint(); // offset delta
  const key = records.varintBytes();
  return key && key.length >= 4 ? key.readInt16BE(2) : -1;
}

/** Partition leaders and broker addresses, from a Metadata v5 response. */
export interface ClusterLayout {
  brokers: Map<number, BrokerAddress>;
  /** Leader node id by `topic/partition`; absent while a partition has none. */
  leaders: Map<string, number>;
  /** Error codes of topics the broker could not describe. */
  topicErrors: Map<string, number>;
}

/**
 * The body of a Metadata request (`version` in {@linkcode METADATA_VERSIONS}) for `topics`,
 * never creating one.
 */
export function metadataRequestBody(topics: readonly string[], version: number): Buffer {
  const body = new WireWriter();
  body.array(topics, (topic) => body.string(topic));
  body.int8(0); // allow auto topic creation: no
  if (version >= 8) body.int8(0).int8(0); // authorized operations: not asked for
  return body.done();
}

/** The brokers and leaders of a Metadata response (`version` in {@linkcode METADATA_VERSIONS}). */
export function parseMetadataResponse(body: Buffer, version: number): ClusterLayout {
  const reader = new WireReader(body);
  reader.int32(); // throttle time
  const brokers = new Map<number, BrokerAddress>();
  for (let n = reader.int32(); n > 0; n--) {
    const node = reader.int32();
    const host = reader.string() ?? "";
    const port = reader.int32();
    reader.string(); // rack
    brokers.set(node, { host, port });
  }
  reader.string(); // cluster id
  reader.int32(); // controller
  const leaders = new Map<string, number>();
  const topicErrors = new Map<string, number>();
  for (let topics = reader.int32(); topics > 0; topics--) {
    const error = reader.int16();
    const topic = reader.string() ?? "";
    reader.int8(); // internal
    if (error !== ERROR.none) topicErrors.set(topic, error);
    for (let partitions = reader.int32(); partitions > 0; partitions--) {
      reader.int16(); // the partition's error: its leader says enough
      const partition = reader.int32();
      const leader = reader.int32();
      if (version >= 7) reader.int32(); // leader epoch
      for (let lists = 3; lists > 0; lists--) reader.array(() => reader.int32());
      if (leader >= 0) leaders.set(`${topic}/${partition}`, leader);
    }
    if (version >= 8) reader.int32(); // topic authorized operations
  }
  return { brokers, leaders, topicErrors };
}
