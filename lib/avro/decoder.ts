/**
 * Decode: Kafka record bytes in the Confluent wire format → Avro values.
 *
 * Frame: byte 0 is the magic byte 0, bytes 1-4 the big-endian schema id, the
 * rest Avro binary written with that schema. Avro types are compiled once per
 * schema id and kept for the life of the process.
 *
 * @module
 */
import { BadInputError } from "../util/errors.ts";
import avro from "avsc";
import { Buffer } from "node:buffer";
import type { RegisteredSchema, RegistryClient } from "./registry.ts";
import { UnknownSchemaIdError } from "./registry.ts";
import { type AvroSchema, inlineReferences } from "./schema.ts";
import { invalidUtf8At, InvalidUtf8Error } from "../util/utf8.ts";

/** A Confluent-framed message split into its schema id and Avro payload. */
export interface ConfluentFrame {
  schemaId: number;
  payload: Uint8Array;
}

/** Splits Confluent framing off `bytes`; throws {@linkcode BadInputError} when absent. */
export function decodeConfluentFrame(bytes: Uint8Array): ConfluentFrame {
  return { schemaId: confluentSchemaId(bytes), payload: bytes.subarray(5) };
}

/** The schema id of Confluent-framed `bytes`; throws {@linkcode BadInputError} when unframed. */
export function confluentSchemaId(bytes: Uint8Array): number {
  if (bytes.length < 5) {
    throw new BadInputError(
      "not-confluent-framing",
      `${bytes.length} bytes is too short for the Confluent wire format (magic byte + 4-byte schema id)`,
    );
  }
  if (bytes[0] !== 0) {
    throw new BadInputError(
      "not-confluent-framing",
      `magic byte is ${bytes[0]}, expected 0 (Confluent wire format); ` +
        `is the connector's converter writing Avro with the Confluent framing?`,
    );
  }
  // big-endian, unsigned; arithmetic rather than a DataView per record
  return bytes[1] * 0x100_0000 + ((bytes[2] << 16) | (bytes[3] << 8) | bytes[4]);
}

/**
 * An Avro long's zigzag varint bytes (`bytes[start]` up to `end`) → its value: a number when
 * exact, else a bigint.
 */
export function readZigZagLong(
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
): number | bigint {
  let n = 0;
  let scale = 1;
  for (let i = start; i < end; i++, scale *= 128) n += (bytes[i] & 0x7f) * scale;
  // every partial sum is exact while the total stays a safe integer
  if (n <= Number.MAX_SAFE_INTEGER) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  let big = 0n;
  for (let i = end - 1; i >= start; i--) big = (big << 7n) | BigInt(bytes[i] & 0x7f);
  const value = (big >> 1n) ^ -(big & 1n);
  return Number.isSafeInteger(Number(value)) ? Number(value) : value;
}

/** A long's value → its zigzag varint bytes (for tests and fixtures that encode). */
export function writeZigZagLong(value: number | bigint): Buffer {
  const n = BigInt(value);
  let z = n < 0n ? (-n << 1n) - 1n : n << 1n;
  const bytes: number[] = [];
  do {
    const low = Number(z & 0x7fn);
    z >>= 7n;
    bytes.push(z ? low | 0x80 : low);
  } while (z);
  return Buffer.from(bytes);
}

/**
 * Avro `long` read as a JS number when it fits exactly, otherwise as a bigint:
 * avsc's default would silently round values beyond 2^53 (BIGINT UNSIGNED,
 * nanosecond timestamps). Read from the varint bytes as they are (`noUnpack`):
 * avsc's unpacking allocated a zeroed 8-byte buffer per long, a tenth of the
 * stream's CPU with the garbage it made.
 */
const exactLong = avro.types.LongType.__with({
  fromBuffer: (bytes: Uint8Array) => readZigZagLong(bytes),
  toBuffer: writeZigZagLong,
  fromJSON: (n: number | string) => BigInt(n),
  toJSON: (n: number | bigint) => Number(n),
  isValid: (n: unknown) => typeof n === "number" || typeof n === "bigint",
  compare: (a: number | bigint, b: number | bigint) => (a === b ? 0 : a < b ? -1 : 1),
}, true);

/** The part of avsc's reading position that a string read uses. */
interface AvscTap {
  buf: Buffer;
  pos: number;
  readLong(): number;
}

/**
 * Avro `string`, checked to be UTF-8 as the Avro spec requires: avsc would turn bad bytes into
 * U+FFFD without a word, changing the value; here they make the record undecodable (bad input,
 * by `--on-error`). The history path checks as it copies (lib/mysql/load_data.ts).
 */
class Utf8StringType extends avro.types.StringType {
  _read(tap: AvscTap): string | undefined {
    const length = tap.readLong();
    const start = tap.pos;
    tap.pos += length;
    // a negative length or one past the end: the caller's offset check reports the record
    if (length < 0 || tap.pos > tap.buf.length) return undefined;
    const bad = invalidUtf8At(tap.buf, start, tap.pos);
    if (bad >= 0) throw new InvalidUtf8Error(bad);
    return tap.buf.toString("utf8", start, tap.pos);
  }
}

/** Whether `schema` is a `type` written as a name (`"long"`) or an object (`{"type": "long"}`). */
function isPrimitive(schema: avro.Schema, type: "long" | "string"): boolean {
  return schema === type ||
    (typeof schema === "object" && !Array.isArray(schema) &&
      (schema as { type?: unknown }).type === type);
}

/** Compiles an Avro schema with exact longs and checked strings, however each is written. */
export function compileAvro(schema: AvroSchema): avro.Type {
  // avsc adds every named type to the registry it is given: a fresh one each time.
  // A registry entry would only replace bare `"long"` references: the hook sees every type.
  return avro.Type.forSchema(schema as avro.Schema, {
    registry: {},
    typeHook: (s) =>
      isPrimitive(s, "long")
        ? exactLong
        : isPrimitive(s, "string")
        ? new Utf8StringType()
        : undefined,
  });
}

/** A compiled schema: its id, parsed JSON (with Debezium's attributes) and avsc type. */
export interface CompiledSchema {
  id: number;
  /** The schema as written (the writer's), with every attribute. */
  schema: AvroSchema;
  /** What values are decoded with: the writer's type, or a projection of it. */
  type: avro.Type;
  /** Set when `type` is a projection: how to read the writer's bytes with it. */
  resolver?: ReturnType<avro.Type["createResolver"]>;
}

/** Options of {@linkcode AvroDecoder}. */
export interface DecoderOptions {
  /**
   * A reader schema for a writer's schema, holding only the fields the caller reads
   * (undefined: decode everything). Skipped fields cost no strings or objects.
   */
  project?: (schema: AvroSchema) => AvroSchema | undefined;
}

/** A decoded record value with the schema that wrote it. */
export interface DecodedValue {
  schema: CompiledSchema;
  value: unknown;
}

/** Decodes Confluent-framed Avro, fetching and compiling each schema id once. */
export class AvroDecoder {
  readonly #registry: RegistryClient;
  readonly #compiled = new Map<number, Promise<CompiledSchema>>();
  /** The compiled schemas that arrived, for lookups that must not wait. */
  readonly #ready = new Map<number, CompiledSchema>();
  readonly #options: DecoderOptions;

  constructor(registry: RegistryClient, options: DecoderOptions = {}) {
    this.#registry = registry;
    this.#options = options;
  }

  /** The compiled schema for `id`, fetched from the registry on first sight. */
  schema(id: number): Promise<CompiledSchema> {
    let pending = this.#compiled.get(id);
    if (!pending) {
      pending = this.#registry.schemaById(id).then(async (registered) => {
        const schema = await this.#selfContained(registered);
        const writer = compileAvro(schema);
        const projected = this.#options.project?.(schema);
        const reader = projected && compileAvro(projected);
        const compiled: CompiledSchema = reader
          ? { id, schema, type: reader, resolver: reader.createResolver(writer) }
          : { id, schema, type: writer };
        this.#ready.set(id, compiled);
        return compiled;
      });
      pending.catch(() => this.#compiled.delete(id));
      this.#compiled.set(id, pending);
    }
    return pending;
  }

  /** The schema with its references (recursively) written in place. */
  async #selfContained(registered: RegisteredSchema): Promise<AvroSchema> {
    const schema = JSON.parse(registered.schema) as AvroSchema;
    if (!registered.references?.length) return schema;
    const references = new Map<string, AvroSchema>();
    for (const ref of registered.references) {
      const version = await this.#registry.subjectVersion(ref.subject, ref.version);
      references.set(ref.name, await this.#selfContained(version));
    }
    return inlineReferences(schema, references);
  }

  /** Decodes one record's bytes; bad input throws {@linkcode BadInputError}. */
  async decode(bytes: Uint8Array): Promise<DecodedValue> {
    const schema = await this.#framedSchema(confluentSchemaId(bytes));
    return { schema, value: decodeAvroAt(schema, bytes, 5) };
  }

  /** The schema that wrote `bytes`, without decoding them (e.g. a Kafka key's). */
  schemaOf(bytes: Uint8Array): Promise<CompiledSchema> {
    return this.#framedSchema(confluentSchemaId(bytes));
  }

  /**
   * The schema that wrote `bytes` if it is compiled already, without waiting (undefined if
   * not yet); bad framing throws {@linkcode BadInputError} as {@linkcode decode} does.
   */
  knownSchemaOf(bytes: Uint8Array): CompiledSchema | undefined {
    return this.#ready.get(confluentSchemaId(bytes));
  }

  /** {@linkcode decode} without a wait, when the schema is compiled already; else undefined. */
  decodeKnown(bytes: Uint8Array): DecodedValue | undefined {
    const schema = this.knownSchemaOf(bytes);
    return schema && { schema, value: decodeAvroAt(schema, bytes, 5) };
  }

  /** The newest schema of a registry subject (e.g. `<topic>-key`). */
  async latestSchema(subject: string): Promise<CompiledSchema> {
    const latest = await this.#registry.subjectVersion(subject, "latest");
    return this.schema(latest.id);
  }

  async #framedSchema(id: number): Promise<CompiledSchema> {
    try {
      return await this.schema(id);
    } catch (error) {
      if (error instanceof UnknownSchemaIdError) {
        throw new BadInputError("unknown-schema-id", error.message);
      }
      throw error; // the registry is down: transient, not bad input
    }
  }
}

/** Reads Avro binary with a compiled schema; truncated or trailing bytes are bad input. */
export function decodeAvroPayload(schema: CompiledSchema, payload: Uint8Array): unknown {
  return decodeAvroAt(schema, payload, 0);
}

/** Reads the Avro value that fills `bytes` from `start` (no copy of the payload). */
function decodeAvroAt(schema: CompiledSchema, bytes: Uint8Array, start: number): unknown {
  let problem: string;
  try {
    const { value, offset } = schema.type.decode(toBuffer(bytes), start, schema.resolver);
    if (offset === bytes.length) return value;
    problem = offset < 0 ? "truncated buffer" : `${bytes.length - offset} trailing bytes`;
  } catch (error) {
    problem = (error as Error).message;
  }
  throw new BadInputError(
    "undecodable-avro",
    `cannot decode ${bytes.length - start} bytes of Avro with schema id ${schema.id}: ${problem}`,
  );
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
