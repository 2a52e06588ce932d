/**
 * Debezium's transaction metadata (`provide.transaction.metadata=true`): a BEGIN and an END
 * record per source transaction on the topic `<prefix>.transaction`, END counting the
 * transaction's events per table ("data collection", `<database>.<table>` for MySQL), and
 * each change event's `transaction` block (lib/debezium/envelope.ts). END records come in
 * the source's commit order.
 *
 * @module
 */
import { BadInputError } from "../util/errors.ts";
import {
  AvroCursor,
  compileReader,
  undecodableAvro,
  UnsupportedSchemaError,
  type ValueReader,
} from "../avro/binary.ts";
import type { CompiledSchema } from "../avro/decoder.ts";
import { isRecord, namedTypes } from "../avro/schema.ts";

/** The topic of a connector's transaction markers: `<topic prefix>.transaction`. */
export function transactionTopic(topicPrefix: string): string {
  return `${topicPrefix}.transaction`;
}

/** The data collection a table's topic carries: `<prefix>.<database>.<table>` → `<database>.<table>`. */
export function dataCollectionOf(topicPrefix: string, topic: string): string {
  return topic.startsWith(`${topicPrefix}.`) ? topic.slice(topicPrefix.length + 1) : topic;
}

/** An END's count of a transaction's events in one data collection, as Debezium names it. */
export interface DataCollectionEvents {
  /** `<database>.<table>`. */
  data_collection: string;
  event_count: number | bigint;
}

/** A BEGIN or END record of a source transaction. */
export type TransactionMarker =
  | { status: "BEGIN"; id: string }
  | {
    status: "END";
    id: string;
    /** The transaction's events in all. */
    eventCount: number;
    /**
     * Its events per data collection: the decoded entries themselves (a backlog has an END per
     * source transaction; a map of them was garbage that `--transactions` paid for).
     */
    dataCollections: readonly DataCollectionEvents[];
  };

/** How many events of `collection` the END counts (0 when it names none). */
export function eventsOf(
  marker: Extract<TransactionMarker, { status: "END" }>,
  collection: string,
): number {
  let n = 0;
  for (const entry of marker.dataCollections) {
    if (entry.data_collection === collection) n += Number(entry.event_count);
  }
  return n;
}

/**
 * A decoded value of the transaction topic as a marker. Throws {@linkcode BadInputError} for a
 * value of another shape.
 */
export function transactionMarker(value: unknown): TransactionMarker {
  const record = value as Record<string, unknown> | null;
  const id = record?.id;
  if (typeof id !== "string") throw notMarker(value);
  if (record!.status === "BEGIN") return { status: "BEGIN", id };
  if (record!.status !== "END") throw notMarker(value);
  const collections = record!.data_collections;
  if (!Array.isArray(collections)) throw notMarker(value);
  for (const entry of collections as { data_collection?: unknown; event_count?: unknown }[]) {
    const count = entry?.event_count;
    if (
      typeof entry?.data_collection !== "string" ||
      (typeof count !== "number" && typeof count !== "bigint")
    ) {
      throw notMarker(value);
    }
  }
  return {
    status: "END",
    id,
    eventCount: Number(record!.event_count),
    dataCollections: collections as DataCollectionEvents[],
  };
}

/** The fields of a marker {@linkcode transactionMarker} reads. */
const MARKER_FIELDS: ReadonlySet<string> = new Set([
  "status",
  "id",
  "event_count",
  "data_collections",
]);

/**
 * Reads the markers written with `schema` (Confluent-framed record values of the transaction
 * topic) straight from their bytes, decoding only the fields a marker has: a backlog has two
 * markers per source transaction, and avsc's generic decoding of them was a tenth of the
 * garbage of `--transactions`. Undefined for a schema without a marker's `status` and `id` or
 * of a shape not read in place: such values take the decoder's way, to be told apart there.
 * Bad input throws {@linkcode BadInputError}.
 */
export function compileMarkerReader(
  schema: CompiledSchema,
): ((bytes: Uint8Array) => TransactionMarker) | undefined {
  const fields = isRecord(schema.schema) ? schema.schema.fields ?? [] : [];
  if (!["status", "id"].every((name) => fields.some((f) => f.name === name))) return undefined;
  let read: ValueReader;
  try {
    read = compileReader(schema.schema, namedTypes(schema.schema), { keep: MARKER_FIELDS });
  } catch (error) {
    if (error instanceof UnsupportedSchemaError) return undefined;
    throw error;
  }
  const cursor = new AvroCursor();
  return (bytes) => {
    let value;
    try {
      cursor.reset(bytes, 5);
      value = read(cursor);
      cursor.checkEnd();
    } catch (error) {
      throw undecodableAvro(error, schema.id, bytes.length - 5);
    }
    return transactionMarker(value);
  };
}

function notMarker(value: unknown): BadInputError {
  return new BadInputError(
    "not-debezium-envelope",
    `not a Debezium transaction marker (status BEGIN or END, id, data_collections): ${
      JSON.stringify(value, (_, v) => typeof v === "bigint" ? String(v) : v)?.slice(0, 200)
    }`,
  );
}
