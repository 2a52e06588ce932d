/**
 * Decode, map and encode in one pass, for tables that are bulk-loaded: the
 * Avro bytes of a Debezium change event → one line of LOAD DATA text. Values
 * are converted by the same mappings as lib/debezium/event_plan.ts's rows, but text and
 * whole numbers that land as they are go from the record's bytes to the line's
 * without becoming JavaScript values, and nothing else of the envelope is built
 * but `op`, `ts_ms` and the `source` fields `cdc` reads. Decoded envelopes,
 * rows and their strings cost more than this pass and left garbage behind: the
 * stream's CPU per event fell by 15 % (BENCHMARKS.md).
 *
 * @module
 */
import {
  AvroCursor,
  compileReader,
  compileSkipper,
  optionalBranch,
  readUnionIndex,
  undecodableAvro,
  UnsupportedSchemaError,
  type ValueReader,
  type ValueSkipper,
} from "../avro/binary.ts";
import { avroTypeName, isRecord, namedTypes, resolve, unwrapOptional } from "../avro/schema.ts";
import type { AvroSchema, NamedTypes } from "../avro/schema.ts";
import { METADATA_COLUMNS, type MetadataColumn } from "./cdc_row.ts";
import { type Envelope, imageSide, type KafkaPosition, READ_SOURCE_FIELDS } from "./envelope.ts";
import type { CompiledSchema } from "../avro/decoder.ts";
import { type ColumnKind, kindOf, type LoadDataText } from "../mysql/load_data.ts";
import { InvalidUtf8Error } from "../util/utf8.ts";
import {
  type ColumnMapping,
  dateTimeOfSecond,
  millisFraction,
  TEXT_INTO_BYTES,
} from "./type_mapping.ts";

/**
 * Appends the `_cdc` row of the event in `bytes` (Confluent-framed) to the text `textFor`
 * gives for the event (read first: where a row goes may depend on its source transaction),
 * and returns the envelope without its row images. Throws `BadInputError` (lib/util/errors.ts)
 * for bad input, having appended nothing.
 */
export type LoadLineWriter = (
  bytes: Uint8Array,
  position: KafkaPosition,
  textFor: (envelope: Envelope) => LoadDataText,
) => Envelope;

/** Appends one column's value at the cursor to the line. */
type ColumnWriter = (cursor: AvroCursor, text: LoadDataText) => void;

/** What reading the top-level envelope fields gathers. */
interface EnvelopeFields {
  /** Where each row image starts in the record's bytes, or -1 for none (null). */
  before: number;
  after: number;
  op: unknown;
  ts_ms: unknown;
  source: unknown;
  transaction: unknown;
}

type EnvelopeFieldReader = (cursor: AvroCursor, into: EnvelopeFields) => void;

/**
 * The line writer for events written with `schema`, whose row record's fields `mappings` maps
 * (in field order, as lib/debezium/event_plan.ts compiles them). Undefined when the schema holds a shape
 * that is not read in place (a union of several types): those events take the decoded path.
 */
export function compileLoadLineWriter(
  schema: CompiledSchema,
  mappings: readonly ColumnMapping[],
): LoadLineWriter | undefined {
  try {
    return compile(schema, mappings);
  } catch (error) {
    if (error instanceof UnsupportedSchemaError) return undefined;
    throw error;
  }
}

function compile(schema: CompiledSchema, mappings: readonly ColumnMapping[]): LoadLineWriter {
  const envelope = schema.schema;
  if (!isRecord(envelope)) throw new UnsupportedSchemaError(envelope);
  const names = namedTypes(envelope);
  const readers = envelope.fields.map((f) => envelopeFieldReader(f.name, f.type, names));
  const image = envelope.fields.find((f) => f.name === "before" || f.name === "after");
  const record = image && unwrapOptional(image.type, names).schema;
  if (!record || !isRecord(record)) throw new UnsupportedSchemaError(envelope);
  if (
    record.fields.length !== mappings.length ||
    record.fields.some((f, i) => f.name !== mappings[i].field)
  ) {
    throw new Error(`the mappings of schema ${schema.id} are not those of its row record`);
  }
  const columns = record.fields.map((f, i) => columnWriter(f.type, names, mappings[i], i));
  const kinds = mappings.map((m) => kindOf(m.type));
  const metadata = METADATA_COLUMNS.map((c, m) => metadataWriter(c, columns.length + m));
  const cursor = new AvroCursor();
  // one per writer, filled again for each event: nothing of it outlives the call
  const fields: EnvelopeFields = {
    before: -1,
    after: -1,
    op: "",
    ts_ms: null,
    source: null,
    transaction: null,
  };

  return (bytes, position, textFor) => {
    fields.before = fields.after = -1;
    fields.op = "";
    fields.ts_ms = fields.source = fields.transaction = null;
    try {
      cursor.reset(bytes, 5);
      for (const read of readers) read(cursor, fields);
      cursor.checkEnd();
    } catch (error) {
      throw undecodableAvro(error, schema.id, bytes.length - 5);
    }
    const envelope: Envelope = {
      op: String(fields.op),
      ts_ms: fields.ts_ms as Envelope["ts_ms"],
      source: fields.source as Envelope["source"],
      transaction: fields.transaction as Envelope["transaction"],
    };
    const side = imageSide(envelope.op, (side) => fields[side] >= 0);
    const text = textFor(envelope);
    try {
      if (side) {
        cursor.pos = fields[side];
        for (const write of columns) write(cursor, text);
      } else {
        for (const kind of kinds) text.null(kind);
      }
      for (const write of metadata) write(envelope, position, text);
    } catch (error) {
      text.dropLine();
      throw error instanceof InvalidUtf8Error
        ? undecodableAvro(error, schema.id, bytes.length - 5)
        : error;
    }
    // tagged with the op: a keyed mode writes lines without deletes or truncates as they are
    text.endLine(envelope.op);
    return envelope;
  };
}

/** Appends one metadata column's value. */
type MetadataWriter = (envelope: Envelope, position: KafkaPosition, text: LoadDataText) => void;

/**
 * How metadata column `column` (column `c` of the line) is written: its `value` (cdc_row.ts),
 * but the times and the source position in parts, without the strings of the whole made per
 * event for the collector to clear (lib/debezium/load_lines_test.ts holds both to the same
 * bytes).
 */
function metadataWriter(column: MetadataColumn, c: number): MetadataWriter {
  switch (column.name) {
    case "__ts":
      return (envelope, _, text) => dateTimeMillis(envelope.ts_ms, text);
    case "__source_ts":
      return (envelope, _, text) => dateTimeMillis(envelope.source?.ts_ms, text);
    case "__source_pos":
      return (envelope, _, text) => sourcePositionInto(envelope.source, text);
  }
  const kind = kindOf(column.type);
  return (envelope, position, text) => text.value(column.value(envelope, position), kind, c);
}

/** Milliseconds since the epoch as `formatDateTimeMillis` writes them, or NULL. */
function dateTimeMillis(millis: unknown, text: LoadDataText): void {
  if (millis === null || millis === undefined) return text.null("plain");
  const ms = Number(millis);
  const seconds = Math.floor(ms / 1000);
  text.ascii(dateTimeOfSecond(seconds));
  text.joinNext();
  text.ascii(millisFraction(ms - seconds * 1000));
}

/** {@linkcode sourcePosition} of `source`, as text. */
function sourcePositionInto(source: Envelope["source"], text: LoadDataText): void {
  if (!source || source.file == null) return text.null("text");
  text.text(String(source.file));
  for (const part of [source.pos ?? 0, source.row ?? 0]) {
    text.joinNext();
    text.ascii(":");
    text.joinNext();
    if (typeof part === "number" || typeof part === "bigint") text.integer(part);
    else text.text(String(part));
  }
  if (!source.gtid) return;
  text.joinNext();
  text.ascii(" gtid=");
  text.joinNext();
  text.text(String(source.gtid));
}

/** How one top-level field of the envelope is read: images located, `cdc`'s fields read. */
function envelopeFieldReader(
  name: string,
  type: AvroSchema,
  names: NamedTypes,
): EnvelopeFieldReader {
  switch (name) {
    case "before":
    case "after": {
      const optional = optionalBranch(type);
      const skip = compileSkipper(optional?.branch ?? type, names);
      return (cursor, into) => {
        if (optional && readUnionIndex(cursor, 2) !== optional.index) return;
        into[name] = cursor.pos;
        skip(cursor);
      };
    }
    case "source": {
      const read = compileReader(type, names, { keep: READ_SOURCE_FIELDS, repeatedStrings: true });
      return (cursor, into) => void (into.source = read(cursor));
    }
    case "op":
    case "ts_ms":
    case "transaction": {
      const read = compileReader(type, names, { repeatedStrings: true });
      return (cursor, into) => void (into[name] = read(cursor));
    }
    default: {
      const skip: ValueSkipper = compileSkipper(type, names);
      return (cursor) => skip(cursor);
    }
  }
}

/**
 * The writer of column `c`'s field: text that lands as it is goes byte for byte (escaped and
 * checked to be UTF-8), whole numbers that do as their digits; every other value is read and
 * converted by its mapping.
 */
function columnWriter(
  type: AvroSchema,
  names: NamedTypes,
  mapping: ColumnMapping,
  c: number,
): ColumnWriter {
  const kind: ColumnKind = kindOf(mapping.type);
  const optional = optionalBranch(type);
  const value = valueWriter(optional?.branch ?? type, names, mapping, kind, c);
  if (!optional) return value;
  return (cursor, text) => {
    if (readUnionIndex(cursor, 2) === optional.index) value(cursor, text);
    else text.null(kind);
  };
}

function valueWriter(
  type: AvroSchema,
  names: NamedTypes,
  mapping: ColumnMapping,
  kind: ColumnKind,
  c: number,
): ColumnWriter {
  const primitive = avroTypeName(resolve(type, names));
  if (mapping.verbatim && primitive === "string" && kind === "text") {
    return (cursor, text) => {
      const n = cursor.readLength();
      const start = cursor.take(n);
      text.utf8(cursor.bytes, start, start + n);
    };
  }
  if (mapping.verbatim && (primitive === "int" || primitive === "long") && kind === "plain") {
    return (cursor, text) => text.integer(cursor.readLong());
  }
  const read: ValueReader = compileReader(type, names);
  const convert = mapping.convert;
  const into = mapping.textInto;
  if (into && (primitive === "string" || primitive === "bytes")) {
    // the value's text written from its bytes (a TIMESTAMP's UTC text, a decimal's digits);
    // a form `into` does not take is read and converted
    const out = new Uint8Array(TEXT_INTO_BYTES);
    return (cursor, text) => {
      const at = cursor.pos;
      const n = cursor.readLength();
      const start = cursor.take(n);
      const length = into(cursor.bytes, start, start + n, out);
      if (length) return text.encoded(out, 0, length);
      cursor.pos = at;
      text.value(convert(read(cursor)), kind, c);
    };
  }
  return (cursor, text) => text.value(convert(read(cursor)), kind, c);
}
