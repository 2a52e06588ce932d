/**
 * Map: a decoded Debezium change event → one `_cdc` row.
 *
 * The row image is `after` for create/update/read and `before` for delete;
 * truncate carries no image. Metadata columns follow (SPEC section 3).
 * A plan is compiled once per schema id and then applied per event.
 *
 * @module
 */
import type { AvroRecordSchema, AvroSchema } from "./avro_schema.ts";
import { isRecord, namedTypes, unwrapOptional } from "./avro_schema.ts";
import { BadInputError } from "./decode.ts";
import type { ColumnDef } from "./dialect.ts";
import { METADATA_COLUMNS } from "./dialect.ts";
import type { ColumnMapping, MappingOptions, SqlValue } from "./type_mapping.ts";
import {
  DEFAULT_MAPPING_OPTIONS,
  formatDateTimeMillis,
  mapField,
  UnmappableTypeError,
} from "./type_mapping.ts";

/** Debezium's operation codes. */
export type Op = "c" | "u" | "d" | "r" | "t";

const OPS = new Set<string>(["c", "u", "d", "r", "t"]);

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

/** The columns and the row function for one envelope schema. */
export interface RowPlan {
  /** Source columns, in source order; metadata columns are added by the dialect. */
  columns: readonly ColumnDef[];
  /** All column names of a row, source then metadata, in value order. */
  columnNames: readonly string[];
  /** The `_cdc` row for one event, values in `columnNames` order. */
  toRow(envelope: Envelope, position: KafkaPosition): SqlValue[];
}

/** Finds the row record (`Value`) inside a Debezium envelope schema. */
function rowRecord(
  schema: AvroSchema,
): { record: AvroRecordSchema; names: ReturnType<typeof namedTypes> } {
  const names = namedTypes(schema);
  if (!isRecord(schema)) {
    throw new BadInputError(
      "not-debezium-envelope",
      `the value schema is not a record: ${JSON.stringify(schema).slice(0, 200)}`,
    );
  }
  const field = (name: string) => schema.fields.find((f) => f.name === name);
  const image = field("before") ?? field("after");
  if (!image || !field("op")) {
    throw new BadInputError(
      "not-debezium-envelope",
      `schema ${schema.name} is not a Debezium change event envelope (no before/after/op fields)`,
    );
  }
  const { schema: record } = unwrapOptional(image.type, names);
  if (!isRecord(record)) {
    throw new BadInputError(
      "not-debezium-envelope",
      `the row image of ${schema.name} is not a record`,
    );
  }
  return { record, names };
}

/** `file:pos:row` of the binlog, and the GTID where present. */
export function sourcePosition(source: Record<string, unknown> | null | undefined): string | null {
  if (!source || source.file == null) return null;
  const position = `${source.file}:${source.pos ?? 0}:${source.row ?? 0}`;
  return source.gtid ? `${position} gtid=${source.gtid}` : position;
}

function millisToDateTime(ms: unknown): string | null {
  return ms === null || ms === undefined ? null : formatDateTimeMillis(ms as number | bigint);
}

/**
 * Compiles the row plan of an envelope schema. Throws {@linkcode BadInputError}
 * when the schema is not an envelope or a column type cannot be mapped.
 */
export function compileRowPlan(
  schema: AvroSchema,
  options: MappingOptions = DEFAULT_MAPPING_OPTIONS,
): RowPlan {
  const { record, names } = rowRecord(schema);
  let mappings: ColumnMapping[];
  try {
    mappings = record.fields.map((field) => mapField(field, names, options));
  } catch (error) {
    if (error instanceof UnmappableTypeError) {
      throw new BadInputError("unmappable-type", error.message);
    }
    throw error;
  }
  const clash = mappings.find((m) => METADATA_COLUMNS.some((meta) => meta.name === m.name));
  if (clash) {
    throw new BadInputError(
      "unmappable-type",
      `source column "${clash.name}" has the name of a cdc metadata column; rename it in the source or with a Debezium SMT`,
    );
  }
  const fieldNames = mappings.map((m) => m.name);
  const converters = mappings.map((m) => m.convert);
  return {
    columns: mappings.map((m) => ({ name: m.name, type: m.type, nullable: true })),
    columnNames: [...fieldNames, ...METADATA_COLUMNS.map((c) => c.name)],
    toRow(envelope, position) {
      if (!OPS.has(envelope.op)) {
        throw new BadInputError("not-debezium-envelope", `unknown Debezium op "${envelope.op}"`);
      }
      const image = envelope.op === "d"
        ? envelope.before
        : envelope.op === "t"
        ? null
        : envelope.after;
      const row: SqlValue[] = new Array(fieldNames.length + METADATA_COLUMNS.length);
      for (let i = 0; i < fieldNames.length; i++) {
        row[i] = image ? converters[i](image[fieldNames[i]]) : null;
      }
      let i = fieldNames.length;
      row[i++] = envelope.op;
      row[i++] = millisToDateTime(envelope.ts_ms);
      row[i++] = millisToDateTime(envelope.source?.ts_ms);
      row[i++] = sourcePosition(envelope.source);
      row[i++] = position.partition;
      row[i] = position.offset;
      return row;
    },
  };
}
