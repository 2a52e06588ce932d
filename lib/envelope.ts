/**
 * Map: a decoded Debezium change event → one `_cdc` row.
 *
 * The row image is `after` for create/update/read and `before` for delete;
 * truncate carries no image. The metadata columns follow (`cdc_table.ts`).
 * A plan is compiled once per schema id and then applied per event.
 *
 * @module
 */
import type { AvroRecordSchema, AvroSchema } from "./avro_schema.ts";
import { isRecord, namedTypes, unwrapOptional } from "./avro_schema.ts";
import { isMetadataColumn, METADATA_COLUMNS } from "./cdc_table.ts";
import { type Envelope, imageSide, type KafkaPosition } from "./debezium.ts";
import { BadInputError } from "./decode.ts";
import type { ColumnDef } from "./dialect.ts";
import type { ColumnMapping, MappingOptions, SqlValue } from "./type_mapping.ts";
import { keyTypeProblem, renderSqlType } from "./sql_types.ts";
import { DEFAULT_MAPPING_OPTIONS, mapField, UnmappableTypeError } from "./type_mapping.ts";

/** The columns and the row function for one envelope schema. */
export interface RowPlan {
  /** Source columns, in source order; the metadata columns are added by `cdc_table.ts`. */
  columns: readonly ColumnDef[];
  /** All column names of a row, source then metadata, in value order. */
  columnNames: readonly string[];
  /** The source's primary key columns, from the Kafka key schema (empty without one). */
  keyColumns: readonly string[];
  /** How each field of the row record becomes its column, in field order. */
  mappings: readonly ColumnMapping[];
  /**
   * The `_cdc` row for one event, values in `columnNames` order. Throws
   * {@linkcode BadInputError} for an event that carries no row image where its op needs one.
   */
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
 * Compiles the row plan of an envelope schema. Throws {@linkcode BadInputError}
 * when the schema is not an envelope or a column type cannot be mapped.
 */
export function compileRowPlan(
  schema: AvroSchema,
  options: MappingOptions = DEFAULT_MAPPING_OPTIONS,
  keySchema?: AvroSchema,
): RowPlan {
  const { record, names } = rowRecord(schema);
  const mappings = columnMappings(record, names, options);
  const key = keySchema === undefined ? [] : keyColumns(keySchema, mappings, options);
  const fields = mappings.map((m) => m.field);
  const converters = mappings.map((m) => m.convert);
  const width = fields.length + METADATA_COLUMNS.length;
  return {
    columns: mappings.map((m) => ({ name: m.name, type: m.type, nullable: true })),
    columnNames: [...mappings.map((m) => m.name), ...METADATA_COLUMNS.map((c) => c.name)],
    keyColumns: key,
    mappings,
    toRow(envelope, position) {
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
  };
}
