/**
 * The stream's fetches: Fetch requests of its own to each partition's leader, the record
 * batches walked in place, each record an offset and views of its key and value. A Kafka
 * client's per-record objects (kafkajs: Buffers, headers, offset and timestamp strings) cost
 * three quarters of its CPU and made most of what the stream's garbage collector promoted
 * (BENCHMARKS.md). kafkajs still runs the consumer group, with every topic paused, and the
 * commits; lib/source.ts joins the two.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import type { KafkaConnection } from "./kafka.ts";
import { codecName, CODECS, decompress } from "./kafka_codecs.ts";
import { logger } from "./log.ts";
import type { PartitionPosition } from "./positions.ts";
import { delay, errorMessage } from "./retry.ts";
import {
  API,
  type BrokerAddress,
  brokerAddress,
  BrokerConnection,
  ERROR,
  KafkaProtocolError,
  type VersionRange,
  WireReader,
  WireWriter,
} from "./kafka_wire.ts";

const log = logger("source");

/** One Kafka record, as views of the fetched bytes. */
export interface SourceRecord {
  offset: number;
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
    runs.push({ records, baseOffset, count });
  }
  return { runs, nextOffset };
}

/** The records of `runs` from offset `from` on, each read when it is reached. */
function* readRecords(runs: readonly RecordRun[], from: number): Generator<SourceRecord> {
  for (const { records: body, baseOffset, count } of runs) {
    for (let i = 0; i < count; i++) {
      body.varint(); // record length
      body.at++; // attributes
      body.varint(); // timestamp delta
      const offset = baseOffset + body.varint();
      const key = body.varintBytes();
      const value = body.varintBytes();
      for (let headers = body.varint(); headers > 0; headers--) {
        body.skipVarintBytes();
        body.skipVarintBytes();
      }
      if (offset >= from) yield { offset, key, value };
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

/** Errors after which the partition's leader is looked up again before the next fetch. */
const STALE_LEADER: ReadonlySet<number> = new Set([
  ERROR.unknownTopicOrPartition,
  ERROR.leaderNotAvailable,
  ERROR.notLeaderOrFollower,
  ERROR.requestTimedOut,
  ERROR.replicaNotAvailable,
  ERROR.networkException,
  ERROR.kafkaStorageError,
  ERROR.fencedLeaderEpoch,
  ERROR.unknownLeaderEpoch,
]);

/** What a {@linkcode PartitionFetcher} needs around it. */
export interface FetcherOptions {
  connection: KafkaConnection;
  limits: FetchLimits;
  /** Hands a partition's records on; the next fetch of its leader waits for it. */
  handler(batch: SourceBatch): Promise<void>;
  /** The partition's earliest offset, when its position fell out of the log. */
  earliestOffset(topic: string, partition: number): Promise<number>;
  /** A failure it retries (a lost connection, a moved leader): for metrics and readiness. */
  retrying(error: Error): void;
  /** Fetching works again after failures. */
  recovered(): void;
  /** A failure that ends the stream. */
  fatal(error: Error): void;
}

/**
 * Fetches the assigned partitions from their leaders, one fetch loop per leader, and hands
 * each partition's records on in order. {@linkcode assign} sets the partitions and where to
 * read them from; {@linkcode stop} ends every loop.
 */
export class PartitionFetcher {
  readonly #options: FetcherOptions;
  /** The next offset to fetch, by `topic/partition`, of the assigned partitions. */
  #positions = new Map<string, PartitionPosition>();
  #layout?: ClusterLayout;
  #layoutStale = true;
  readonly #connections = new Map<number, Promise<BrokerConnection>>();
  readonly #loops = new Map<number, Promise<void>>();
  #stopped = false;
  #planning?: Promise<void>;
  /** Set when {@linkcode #plan} is asked for while it runs: it then runs once more. */
  #replan = false;
  #failures = 0;

  constructor(options: FetcherOptions) {
    this.#options = options;
  }

  /** The partitions to fetch from now on, from these offsets; loops start as needed. */
  assign(positions: readonly PartitionPosition[]): void {
    this.#positions = new Map(positions.map((p) => [`${p.topic}/${p.partition}`, { ...p }]));
    this.#plan();
  }

  /** Where the assigned partitions will be fetched from next. */
  positions(): PartitionPosition[] {
    return [...this.#positions.values()].map((p) => ({ ...p }));
  }

  /** Ends the loops (a handler under way finishes) and closes the connections. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const connection of this.#connections.values()) {
      connection.then((c) => c.close(), () => undefined);
    }
    await Promise.all(this.#loops.values());
  }

  /** Starts a loop for each leader of an assigned partition that has none (once at a time). */
  #plan(): void {
    if (this.#stopped) return;
    if (this.#planning) {
      this.#replan = true;
      return;
    }
    this.#planning = (async () => {
      do {
        this.#replan = false;
        while (!this.#stopped) {
          try {
            if (this.#layoutStale || !this.#leadersKnown()) await this.#refreshLayout();
            break;
          } catch (error) {
            if (!(await this.#backOff(error as Error))) return;
          }
        }
        for (const leader of new Set(this.#leaders().values())) {
          if (this.#loops.has(leader) || this.#stopped) continue;
          const loop = this.#loop(leader).finally(() => {
            this.#loops.delete(leader);
            this.#plan(); // its partitions may have moved to another leader
          });
          this.#loops.set(leader, loop);
        }
      } while (this.#replan && !this.#stopped);
    })().finally(() => {
      this.#planning = undefined;
      // asked for between the last check and now: a loop that ended meanwhile must start again
      if (this.#replan) this.#plan();
    });
  }

  #leaders(): Map<string, number> {
    const leaders = new Map<string, number>();
    for (const key of this.#positions.keys()) {
      const leader = this.#layout?.leaders.get(key);
      if (leader !== undefined) leaders.set(key, leader);
    }
    return leaders;
  }

  #leadersKnown(): boolean {
    return [...this.#positions.keys()].every((key) => this.#layout?.leaders.has(key));
  }

  async #refreshLayout(): Promise<void> {
    const topics = [...new Set([...this.#positions.values()].map((p) => p.topic))];
    let lastError: Error | undefined;
    // any broker answers: those known, then the bootstrap list
    const known = [...this.#layout?.brokers.keys() ?? []];
    const bootstrap = this.#options.connection.brokers.map(brokerAddress);
    for (const target of [...known, ...bootstrap]) {
      try {
        const connection = typeof target === "number"
          ? await this.#connection(target)
          : await BrokerConnection.open(target, this.#options.connection);
        const version = connection.version(API.metadata, METADATA_VERSIONS);
        const layout = parseMetadataResponse(
          await connection.request(API.metadata, version, metadataRequestBody(topics, version)),
          version,
        );
        if (typeof target !== "number") connection.close();
        this.#layout = layout;
        this.#layoutStale = false;
        if (!this.#leadersKnown()) {
          const errors = [...layout.topicErrors]
            .map(([topic, code]) => new KafkaProtocolError(`topic ${topic}`, code).message);
          throw new Error(
            `no leader yet for ${this.#leaderless().join(", ")}` +
              (errors.length ? ` (${errors.join("; ")})` : ""),
          );
        }
        return;
      } catch (error) {
        lastError = error as Error;
      }
    }
    throw lastError ?? new Error("no Kafka broker to ask for partition leaders");
  }

  #leaderless(): string[] {
    return [...this.#positions.keys()].filter((key) => !this.#layout?.leaders.has(key));
  }

  #connection(node: number): Promise<BrokerConnection> {
    let connection = this.#connections.get(node);
    if (!connection) {
      const address = this.#layout?.brokers.get(node);
      if (!address) return Promise.reject(new Error(`Kafka broker ${node} is not in the metadata`));
      connection = BrokerConnection.open(address, this.#options.connection);
      connection.catch(() => this.#connections.delete(node));
      this.#connections.set(node, connection);
    }
    return connection;
  }

  /** Fetches the partitions `leader` leads until none is left or the fetcher stops. */
  async #loop(leader: number): Promise<void> {
    while (!this.#stopped) {
      const mine = [...this.#leaders()].filter(([, node]) => node === leader)
        .map(([key]) => this.#positions.get(key)!);
      if (mine.length === 0) return;
      const asked = new Map(mine.map((p) => [`${p.topic}/${p.partition}`, p.offset]));
      try {
        const connection = await this.#connection(leader);
        const version = connection.version(API.fetch, FETCH_VERSIONS);
        const response = await connection.request(
          API.fetch,
          version,
          fetchRequestBody(mine, this.#options.limits, version),
        );
        for (const fetched of parseFetchResponse(response, asked, version)) {
          if (this.#stopped) return;
          await this.#handle(fetched, asked);
        }
        if (this.#failures > 0) {
          this.#failures = 0;
          this.#options.recovered();
        }
      } catch (error) {
        if (this.#stopped) return;
        if (
          error instanceof FetchedDataError ||
          error instanceof KafkaProtocolError && !STALE_LEADER.has(error.code)
        ) {
          return this.#fail(error);
        }
        this.#connections.get(leader)?.then((c) => c.close(), () => undefined);
        this.#connections.delete(leader);
        this.#layoutStale = true;
        // the leader may have moved: this loop ends, and planning starts the loops again
        await this.#backOff(error as Error);
        return;
      }
    }
  }

  /** One partition's part of a response: its records handed on, or its error handled. */
  async #handle(fetched: PartitionFetch, asked: ReadonlyMap<string, number>): Promise<void> {
    const key = `${fetched.topic}/${fetched.partition}`;
    const position = this.#positions.get(key);
    // reassigned meanwhile, or sought elsewhere: this response is not for it any more
    if (!position || position.offset !== asked.get(key)) return;
    switch (fetched.error) {
      case ERROR.none:
        // markers alone move the partition on too: its stored position then reaches its end
        if (fetched.count || fetched.nextOffset > position.offset) {
          await this.#options.handler(fetched);
        }
        position.offset = fetched.nextOffset;
        return;
      case ERROR.offsetOutOfRange: {
        const earliest = await this.#options.earliestOffset(fetched.topic, fetched.partition);
        log.warn(
          `${fetched.topic}[${fetched.partition}]: offset ${position.offset} is no longer in ` +
            `Kafka (retention or a recreated topic); going on from the earliest, ${earliest}`,
        );
        position.offset = earliest;
        return;
      }
      default:
        throw new KafkaProtocolError(
          `fetching ${fetched.topic}[${fetched.partition}]`,
          fetched.error,
        );
    }
  }

  /** Ends the fetching for good: the stream stops on `error`. */
  #fail(error: Error): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#options.fatal(error);
  }

  /** Waits before the next try (300 ms doubling to 10 s); false when stopped or fatal. */
  async #backOff(error: Error): Promise<boolean> {
    if (this.#stopped) return false;
    if (error.name === "KafkaJSSASLAuthenticationError") {
      this.#fail(error);
      return false;
    }
    this.#failures++;
    this.#options.retrying(error);
    const delayMs = Math.min(10_000, 300 * 2 ** Math.min(this.#failures - 1, 6));
    log.warn(`fetching from Kafka: ${errorMessage(error)}; retrying in ${delayMs} ms`);
    await delay(delayMs);
    return !this.#stopped;
  }
}
