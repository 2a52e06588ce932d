/**
 * Reading partitions from given offsets without a consumer group (`cdc tail`): cdc's own
 * fetches (lib/kafka/fetcher.ts), so tailing never joins, commits or moves anyone's offsets.
 *
 * @module
 */
import type { KafkaAdmin } from "./admin.ts";
import type { KafkaConnection } from "./connection.ts";
import type { SourceRecord } from "./fetch.ts";
import { PartitionFetcher } from "./fetcher.ts";
import { logger } from "../util/log.ts";
import { errorMessage } from "../util/errors.ts";

const log = logger("kafka");

/** A partition, where reading starts, and (unless following) the offset it ends before. */
export interface PartitionRange {
  topic: string;
  partition: number;
  start: number;
  end: number;
}

/** Hears each record; returns false to stop reading altogether. */
export type RecordVisitor = (
  topic: string,
  partition: number,
  record: SourceRecord,
) => Promise<boolean> | boolean;

/**
 * Reads `ranges` in offset order per partition, handing each record to `visit`: until every
 * range's end (or for ever, with `follow`), until `visit` returns false, or until `signal`
 * aborts. A partition whose start fell out of the log goes on from its earliest offset.
 */
export async function readRanges(
  connection: KafkaConnection,
  admin: KafkaAdmin,
  ranges: readonly PartitionRange[],
  visit: RecordVisitor,
  options: { follow: boolean; signal?: AbortSignal },
): Promise<void> {
  const open = new Map(
    ranges.filter((r) => options.follow || r.start < r.end)
      .map((r) => [`${r.topic}/${r.partition}`, r]),
  );
  if (open.size === 0) return;
  const done = Promise.withResolvers<void>();
  const fetcher = new PartitionFetcher({
    connection,
    limits: { maxBytes: 4 * 1024 * 1024, maxBytesPerPartition: 256 * 1024, maxWaitTimeInMs: 500 },
    handler: async ({ topic, partition, records, nextOffset }) => {
      const key = `${topic}/${partition}`;
      const range = open.get(key);
      if (!range) return;
      for (const record of records) {
        if (!options.follow && record.offset >= range.end) break;
        if (!await visit(topic, partition, record)) return done.resolve();
      }
      // past the range's end, markers and aborted records included
      if (!options.follow && nextOffset >= range.end) {
        open.delete(key);
        if (open.size === 0) done.resolve();
      }
    },
    earliestOffset: async (topic, partition) =>
      (await admin.watermarks([topic])).get(topic)?.find((p) => p.partition === partition)
        ?.earliest ?? 0,
    retrying: (error) => log.warn(`reading from Kafka: ${errorMessage(error)}; retrying`),
    recovered: () => undefined,
    fatal: (error) => done.reject(error),
  });
  const abort = () => done.resolve();
  options.signal?.addEventListener("abort", abort, { once: true });
  fetcher.assign([...open.values()].map(({ topic, partition, start }) => ({
    topic,
    partition,
    offset: start,
  })));
  try {
    await done.promise;
  } finally {
    options.signal?.removeEventListener("abort", abort);
    await fetcher.stop();
  }
}
