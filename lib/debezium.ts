/**
 * The Debezium change event as `cdc` reads it: the envelope's fields, its
 * operation codes and the parts of its `source` block that locate a change.
 *
 * @module
 */

/** Debezium's operation codes: create, update, delete, snapshot read, truncate. */
export type Op = "c" | "u" | "d" | "r" | "t";

const OPS: ReadonlySet<string> = new Set<Op>(["c", "u", "d", "r", "t"]);

/** True for one of Debezium's operation codes. */
export function isOp(op: string): op is Op {
  return OPS.has(op);
}

/** The fields of a Debezium envelope that `cdc` reads, as avsc decodes them. */
export interface Envelope {
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  source?: Record<string, unknown> | null;
  op: string;
  ts_ms?: number | bigint | null;
}

/** Where a record sits in Kafka. */
export interface KafkaPosition {
  partition: number;
  offset: number;
}

/** `file:pos:row` of the binlog, and the GTID where present. */
export function sourcePosition(source: Record<string, unknown> | null | undefined): string | null {
  if (!source || source.file == null) return null;
  const position = `${source.file}:${source.pos ?? 0}:${source.row ?? 0}`;
  return source.gtid ? `${position} gtid=${source.gtid}` : position;
}

/**
 * Debezium marks the last read of a table's snapshot (`last_in_data_collection`)
 * and the last of the whole snapshot (`last`) in `source.snapshot`.
 */
export function isLastSnapshotRead(envelope: Envelope): boolean {
  const mark = envelope.source?.snapshot;
  return mark === "last" || mark === "last_in_data_collection";
}
