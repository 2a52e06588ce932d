/**
 * Debezium-shaped Avro envelope schemas for tests and the benchmark, built
 * the way Debezium's MySQL connector and Kafka Connect's Avro converter lay
 * them out (named Value record, optional before/after, source block, op, ts).
 *
 * @module
 */
import type { AvroComplexSchema, AvroField, AvroSchema } from "../avro/schema.ts";
import { compileAvro, type CompiledSchema } from "../avro/decoder.ts";

/** An optional field as Connect writes it: `["null", T]` with a null default. */
export function optional(name: string, type: AvroSchema): AvroField {
  return { name, type: ["null", type], default: null };
}

/** The `source` block of Debezium's MySQL/MariaDB connector. */
export const SOURCE_SCHEMA: AvroComplexSchema = {
  type: "record",
  name: "Source",
  namespace: "io.debezium.connector.mysql",
  fields: [
    { name: "version", type: "string" },
    { name: "connector", type: "string" },
    { name: "name", type: "string" },
    { name: "ts_ms", type: "long" },
    optional("snapshot", "string"),
    { name: "db", type: "string" },
    optional("sequence", "string"),
    optional("table", "string"),
    { name: "server_id", type: "long" },
    optional("gtid", "string"),
    { name: "file", type: "string" },
    { name: "pos", type: "long" },
    { name: "row", type: "int" },
    optional("thread", "long"),
    optional("query", "string"),
  ],
  "connect.name": "io.debezium.connector.mysql.Source",
};

/** The transaction topic's value schema, as the stack's Debezium 3.5 registers it. */
export const MARKER_SCHEMA: AvroComplexSchema = {
  type: "record",
  name: "TransactionMetadataValue",
  namespace: "io.debezium.connector.common",
  fields: [
    { name: "status", type: "string" },
    { name: "id", type: "string" },
    optional("event_count", "long"),
    optional("data_collections", {
      type: "array",
      items: ["null", {
        type: "record",
        name: "collection",
        namespace: "event",
        fields: [
          { name: "data_collection", type: "string" },
          { name: "event_count", type: "long" },
        ],
      }],
    }),
    { name: "ts_ms", type: "long" },
  ],
};

/** An envelope schema for `<prefix>.<db>.<table>` whose row has `fields`. */
export function envelopeSchema(
  prefix: string,
  db: string,
  table: string,
  fields: AvroField[],
): AvroComplexSchema {
  const namespace = `${prefix}.${db}.${table}`;
  return {
    type: "record",
    name: "Envelope",
    namespace,
    fields: [
      optional("before", {
        type: "record",
        name: "Value",
        fields,
        "connect.name": `${namespace}.Value`,
      }),
      optional("after", "Value"),
      { name: "source", type: SOURCE_SCHEMA },
      { name: "op", type: "string" },
      optional("ts_ms", "long"),
      optional("transaction", {
        type: "record",
        name: "block",
        namespace: "event",
        fields: [
          { name: "id", type: "string" },
          { name: "total_order", type: "long" },
          { name: "data_collection_order", type: "long" },
        ],
        "connect.version": 1,
        "connect.name": "event.block",
      }),
    ],
    "connect.version": 2,
    "connect.name": `${namespace}.Envelope`,
  };
}

/** A `source` value for an event at binlog position `pos`. */
export function sourceValue(table: string, pos: number, tsMs: number, gtid: string | null = null) {
  return {
    version: "3.x",
    connector: "mysql",
    name: "dbserver1",
    ts_ms: tsMs,
    snapshot: "false",
    db: "inventory",
    sequence: null,
    table,
    server_id: 1,
    gtid,
    file: "mysql-bin.000003",
    pos,
    row: 0,
    thread: null,
    query: null,
  };
}

/** `schema` as the decoder hands it over (id `id`), for plans compiled in tests. */
export function compiled(schema: AvroSchema, id = 1): CompiledSchema {
  return { id, schema, type: compileAvro(schema) };
}
