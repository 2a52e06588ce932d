import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { envelopeSchema, optional, sourceValue } from "../debezium/testing.ts";
import { rowCount, type SinkBatch } from "../sink/batch.ts";
import {
  compileAvro,
  type CompiledSchema,
  decodeAvroPayload,
  type DecodedValue,
} from "../avro/decoder.ts";
import { BadInputError } from "../util/errors.ts";
import { positionList, type Positions, type SourceBatch } from "../kafka/mod.ts";
import { BadRecordError, MAX_PARKED, Pipeline, PREPARED_AT_ONCE, statusLine } from "./pipeline.ts";
import type {
  PipelineObserver,
  PipelineOptions,
  PositionCommitter,
  RecordDecoder,
  StreamStats,
} from "./stages.ts";
import type { BatchWriter } from "../sink/writer.ts";
import { DEFAULT_MAPPING_OPTIONS } from "../debezium/type_mapping.ts";

const stats: StreamStats = {
  consumed: 1200,
  snapshotRows: 1000,
  rowsWritten: 1150,
  tombstones: 3,
  skipped: 1,
  deadLettered: 0,
  alreadyWritten: 40,
  batches: 2,
  transactions: 0,
  forcedTransactions: 0,
};

Deno.test("statusLine: counters, and the time a backlog takes to drain at the current rate", () => {
  assert.equal(
    statusLine(stats, 100, 30_000),
    "1200 events (100.0/s), 1150 rows written in 2 batches, lag 30000 (~5 min to drain at this rate), " +
      "1000 snapshot reads, 3 tombstones, 1 skipped, 0 dead-lettered, 40 already written",
  );
  assert.match(statusLine(stats, 100, 50), /lag 50 \(~1 s to drain/);
  assert.match(statusLine(stats, 1, 100_000), /lag 100000 \(~27\.8 h to drain/);
  assert.match(
    statusLine(stats, 0, 50),
    /lag 50, 1000 snapshot reads/,
    "no estimate without a rate",
  );
  assert.match(statusLine(stats, 100, 0), /lag 0, /);
});

// ---- the pipeline, on in-memory stages ----

const SCHEMA = envelopeSchema("p", "db", "t", [
  { name: "id", type: "int" },
  optional("name", "string"),
]);
const COMPILED: CompiledSchema = { id: 1, schema: SCHEMA, type: compileAvro(SCHEMA) };
const encoder = new TextEncoder();

/** Record values are JSON envelopes; anything else is bad input, as undecodable Avro is. */
class JsonDecoder implements RecordDecoder {
  schemaOf(): Promise<CompiledSchema> {
    return Promise.resolve(COMPILED);
  }
  knownSchemaOf(): CompiledSchema {
    return COMPILED;
  }
  latestSchema(): Promise<CompiledSchema> {
    return Promise.resolve(COMPILED);
  }
  decode(bytes: Uint8Array): Promise<DecodedValue> {
    try {
      return Promise.resolve(this.decodeKnown(bytes));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  decodeKnown(bytes: Uint8Array): DecodedValue {
    try {
      return { schema: COMPILED, value: JSON.parse(new TextDecoder().decode(bytes)) };
    } catch (error) {
      throw new BadInputError("undecodable-avro", (error as Error).message);
    }
  }
}

/** A promise settled from outside. */
function deferred(): { promise: Promise<void>; resolve(): void; reject(e: Error): void } {
  let resolve!: () => void, reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => [resolve, reject] = [res, rej]);
  return { promise, resolve, reject };
}

/** Keeps every batch; a test may hold writes back or make them fail. */
class MemoryWriter implements BatchWriter {
  readonly tables: string[] = [];
  readonly batches: SinkBatch[] = [];
  started = 0;
  hold?: ReturnType<typeof deferred>;
  failWith?: Error;
  /** Tables whose preparation waits until the promise settles. */
  readonly preparing = new Map<string, Promise<void>>();
  ensureTable(table: string): Promise<void> {
    this.tables.push(table);
    return this.preparing.get(table) ?? Promise.resolve();
  }
  async write(batch: SinkBatch): Promise<void> {
    this.started++;
    if (this.hold) await this.hold.promise;
    if (this.failWith) throw this.failWith;
    this.batches.push(batch);
  }
  /** The `id`s written, batch by batch. */
  ids(): unknown[][] {
    return this.batches.map((b) => b.tables.flatMap((t) => t.rows.map((r) => r[0])));
  }
}

class MemoryCommitter implements PositionCommitter {
  readonly commits: [string, number, number][][] = [];
  commit(positions: Positions): Promise<void> {
    this.commits.push(positionList(positions).map((p) => [p.topic, p.partition, p.offset]));
    return Promise.resolve();
  }
}

const event = (id: number, op = "c") =>
  encoder.encode(JSON.stringify({
    op,
    before: null,
    after: { id, name: `n${id}` },
    source: null,
    ts_ms: 1_700_000_000_000,
  }));

const TOPIC = "p.db.t";

function batchOf(offsets: number[], value = (o: number) => event(o) as Uint8Array | null) {
  return {
    topic: TOPIC,
    partition: 0,
    highWatermark: Math.max(...offsets) + 1,
    records: offsets.map((offset) => {
      const bytes = value(offset);
      return { offset, timestamp: 0, key: null, value: bytes && Buffer.from(bytes) };
    }),
    nextOffset: Math.max(...offsets) + 1,
  };
}

/**
 * Hands `batch` to `pipeline` and waits until it is handled: a partition parked for a new
 * plan (the first record of a schema) included.
 */
async function handle(pipeline: Pipeline, batch: SourceBatch): Promise<void> {
  const parked = await pipeline.handleBatch(batch);
  await parked?.resumed;
}

function pipelineWith(options: Partial<PipelineOptions> = {}, observer?: PipelineObserver) {
  const writer = new MemoryWriter();
  const committer = new MemoryCommitter();
  let clock = 0;
  const pipeline = new Pipeline({
    tables: new Map([[TOPIC, "t_cdc"]]),
    batchSize: 1000,
    flushMs: 0,
    onError: "fail",
    mapping: DEFAULT_MAPPING_OPTIONS,
    now: () => clock,
    ...options,
  }, { decoder: new JsonDecoder(), writer, committer, observer });
  return { pipeline, writer, committer, advance: (ms: number) => clock += ms };
}

Deno.test("Pipeline skips records below the stored position and resumes right after it", async () => {
  const { pipeline, writer, committer } = pipelineWith();
  pipeline.seed(new Map([[TOPIC, new Map([[0, 5]])]]));
  await handle(pipeline, batchOf([3, 4, 5, 6]));
  await pipeline.flush();
  assert.deepEqual(writer.ids(), [[5, 6]]);
  assert.deepEqual(committer.commits, [[[TOPIC, 0, 7]]]);
  assert.equal(pipeline.stats.alreadyWritten, 2);
  // a redelivered batch (after a rebalance) is skipped as a whole
  await handle(pipeline, batchOf([5, 6]));
  await pipeline.flush();
  assert.equal(writer.batches.length, 1);
  assert.equal(pipeline.stats.alreadyWritten, 4);
});

Deno.test("Pipeline: a transaction's marker after the records moves the position past it", async () => {
  const { pipeline, writer, committer } = pipelineWith();
  // offsets 0-1 records, 2 the commit marker; then a fetch of a marker alone (3)
  await handle(pipeline, { ...batchOf([0, 1]), nextOffset: 3 });
  await handle(pipeline, { ...batchOf([]), highWatermark: 4, nextOffset: 4 });
  await pipeline.flush();
  assert.deepEqual(writer.ids().flat(), [0, 1]);
  assert.deepEqual(committer.commits.at(-1), [[TOPIC, 0, 4]]);
  assert.deepEqual(pipeline.partitionLag(), [{ topic: TOPIC, partition: 0, lag: 0 }]);
});

Deno.test("Pipeline: dead letters and skips advance positions; tombstones are counted", async () => {
  const bad = (o: number) => o === 1 ? encoder.encode("not json") : o === 2 ? null : event(o);
  for (const onError of ["dead-letter", "skip"] as const) {
    const { pipeline, writer } = pipelineWith({ onError });
    await handle(pipeline, batchOf([0, 1, 2, 3], bad));
    await pipeline.flush();
    const [batch] = writer.batches;
    assert.deepEqual(writer.ids(), [[0, 3]], onError);
    assert.deepEqual([...batch.positions.get(TOPIC)!], [[0, 4]], onError);
    assert.equal(batch.deadLetters.length, onError === "dead-letter" ? 1 : 0);
    assert.equal(pipeline.stats.tombstones, 1);
    if (onError === "dead-letter") {
      assert.equal(batch.deadLetters[0].offset, 1);
      assert.equal(batch.deadLetters[0].reason, "undecodable-avro");
      assert.equal(pipeline.stats.deadLettered, 1);
    } else assert.equal(pipeline.stats.skipped, 1);
  }
});

Deno.test("Pipeline under --on-error fail: stops at the bad record; rows before it stay writable", async () => {
  const { pipeline, writer } = pipelineWith();
  await assert.rejects(
    () => handle(pipeline, batchOf([0, 1, 2], (o) => o === 1 ? encoder.encode("{") : event(o))),
    (e: unknown) =>
      e instanceof BadRecordError &&
      /topic p\.db\.t, partition 0, offset 1 \(undecodable-avro\)/.test(e.message),
  );
  await pipeline.flush();
  assert.deepEqual(writer.ids(), [[0]]);
  assert.deepEqual(
    [...writer.batches[0].positions.get(TOPIC)!],
    [[0, 1]],
    "not past the bad record",
  );
});

Deno.test("Pipeline: a create without its after image is a bad record, not an all-NULL row", async () => {
  const { pipeline, writer } = pipelineWith({ onError: "dead-letter" });
  const noAfter = encoder.encode(
    JSON.stringify({ op: "c", before: null, after: null, source: null }),
  );
  await handle(pipeline, batchOf([0, 1], (o) => o === 0 ? noAfter : event(o)));
  await pipeline.flush();
  assert.deepEqual(writer.ids(), [[1]]);
  assert.equal(writer.batches[0].deadLetters[0].reason, "missing-row-image");
});

Deno.test("Pipeline writes at once when idle, and grows the next batch while a write is in flight", async () => {
  const { pipeline, writer } = pipelineWith({ batchSize: 1000, flushMs: 0 });
  writer.hold = deferred();
  await handle(pipeline, batchOf([0, 1, 2]));
  assert.equal(writer.started, 1, "no write in flight: the fetched records are written at once");
  await handle(pipeline, batchOf([3, 4]));
  await handle(pipeline, batchOf([5]));
  assert.equal(writer.started, 1, "while a write is in flight, the next batch grows");
  writer.hold.resolve();
  await waitUntil(() => writer.batches.length === 2);
  assert.deepEqual(writer.ids(), [[0, 1, 2], [3, 4, 5]], "written when the first is done");
});

Deno.test("Pipeline decodes the next batch while a write is in flight, timer ticks or not", async () => {
  const { pipeline, writer } = pipelineWith({ batchSize: 1000, flushMs: 0 });
  writer.hold = deferred();
  await handle(pipeline, batchOf([0, 1, 2]));
  assert.equal(writer.started, 1);
  const ticked = pipeline.flushIfDue();
  let handled = false;
  const next = handle(pipeline, batchOf([3, 4])).then(() => handled = true);
  await waitUntil(() => handled);
  assert.equal(writer.started, 1, "the second batch is buffered, not written, meanwhile");
  writer.hold.resolve();
  await Promise.all([ticked, next]);
  await waitUntil(() => writer.batches.length === 2);
  assert.deepEqual(writer.ids(), [[0, 1, 2], [3, 4]]);
});

Deno.test("Pipeline with --flush-ms waits until a partial batch is that old", async () => {
  const { pipeline, writer, advance } = pipelineWith({ flushMs: 500 });
  await handle(pipeline, batchOf([0]));
  advance(499);
  await handle(pipeline, batchOf([1]));
  await pipeline.flushIfDue();
  assert.equal(writer.started, 0, "not yet 500 ms old");
  advance(1);
  await pipeline.flushIfDue();
  await pipeline.flush();
  assert.deepEqual(writer.ids(), [[0, 1]]);
});

Deno.test("Pipeline cuts batches at --batch-size", async () => {
  const { pipeline, writer } = pipelineWith({ batchSize: 2 });
  await handle(pipeline, batchOf([0, 1, 2, 3, 4]));
  await pipeline.flush();
  assert.deepEqual(writer.ids(), [[0, 1], [2, 3], [4]]);
});

Deno.test("Pipeline keeps one write in flight and commits what is written after it is", async () => {
  const { pipeline, writer, committer } = pipelineWith({ batchSize: 1 });
  writer.hold = deferred();
  const handled = handle(pipeline, batchOf([0, 1, 2]));
  await waitUntil(() => writer.started === 1);
  // the second batch waits for the first write, however long that takes
  for (let i = 0; i < 100; i++) await Promise.resolve();
  assert.equal(writer.started, 1);
  assert.equal(committer.commits.length, 0, "nothing committed before the write landed");
  writer.hold.resolve();
  await handled;
  await pipeline.flush();
  assert.deepEqual(writer.ids(), [[0], [1], [2]]);
  // commits run beside the writes: what was written meanwhile goes with the next one
  const committed = committer.commits.map((c) => c[0][2]);
  assert.deepEqual(committed, [...committed].sort((a, b) => a - b), "never backwards");
  assert.equal(committed.at(-1), 3);
});

Deno.test("Pipeline does not hold the next write for a slow commit to the group", async () => {
  const { pipeline, writer, committer } = pipelineWith({ batchSize: 1 });
  const kafka = deferred();
  const commit = committer.commit.bind(committer);
  committer.commit = (positions) => kafka.promise.then(() => commit(positions));
  await handle(pipeline, batchOf([0, 1, 2]));
  await waitUntil(() => writer.batches.length === 3);
  assert.equal(committer.commits.length, 0, "the first commit still waits for Kafka");
  kafka.resolve();
  await pipeline.flush();
  // the first commit, then one for the two batches written while it waited
  assert.deepEqual(committer.commits.map((c) => c[0][2]), [1, 3]);
});

Deno.test("Pipeline surfaces a failed write at the next flush, and commits nothing of it", async () => {
  const { pipeline, writer, committer } = pipelineWith({ batchSize: 2 });
  writer.failWith = new Error("server gone");
  await handle(pipeline, batchOf([0, 1]));
  await assert.rejects(() => pipeline.flushIfDue(), /server gone/);
  assert.equal(committer.commits.length, 0);
});

Deno.test("Pipeline stopped mid-batch handles no further record; the final flush ends at the last one handled", async () => {
  const writer = new MemoryWriter();
  const decoder = new JsonDecoder();
  // stop while the second record is being decoded, as a signal would
  const stopAtSecond = (bytes: Uint8Array) => {
    if (JSON.parse(new TextDecoder().decode(bytes)).after.id === 1) stopping.stop();
  };
  const stopping = new Pipeline({
    tables: new Map([[TOPIC, "t_cdc"]]),
    batchSize: 1000,
    flushMs: 1000,
    onError: "fail",
    mapping: DEFAULT_MAPPING_OPTIONS,
  }, {
    decoder: {
      schemaOf: () => decoder.schemaOf(),
      knownSchemaOf: () => decoder.knownSchemaOf(),
      latestSchema: () => decoder.latestSchema(),
      decode: (bytes) => (stopAtSecond(bytes), decoder.decode(bytes)),
      decodeKnown: (bytes) => (stopAtSecond(bytes), decoder.decodeKnown(bytes)),
    },
    writer,
    committer: new MemoryCommitter(),
  });
  await stopping.handleBatch(batchOf([0, 1, 2, 3]));
  await stopping.handleBatch(batchOf([4]));
  await stopping.flush();
  assert.deepEqual(writer.ids(), [[0, 1]]);
  assert.deepEqual([...writer.batches[0].positions.get(TOPIC)!], [[0, 2]]);
  assert.equal(stopping.stats.consumed, 2);
});

/** Lets queued promise callbacks run until `condition` holds (bounded). */
async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await Promise.resolve();
  assert.ok(condition(), "condition never held");
}

/** Notes every observer call, as a line. */
class RecordingObserver implements PipelineObserver {
  readonly calls: string[] = [];
  consumed(topic: string, op: string): void {
    this.calls.push(`consumed ${topic} ${op}`);
  }
  buffered(table: string, sourceTsMs: number | undefined): void {
    this.calls.push(`buffered ${table} ${sourceTsMs}`);
  }
  badRecord(topic: string, action: string, reason: string): void {
    this.calls.push(`bad ${topic} ${action} ${reason}`);
  }
  writing(batch: SinkBatch): (error?: unknown) => void {
    this.calls.push(`writing ${batch.tables.map((t) => t.rows.length)}`);
    return (error) => this.calls.push(error ? `failed ${error}` : "written");
  }
}

Deno.test("Pipeline tells its observer each record's op, bad records, and how each write ended", async () => {
  const observer = new RecordingObserver();
  const { pipeline, writer } = pipelineWith({ onError: "skip", batchSize: 2 }, observer);
  const withSource = (o: number) =>
    o === 1 ? encoder.encode("{") : o === 2 ? null : encoder.encode(JSON.stringify({
      op: o === 0 ? "r" : "d",
      before: { id: o, name: null },
      after: o === 0 ? { id: o, name: null } : null,
      source: { ts_ms: 1_700_000_000_000 + o },
    }));
  await handle(pipeline, batchOf([0, 1, 2, 3], withSource));
  writer.failWith = new Error("gone");
  await handle(pipeline, batchOf([4]));
  await pipeline.flush().catch(() => undefined);
  assert.deepEqual(observer.calls, [
    `consumed ${TOPIC} r`,
    "buffered t_cdc 1700000000000",
    `consumed ${TOPIC} bad`,
    `bad ${TOPIC} skip undecodable-avro`,
    `consumed ${TOPIC} tombstone`,
    `consumed ${TOPIC} d`,
    "buffered t_cdc 1700000000003",
    "writing 2",
    "written",
    `consumed ${TOPIC} c`,
    "buffered t_cdc undefined",
    "writing 1",
    "failed Error: gone",
  ]);
});

Deno.test("Pipeline.partitionLag: the broker's end offset minus the next offset, per partition", async () => {
  const { pipeline } = pipelineWith();
  pipeline.seed(new Map([[TOPIC, new Map([[1, 7]])]]));
  await handle(pipeline, { ...batchOf([0, 1]), highWatermark: 10 });
  await handle(pipeline, { ...batchOf([7]), partition: 1, highWatermark: 8 });
  assert.deepEqual(pipeline.partitionLag(), [
    { topic: TOPIC, partition: 0, lag: 8 },
    { topic: TOPIC, partition: 1, lag: 0 },
  ]);
  assert.equal(pipeline.lag, 8);
});

// ---- with bulk loading: rows go into the batch as LOAD DATA lines, from the events' bytes ----

/** Confluent-framed Avro of COMPILED (id 1), decoded as the stream's decoder does. */
class FramedDecoder extends JsonDecoder {
  override decodeKnown(bytes: Uint8Array): DecodedValue {
    if (bytes[0] !== 0) throw new BadInputError("not-confluent-framing", "no magic byte");
    return { schema: COMPILED, value: decodeAvroPayload(COMPILED, bytes.subarray(5)) };
  }
}

/** A create event of `id` with `name`; `badUtf8`: the name's two bytes made invalid UTF-8. */
const framedEvent = (id: number, name: string, badUtf8 = false) => {
  const avro = COMPILED.type.toBuffer({
    op: "c",
    before: null,
    after: { id, name },
    source: sourceValue("t", id, 1_700_000_000_000),
    ts_ms: 1_700_000_000_000,
    transaction: null,
  });
  if (badUtf8) avro.set([0xc3, 0x28], avro.indexOf(Buffer.from(name)));
  return Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), avro]);
};

Deno.test("Pipeline with bulk loading: each event becomes its LOAD DATA line, bad ones none", async () => {
  const writer = Object.assign(new MemoryWriter(), { bulkLoad: "ignore" as const });
  const committer = new MemoryCommitter();
  const pipeline = new Pipeline({
    tables: new Map([[TOPIC, "t_cdc"]]),
    batchSize: 1000,
    flushMs: 0,
    onError: "skip",
    mapping: DEFAULT_MAPPING_OPTIONS,
  }, { decoder: new FramedDecoder(), writer, committer });
  const values: Record<number, Buffer> = {
    0: framedEvent(0, "plain"),
    1: framedEvent(1, "tab\there"),
    2: framedEvent(2, "zz", true), // not UTF-8: a bad record, skipped
    3: framedEvent(3, "ünï"),
  };
  await handle(pipeline, batchOf([0, 1, 2, 3], (o) => values[o]));
  await pipeline.flush();
  const [batch] = writer.batches;
  const [table] = batch.tables;
  assert.deepEqual(table.rows, [], "no values buffered: lines only");
  const lines = Buffer.concat(table.text!.chunks()).toString("utf8").trimEnd().split("\n");
  assert.deepEqual(
    lines.map((l) => l.split("\t").slice(0, 3)),
    [["0", "plain", "c"], ["1", "tab\\there", "c"], ["3", "ünï", "c"]],
  );
  assert.deepEqual(
    lines.map((l) => l.split("\t").slice(-2)),
    [["0", "0"], ["0", "1"], ["0", "3"]],
    "partition and offset",
  );
  assert.equal(pipeline.stats.skipped, 1);
  assert.deepEqual(committer.commits, [[[TOPIC, 0, 4]]]);
});

// ---- with --transactions: source transactions join the batch whole, in commit order ----

/** The transaction topic and a second table's topic. */
const T = "p.transaction", B = "p.db.b";

/**
 * A pipeline over the tables t and b, applying source transactions whole when asked (with one
 * source time each, `oneInstant`), into a writer that bulk-loads when `bulkLoad` is given.
 */
function twoTables(
  transactions = false,
  oneInstant = false,
  bulkLoad?: "ignore",
  decoder: JsonDecoder = new JsonDecoder(),
) {
  const writer = Object.assign(new MemoryWriter(), { bulkLoad });
  const pipeline = new Pipeline({
    tables: new Map([[TOPIC, "t_cdc"], [B, "b_cdc"]]),
    batchSize: 1000,
    flushMs: 0,
    onError: "fail",
    mapping: DEFAULT_MAPPING_OPTIONS,
    ...(transactions
      ? {
        transactions: {
          topic: T,
          topicOf: new Map([["db.t", TOPIC], ["db.b", B]]),
          maxHeldBytes: 1 << 20,
          timeoutMs: 60_000,
          oneInstant,
        },
      }
      : {}),
  }, { decoder, writer, committer: new MemoryCommitter() });
  return { pipeline, writer };
}

/** A create of row `id`, a change of source transaction `tx` (none: null). */
const txChange = (id: number, tx: string | null, order = 1) =>
  encoder.encode(JSON.stringify({
    op: "c",
    before: null,
    after: { id, name: `n${id}` },
    source: null,
    ts_ms: 1_700_000_000_000,
    transaction: tx && { id: tx, total_order: order, data_collection_order: order },
  }));

const json = (value: unknown) => encoder.encode(JSON.stringify(value));

/** The END marker of transaction `id`: one change of t and one of b. */
const endOf = (id: string) =>
  json({
    status: "END",
    id,
    event_count: 2,
    data_collections: [{ data_collection: "db.t", event_count: 1 }, {
      data_collection: "db.b",
      event_count: 1,
    }],
  });

Deno.test("Pipeline with transactions: a transaction over two tables is written whole, positions after it", async () => {
  const { pipeline, writer } = twoTables(true);
  const change = txChange;
  const batch = (topic: string, offsets: number[], value: (o: number) => Uint8Array) => ({
    ...batchOf(offsets, value),
    topic,
  });
  // a snapshot read passes; then x's change of t waits for its change of b and its END
  await handle(pipeline, batch(TOPIC, [0, 1], (o) => o === 0 ? change(0, null) : change(1, "x")));
  await pipeline.flush();
  assert.deepEqual(writer.ids(), [[0]]);
  await handle(pipeline, batch(T, [0], () => json({ status: "BEGIN", id: "x" })));
  await handle(pipeline, batch(B, [0], () => change(10, "x")));
  await pipeline.flush();
  const rows = () => writer.ids().filter((ids) => ids.length > 0);
  assert.deepEqual(rows(), [[0]], "x is not whole before its END");
  await handle(
    pipeline,
    batch(T, [1], () => endOf("x")),
  );
  await pipeline.flush();
  assert.deepEqual(rows(), [[0], [1, 10]]);
  const positions = writer.batches.map((b) =>
    positionList(b.positions).map((p) => `${p.topic}:${p.offset}`).sort()
  );
  assert.deepEqual(positions, [
    [`${TOPIC}:1`], // the snapshot read's, not past x's change
    // (past x's BEGIN alone is no batch: a write of its own would make markers of its own)
    [`${B}:1`, `${TOPIC}:2`, `${T}:2`],
  ]);
  assert.deepEqual([pipeline.stats.transactions, pipeline.stats.forcedTransactions], [1, 0]);
});

Deno.test("Pipeline with transactions and one source time: rows are values, where the writer bulk-loads too", async () => {
  // scd2 versions start at a row's source time: a transaction's rows get its latest, which is
  // set on values (rows buffered as LOAD DATA text kept their own, and "as of" an instant between
  // two of its statements' seconds showed part of it)
  // changes as framed Avro (read as lines where the writer bulk-loads), markers as JSON
  const decoder = new (class extends FramedDecoder {
    override decodeKnown(bytes: Uint8Array): DecodedValue {
      return bytes[0] === 0 ? super.decodeKnown(bytes) : new JsonDecoder().decodeKnown(bytes);
    }
  })();
  const { pipeline, writer } = twoTables(true, true, "ignore", decoder);
  const change = (id: number, second: number) =>
    Buffer.concat([
      Buffer.from([0, 0, 0, 0, 1]),
      COMPILED.type.toBuffer({
        op: "c",
        before: null,
        after: { id, name: `n${id}` },
        source: sourceValue("t", id, 1_700_000_000_000 + second * 1000),
        ts_ms: 1_700_000_000_000,
        transaction: { id: "x", total_order: id, data_collection_order: 1 },
      }),
    ]);
  await handle(pipeline, batchOf([0], () => change(1, 0)));
  await handle(pipeline, { ...batchOf([0], () => change(2, 1)), topic: B });
  await handle(pipeline, { ...batchOf([0], () => endOf("x")), topic: T });
  await pipeline.flush();
  const tables = writer.batches.flatMap((b) => b.tables).filter((t) => rowCount(t) > 0);
  assert.deepEqual(tables.map((t) => t.text), [undefined, undefined], "held as values");
  assert.deepEqual(
    tables.map((t) => t.rows.map((r) => r[t.layout.sourceTs])).flat(),
    ["2023-11-14 22:13:21.000", "2023-11-14 22:13:21.000"],
  );
});

Deno.test("Pipeline with transactions: an idle writer does not wait for the end of a long run of markers", async () => {
  const { pipeline, writer } = twoTables(true);
  const n = 600;
  const offsets = Array.from({ length: n }, (_, o) => o);
  await handle(pipeline, batchOf(offsets, (o) => txChange(o, `x${o}`)));
  await handle(pipeline, { ...batchOf(offsets, (o) => txChange(1000 + o, `x${o}`)), topic: B });
  await handle(pipeline, { ...batchOf(offsets, (o) => endOf(`x${o}`)), topic: T });
  await pipeline.flush();
  const written = writer.ids().filter((ids) => ids.length > 0);
  assert.equal(written.flat().length, 2 * n, "every transaction, whole");
  assert.ok(
    written[0].length < 2 * n,
    `the first write began before the last END was read (it held ${written[0].length} rows)`,
  );
  assert.equal(written[0].length % 2, 0, "whole transactions only");
});

// ---- a partition parked while its table is prepared ----

/** The offsets each batch took per topic, as `topic:next offset`, sorted. */
const positionsOf = (writer: MemoryWriter) =>
  writer.batches.map((b) => positionList(b.positions).map((p) => `${p.topic}:${p.offset}`).sort());

Deno.test("Pipeline: a partition waiting for its table parks alone; the others are written meanwhile", async () => {
  const { pipeline, writer } = twoTables();
  const ddl = deferred();
  writer.preparing.set("t_cdc", ddl.promise);
  // t's first record waits for t_cdc: the batch is taken, the partition parked
  const parked = await pipeline.handleBatch(batchOf([0, 1, 2]));
  assert.ok(parked, "t's partition is parked");
  let resumed = false;
  parked.resumed.then(() => resumed = true);
  // b's table is ready at once: its rows are written while t's wait
  await handle(pipeline, { ...batchOf([0, 1]), topic: B });
  await pipeline.flush();
  assert.deepEqual(writer.ids(), [[0, 1]]);
  assert.deepEqual(positionsOf(writer), [[`${B}:2`]], "t's position stays before its record 0");
  assert.equal(resumed, false);
  ddl.resolve();
  await parked.resumed;
  await pipeline.flush();
  assert.deepEqual(writer.ids().at(-1), [0, 1, 2], "t's records in order, once t_cdc is ready");
  assert.deepEqual(positionsOf(writer).at(-1), [`${TOPIC}:3`]);
  assert.equal(pipeline.stats.consumed, 5);
});

Deno.test("Pipeline: a parked record's bad input goes by --on-error; a failed preparation stops", async () => {
  const { pipeline, writer } = pipelineWith({ onError: "dead-letter" });
  const ddl = deferred();
  writer.preparing.set("t_cdc", ddl.promise);
  const parked = await pipeline.handleBatch(
    batchOf([0, 1, 2], (o) => o === 1 ? encoder.encode("not json") : event(o)),
  );
  ddl.resolve();
  await parked!.resumed;
  await pipeline.flush();
  assert.deepEqual(writer.ids().flat(), [0, 2]);
  assert.deepEqual(writer.batches.flatMap((b) => b.deadLetters.map((d) => d.offset)), [1]);
  assert.deepEqual(positionsOf(writer).at(-1), [`${TOPIC}:3`]);

  const failing = pipelineWith();
  const fatal: Error[] = [];
  failing.pipeline.start((error) => fatal.push(error));
  failing.writer.preparing.set("t_cdc", Promise.reject(new Error("DDL refused")));
  const stuck = await failing.pipeline.handleBatch(batchOf([0, 1]));
  await assert.rejects(() => stuck!.resumed, /DDL refused/);
  failing.pipeline.stop();
  await failing.pipeline.flush();
  assert.deepEqual(fatal.map((e) => e.message), ["DDL refused"]);
  assert.deepEqual(
    failing.writer.ids(),
    [],
    "nothing of the parked partition, no position past it",
  );
  assert.equal(failing.writer.batches.length, 0);
});

Deno.test("Pipeline with transactions: a change parked for its table still joins its transaction in commit order", async () => {
  const { pipeline, writer } = twoTables(true);
  const change = txChange;
  const end = endOf;
  // x (committed first) and y each change t and b; t waits for its table
  const ddl = deferred();
  writer.preparing.set("t_cdc", ddl.promise);
  const parked = await pipeline.handleBatch({
    ...batchOf([0, 1], (o) => change(o, o === 0 ? "x" : "y")),
  });
  assert.ok(parked);
  await handle(pipeline, {
    ...batchOf([0, 1], (o) => change(10 + o, o === 0 ? "x" : "y")),
    topic: B,
  });
  // the markers wait for the parked changes: handled before them, they would only hold them up
  let markersRead = false;
  const markers = handle(pipeline, {
    ...batchOf(
      [0, 1, 2, 3],
      (o) =>
        o % 2 === 0 ? json({ status: "BEGIN", id: o === 0 ? "x" : "y" }) : end(o === 1 ? "x" : "y"),
    ),
    topic: T,
  }).then(() => markersRead = true);
  await pipeline.flush();
  assert.deepEqual(writer.ids().flat(), [], "neither is whole while t's changes are parked");
  assert.equal(markersRead, false, "the markers wait while t's changes are parked");
  ddl.resolve();
  await parked.resumed;
  await markers;
  await pipeline.flush();
  assert.deepEqual(writer.ids().flat().sort(), [0, 1, 10, 11]);
  // x's two rows before y's, table by table: t's 0 before 1, b's 10 before 11
  const rows = writer.batches.flatMap((b) =>
    b.tables.flatMap((t) => t.rows.map((r) => `${t.table}:${r[0]}`))
  );
  assert.deepEqual(rows.filter((r) => r.startsWith("t_cdc")), ["t_cdc:0", "t_cdc:1"]);
  assert.deepEqual(rows.filter((r) => r.startsWith("b_cdc")), ["b_cdc:10", "b_cdc:11"]);
  assert.equal(pipeline.stats.transactions, 2);
  assert.equal(pipeline.stats.forcedTransactions, 0);
});

Deno.test("Pipeline: past MAX_PARKED partitions waiting for their tables, the source is held until one resumes", async () => {
  const topics = Array.from({ length: MAX_PARKED + 1 }, (_, i) => `p.db.t${i}`);
  const writer = new MemoryWriter();
  const pipeline = new Pipeline({
    tables: new Map(topics.map((topic, i) => [topic, `t${i}_cdc`])),
    batchSize: 1000,
    flushMs: 0,
    onError: "fail",
    mapping: DEFAULT_MAPPING_OPTIONS,
  }, { decoder: new JsonDecoder(), writer, committer: new MemoryCommitter() });
  const ddl = topics.map(() => deferred());
  ddl.forEach((d, i) => writer.preparing.set(`t${i}_cdc`, d.promise));
  const parked = [];
  for (const topic of topics.slice(0, MAX_PARKED - 1)) {
    parked.push(await pipeline.handleBatch({ ...batchOf([0]), topic }));
  }
  // the last one with room: its batch is taken, and the next is held
  let held = true;
  const last = pipeline.handleBatch({ ...batchOf([0]), topic: topics[MAX_PARKED - 1] })
    .finally(() => held = false);
  await waitUntil(() => writer.tables.length === PREPARED_AT_ONCE);
  for (let i = 0; i < 100; i++) await Promise.resolve();
  assert.equal(held, true, `${MAX_PARKED} partitions parked: the source waits`);
  ddl[0].resolve();
  await parked[0]!.resumed;
  await last;
  assert.equal(held, false, "one resumed: the source goes on");
  ddl.forEach((d) => d.resolve());
  await Promise.all([...parked, await last].map((p) => p?.resumed));
  await handle(pipeline, { ...batchOf([0]), topic: topics[MAX_PARKED] });
  await pipeline.flush();
  assert.equal(writer.ids().flat().length, MAX_PARKED + 1);
});
