/**
 * Map: how the Debezium change events of one schema become rows, compiled once per schema
 * (and key schema) and applied per event. A row is the row image's columns in source order,
 * each converted by its mapping (lib/debezium/type_mapping.ts), then the metadata columns
 * (lib/debezium/cdc_row.ts); the row image is `after` for create/update/read and `before`
 * for delete, and truncate carries none.
 *
 * One plan yields a row two ways, from the same mappings: as SQL values from a decoded
 * envelope ({@linkcode EventPlan.row}), or as a line of LOAD DATA text straight from the
 * event's bytes ({@linkcode EventPlan.line}, lib/debezium/load_lines.ts), for bulk-loaded
 * tables.
 *
 * @module
 */
import type { AvroRecordSchema, AvroSchema } from "../avro/schema.ts";
import { isRecord, namedTypes, unwrapOptional } from "../avro/schema.ts";
import { isMetadataColumn, METADATA_COLUMNS } from "./cdc_row.ts";
import { type Envelope, imageSide, type KafkaPosition } from "./envelope.ts";
import { BadInputError } from "../util/errors.ts";
import type { ColumnDef } from "../mysql/dialect.ts";
import type { ColumnMapping, MappingOptions } from "./type_mapping.ts";
import type { SqlValue } from "../mysql/values.ts";
import type { CompiledSchema } from "../avro/decoder.ts";
import { compileLoadLineWriter, type LoadLineWriter } from "./load_lines.ts";
import { keyTypeProblem, renderSqlType } from "../mysql/sql_types.ts";
import { DEFAULT_MAPPING_OPTIONS, mapField, UnmappableTypeError } from "./type_mapping.ts";

/** The columns of one envelope schema's events, and how an event becomes a row. */
export interface EventPlan {
  /** Source columns, in source order. */
  columns: readonly ColumnDef[];
  /** Every column of a row: the source columns, then the metadata columns. */
  rowColumns: readonly ColumnDef[];
  /** The source's primary key columns, from the Kafka key schema (empty without one). */
  keyColumns: readonly string[];
  /** How each field of the row record becomes its column, in field order. */
  mappings: readonly ColumnMapping[];
  /**
   * The row of a decoded event, values in `rowColumns` order. Throws
   * {@linkcode BadInputError} for an event that carries no row image where its op needs one.
   */
  row(envelope: Envelope, position: KafkaPosition): SqlValue[];
  /**
   * Appends the row of an event's bytes to LOAD DATA text in one pass over them (the same
   * values as {@linkcode row}, loaded); undefined for a schema holding a shape that is not
   * read in place (a union of several types), whose events take {@linkcode row}.
   */
  readonly line: LoadLineWriter | undefined;
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

/** The column mappings of a row record; bad types and clashing names are bad input. */
function columnMappings(
  record: AvroRecordSchema,
  names: ReturnType<typeof namedTypes>,
  options: MappingOptions,
): ColumnMapping[] {
  let mappings: ColumnMapping[];
  try {
    mappings = record.fields.map((field) => mapField(field, names, options));
  } catch (error) {
    if (error instanceof UnmappableTypeError) {
      throw new BadInputError("unmappable-type", error.message);
    }
    throw error;
  }
  const clash = mappings.find((m) => isMetadataColumn(m.name));
  if (clash) {
    throw new BadInputError(
      "unmappable-type",
      `source column "${clash.name}" has the name of a cdc metadata column; rename it in the source or with a Debezium SMT`,
    );
  }
  // MySQL column names are case-insensitive; without propagated source names, Debezium's
  // adjusted Avro names of two source columns can also coincide.
  const seen = new Map<string, ColumnMapping>();
  for (const m of mappings) {
    const other = seen.get(m.name.toLowerCase());
    if (other) {
      throw new BadInputError(
        "unmappable-type",
        `source columns "${other.name}" (field ${other.field}) and "${m.name}" (field ${m.field}) ` +
          `would share one _cdc column; register the connector with ` +
          `column.propagate.source.type so that columns keep their source names (cdc connector ` +
          `register does), or rename one`,
      );
    }
    seen.set(m.name.toLowerCase(), m);
  }
  return mappings;
}

/**
 * The key columns named by a Kafka key schema: each must be a column of the row
 * and a type MySQL can index as a whole. A key field is matched to the row's column by its
 * Avro field name: Debezium puts `__debezium.source.column.name` on the value's fields but
 * not on the key's, so a key field's own name is the adjusted one (`line_no` for `line no`).
 */
function keyColumns(
  keySchema: AvroSchema,
  columns: readonly ColumnMapping[],
  options: MappingOptions,
): string[] {
  const names = namedTypes(keySchema);
  if (!isRecord(keySchema)) {
    throw new BadInputError("not-debezium-envelope", "the key schema is not a record");
  }
  return keySchema.fields.map((field) => {
    let key: ColumnMapping;
    try {
      key = mapField(field, names, options);
    } catch (error) {
      if (error instanceof UnmappableTypeError) {
        throw new BadInputError("unmappable-type", `key ${error.message}`);
      }
      throw error;
    }
    const column = columns.find((c) => c.field === key.field);
    if (!column) {
      throw new BadInputError(
        "not-debezium-envelope",
        `key field "${key.field}" is not a field of the row (fields: ${
          columns.map((c) => c.field).join(", ")
        })`,
      );
    }
    const problem = keyTypeProblem(column.type);
    if (problem) {
      throw new BadInputError(
        "unmappable-type",
        `key column "${column.name}" is ${renderSqlType(column.type)}: ${problem}`,
      );
    }
    return column.name;
  });
}

/**
 * Compiles the plan of an envelope schema (with the Kafka key schema where the mode needs the
 * key). Throws {@linkcode BadInputError} when the schema is not an envelope or a column type
 * cannot be mapped.
 */
export function compileEventPlan(
  schema: CompiledSchema,
  options: MappingOptions = DEFAULT_MAPPING_OPTIONS,
  keySchema?: AvroSchema,
): EventPlan {
  const { record, names } = rowRecord(schema.schema);
  const mappings = columnMappings(record, names, options);
  const key = keySchema === undefined ? [] : keyColumns(keySchema, mappings, options);
  const fields = mappings.map((m) => m.field);
  const converters = mappings.map((m) => m.convert);
  const width = fields.length + METADATA_COLUMNS.length;
  const columns = mappings.map((m) => ({ name: m.name, type: m.type, nullable: true }));
  let line: LoadLineWriter | undefined | null = null;
  return {
    columns,
    rowColumns: [...columns, ...METADATA_COLUMNS],
    keyColumns: key,
    mappings,
    row(envelope, position) {
      const side = imageSide(envelope.op, (side) => !!envelope[side]);
      const image = side ? envelope[side] : null;
      const row: SqlValue[] = new Array(width);
      for (let i = 0; i < fields.length; i++) {
        row[i] = image ? converters[i](image[fields[i]]) : null;
      }
      for (let i = 0; i < METADATA_COLUMNS.length; i++) {
        row[fields.length + i] = METADATA_COLUMNS[i].value(envelope, position);
      }
      return row;
    },
    // compiled when first asked for: only bulk-loaded tables write lines
    get line() {
      if (line === null) line = compileLoadLineWriter(schema, mappings);
      return line;
    },
  };
}
