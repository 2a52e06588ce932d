/**
 * Avro binary read in place: a cursor over a record's bytes, and readers and
 * skippers compiled once per schema. The history path (lib/debezium/load_lines.ts)
 * uses them to turn an event's bytes into LOAD DATA text without building the
 * decoded envelope: only the values it converts become JavaScript values.
 *
 * Values read are those avsc gives for the same schema (lib/avro/decoder.ts): exact
 * longs (number, or bigint beyond 2^53), bytes and fixed as Buffers viewing
 * the record, unions of null and one type unwrapped.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { readZigZagLong } from "./decoder.ts";
import type { AvroSchema, NamedTypes } from "./schema.ts";
import { avroTypeName, resolve } from "./schema.ts";
import { BadInputError } from "../util/errors.ts";
import { InvalidUtf8Error } from "../util/utf8.ts";

const FLOAT_BYTES = new Uint8Array(8);
const FLOAT_VIEW = new DataView(FLOAT_BYTES.buffer);

/** A position in one record's Avro bytes. */
export class AvroCursor {
  bytes: Buffer = Buffer.alloc(0);
  pos = 0;

  /** Points the cursor at `bytes[start]`. */
  reset(bytes: Uint8Array, start: number): void {
    this.bytes = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  /**
   * A little-endian IEEE 754 float of `size` bytes, read through a fixed scratch buffer: a
   * DataView over each record's bytes was an object per record with a float.
   */
  readFloat(size: 4 | 8): number {
    const start = this.take(size);
    for (let i = 0; i < size; i++) FLOAT_BYTES[i] = this.bytes[start + i];
    return size === 4 ? FLOAT_VIEW.getFloat32(0, true) : FLOAT_VIEW.getFloat64(0, true);
  }

  /** Skips a varint; reading past the end leaves `pos` beyond it (see {@linkcode checkEnd}). */
  skipVarint(): void {
    // past the end a byte reads undefined, which ends the loop one beyond the end
    while (this.bytes[this.pos++] & 0x80);
  }

  /** An `int` or `long`: a number where exact, else a bigint. */
  readLong(): number | bigint {
    const start = this.pos;
    const first = this.bytes[start];
    if (first < 0x80) {
      // one byte: -64 to 63, the most common case by far (lengths, small numbers, flags)
      this.pos++;
      return first & 1 ? -((first + 1) >> 1) : first >> 1;
    }
    this.skipVarint();
    if (this.pos - start > 10) throw new AvroReadError("a varint longer than 10 bytes");
    return readZigZagLong(this.bytes, start, Math.min(this.pos, this.bytes.length));
  }

  /** A length or count: a whole number that fits the record. */
  readLength(): number {
    const n = this.readLong();
    if (typeof n !== "number" || n < 0) throw new AvroReadError(`invalid length ${n}`);
    return n;
  }

  /** The start of `n` bytes that must lie within the record; the cursor moves past them. */
  take(n: number): number {
    const start = this.pos;
    if (start + n > this.bytes.length) throw new AvroReadError("truncated buffer");
    this.pos += n;
    return start;
  }

  /** Throws unless the cursor is exactly at the end of the record. */
  checkEnd(): void {
    const { pos, bytes } = this;
    if (pos > bytes.length) throw new AvroReadError("truncated buffer");
    if (pos < bytes.length) throw new AvroReadError(`${bytes.length - pos} trailing bytes`);
  }
}

/** Bytes that are not Avro of the schema they claim. */
export class AvroReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AvroReadError";
  }
}

/** A schema this module does not read in place (the caller decodes with avsc instead). */
export class UnsupportedSchemaError extends Error {
  constructor(schema: AvroSchema) {
    super(`not read in place: ${JSON.stringify(schema).slice(0, 200)}`);
    this.name = "UnsupportedSchemaError";
  }
}

/**
 * `error`, when the bytes (`length` after the frame, of schema `id`) are not Avro of their
 * schema, as the bad input lib/avro/decoder.ts reports; any other error as it is.
 */
export function undecodableAvro(error: unknown, id: number, length: number): unknown {
  if (!(error instanceof AvroReadError || error instanceof InvalidUtf8Error)) return error;
  return new BadInputError(
    "undecodable-avro",
    `cannot decode ${length} bytes of Avro with schema id ${id}: ${error.message}`,
  );
}

/** Reads one value at the cursor. */
export type ValueReader = (cursor: AvroCursor) => unknown;
/** Moves the cursor past one value. */
export type ValueSkipper = (cursor: AvroCursor) => void;

const readString = (c: AvroCursor): string => {
  const n = c.readLength();
  const start = c.take(n);
  return c.bytes.toString("utf8", start, start + n);
};
const readBytes = (c: AvroCursor): Buffer => {
  const n = c.readLength();
  const start = c.take(n);
  return c.bytes.subarray(start, start + n);
};

/**
 * A string reader that returns the string it read last when the bytes are the same: the
 * fields of Debezium's `source` block (binlog file, snapshot flag) and `op` repeat from one
 * event to the next, and comparing a few bytes costs less than decoding them.
 */
function repeatedStringReader(): ValueReader {
  let last = "";
  let lastBytes = new Uint8Array(0);
  return (c) => {
    const n = c.readLength();
    const start = c.take(n);
    const bytes = c.bytes;
    if (n === lastBytes.length) {
      let i = 0;
      while (i < n && bytes[start + i] === lastBytes[i]) i++;
      if (i === n) return last;
    }
    lastBytes = bytes.slice(start, start + n);
    last = bytes.toString("utf8", start, start + n);
    return last;
  };
}

const PRIMITIVE_READERS: Record<string, ValueReader> = {
  null: () => null,
  boolean: (c) => c.bytes[c.take(1)] !== 0,
  int: (c) => c.readLong(),
  long: (c) => c.readLong(),
  float: (c) => c.readFloat(4),
  double: (c) => c.readFloat(8),
  bytes: readBytes,
  string: readString,
};

const skipSized = (c: AvroCursor) => void c.take(c.readLength());
const PRIMITIVE_SKIPPERS: Record<string, ValueSkipper> = {
  null: () => {},
  boolean: (c) => void c.take(1),
  int: (c) => c.skipVarint(),
  long: (c) => c.skipVarint(),
  float: (c) => void c.take(4),
  double: (c) => void c.take(8),
  bytes: skipSized,
  string: skipSized,
};

/** The index of a union's branch at the cursor, checked against its `branches`. */
export function readUnionIndex(cursor: AvroCursor, branches: number): number {
  const index = cursor.readLong();
  if (typeof index !== "number" || index < 0 || index >= branches) {
    throw new AvroReadError(`union branch ${index} of ${branches}`);
  }
  return index;
}

/**
 * The non-null branch of a union that Debezium writes for optional values (`["null", T]`,
 * either order) and its position, or undefined for a schema that is not such a union.
 * Other unions throw {@linkcode UnsupportedSchemaError}.
 */
export function optionalBranch(
  schema: AvroSchema,
): { branch: AvroSchema; index: number } | undefined {
  if (!Array.isArray(schema)) return undefined;
  const index = schema.findIndex((b) => b !== "null");
  if (schema.length !== 2 || !schema.includes("null") || index < 0) {
    throw new UnsupportedSchemaError(schema);
  }
  return { branch: schema[index], index };
}

/** Options of {@linkcode compileReader}. */
export interface ReaderOptions {
  /** The fields a record's reader reads (the others are skipped); all when absent. */
  keep?: ReadonlySet<string>;
  /** Strings that mostly repeat the previous value read: reused when their bytes are equal. */
  repeatedStrings?: boolean;
}

/** Compiles a reader of values of `schema`, with `names` resolving references. */
export function compileReader(
  schema: AvroSchema,
  names: NamedTypes,
  options: ReaderOptions = {},
): ValueReader {
  const inner = { repeatedStrings: options.repeatedStrings };
  const optional = optionalBranch(schema);
  if (optional) {
    const read = compileReader(optional.branch, names, inner);
    return (c) => readUnionIndex(c, 2) === optional.index ? read(c) : null;
  }
  const resolved = resolve(schema, names);
  if (options.repeatedStrings && avroTypeName(resolved) === "string") {
    return repeatedStringReader();
  }
  if (typeof resolved === "string") {
    const read = PRIMITIVE_READERS[resolved];
    if (!read) throw new UnsupportedSchemaError(resolved);
    return read;
  }
  if (Array.isArray(resolved)) throw new UnsupportedSchemaError(resolved);
  const type = resolved.type;
  if (typeof type !== "string") return compileReader(type, names, options);
  switch (type) {
    case "record": {
      const keep = options.keep;
      const fields = (resolved.fields ?? []).map((f) => ({
        name: f.name,
        read: !keep || keep.has(f.name) ? compileReader(f.type, names, inner) : undefined,
        skip: compileSkipper(f.type, names),
      }));
      return (c) => {
        const value: Record<string, unknown> = {};
        for (const field of fields) {
          if (field.read) value[field.name] = field.read(c);
          else field.skip(c);
        }
        return value;
      };
    }
    case "enum": {
      const symbols = resolved.symbols ?? [];
      return (c) => {
        const index = c.readLong();
        if (typeof index !== "number" || !(index >= 0 && index < symbols.length)) {
          throw new AvroReadError(`enum index ${index} of ${symbols.length}`);
        }
        return symbols[index];
      };
    }
    case "fixed": {
      const size = resolved.size ?? 0;
      return (c) => c.bytes.subarray(c.take(size), c.pos);
    }
    case "array": {
      // not in row images: the data collections of a transaction marker
      const read = compileReader(resolved.items!, names, inner);
      return (c) => {
        const items: unknown[] = [];
        for (;;) {
          const count = blockCount(c);
          if (count === 0) return items;
          if (count < 0) c.readLength(); // the block's size: its items are read all the same
          // room made for the block at once: pushes would make room for 17 items at least
          const from = items.length;
          items.length = from + Math.abs(count);
          for (let i = from; i < items.length; i++) {
            items[i] = read(c);
            if (c.pos > c.bytes.length) throw new AvroReadError("truncated buffer");
          }
        }
      };
    }
    default: {
      const read = PRIMITIVE_READERS[type];
      if (!read) throw new UnsupportedSchemaError(resolved); // maps: not in row images
      return read;
    }
  }
}

/** Compiles a skipper of values of `schema`: the bytes are checked to be there, not decoded. */
export function compileSkipper(schema: AvroSchema, names: NamedTypes): ValueSkipper {
  if (Array.isArray(schema)) {
    const branches = schema.map((b) => compileSkipper(b, names));
    return (c) => branches[readUnionIndex(c, branches.length)](c);
  }
  const resolved = resolve(schema, names);
  if (typeof resolved === "string") {
    const skip = PRIMITIVE_SKIPPERS[resolved];
    if (!skip) throw new UnsupportedSchemaError(resolved);
    return skip;
  }
  if (Array.isArray(resolved)) return compileSkipper(resolved, names);
  const type = resolved.type;
  if (typeof type !== "string") return compileSkipper(type, names);
  switch (type) {
    case "record": {
      const fields = (resolved.fields ?? []).map((f) => compileSkipper(f.type, names));
      return (c) => {
        for (const skip of fields) skip(c);
      };
    }
    case "enum":
      return (c) => c.skipVarint();
    case "fixed": {
      const size = resolved.size ?? 0;
      return (c) => void c.take(size);
    }
    case "array":
    case "map": {
      const item = compileSkipper(type === "array" ? resolved.items! : resolved.values!, names);
      const key = type === "map" ? PRIMITIVE_SKIPPERS.string : undefined;
      return (c) => skipBlocks(c, (c) => (key?.(c), item(c)));
    }
    default: {
      const skip = PRIMITIVE_SKIPPERS[type];
      if (!skip) throw new UnsupportedSchemaError(resolved);
      return skip;
    }
  }
}

/** Skips an array's or map's blocks: a count (negative: followed by the block's size), items. */
function skipBlocks(cursor: AvroCursor, item: ValueSkipper): void {
  for (;;) {
    const count = blockCount(cursor);
    if (count === 0) return;
    if (count < 0) {
      cursor.take(cursor.readLength());
      continue;
    }
    for (let i = 0; i < count; i++) {
      item(cursor);
      if (cursor.pos > cursor.bytes.length) throw new AvroReadError("truncated buffer");
    }
  }
}

/** A block's count of items, checked against the bytes left. */
function blockCount(cursor: AvroCursor): number {
  const count = cursor.readLong();
  if (typeof count !== "number") throw new AvroReadError(`invalid block count ${count}`);
  // every item takes a byte at least (arrays of nulls do not occur in Debezium's events)
  if (Math.abs(count) > cursor.bytes.length - cursor.pos) {
    throw new AvroReadError(
      `a block of ${count} items in ${cursor.bytes.length - cursor.pos} bytes`,
    );
  }
  return count;
}
