/**
 * The type-mapping table: a Debezium column schema (Avro type, Kafka Connect
 * logical name, parameters) → the `_cdc` column type and the conversion of its
 * values. One entry per logical type, a fallback per Avro primitive, and the
 * source column type (`column.propagate.source.type`) to refine both.
 *
 * Conversions are compiled once per schema; they run per value.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { AvroField, AvroSchema, NamedTypes } from "../avro/schema.ts";
import { attribute, avroTypeName, unwrapOptional } from "../avro/schema.ts";
import {
  type Family,
  familyOf,
  parseSqlType,
  SQL_TYPES,
  type SqlType,
  type SqlTypeName,
  sqlTypeProblem,
} from "../mysql/sql_types.ts";
import { GeometryValue, type SqlValue } from "../mysql/values.ts";

/** How one source column lands in `_cdc`: its type and the conversion of its values. */
export interface ColumnMapping {
  /** The column's name: the source's own (`__debezium.source.column.name`) where known. */
  name: string;
  /** The Avro field the value is read from (Debezium's adjusted name). */
  field: string;
  type: SqlType;
  convert: (value: unknown) => SqlValue;
  /** True when values land as Avro decodes them (`convert` only passes null on). */
  verbatim: boolean;
  /** Set where a value's text can be written straight from its Avro bytes (see {@linkcode TextInto}). */
  textInto?: TextInto;
  /**
   * The rules of this module's tables that made the mapping: a logical type's name or an
   * Avro primitive's, then the source type's family when that refined it (`long`,
   * `source:integer`).
   */
  rules: readonly string[];
}

/**
 * Writes the text `convert` makes of a value from the bytes of its Avro string or bytes,
 * `bytes[start]` up to `end`, into `out` (at least {@linkcode TEXT_INTO_BYTES} long), without
 * a string: ASCII digits and punctuation, nothing to escape. Returns the text's length, or 0
 * for a form it does not take (the value then goes through `convert`).
 */
export type TextInto = (bytes: Uint8Array, start: number, end: number, out: Uint8Array) => number;

/** The room a {@linkcode TextInto} may write. */
export const TEXT_INTO_BYTES = 80;

/** A column schema this module cannot map; bad input under `--on-error`. */
export class UnmappableTypeError extends Error {
  constructor(column: string, schema: AvroSchema, why: string) {
    super(`column "${column}": cannot map ${JSON.stringify(schema)}: ${why}`);
    this.name = "UnmappableTypeError";
  }
}

// ---- value conversions (pure, exported for tests) ----

const pad = (n: number | bigint, width: number) => String(n).padStart(width, "0");

/** Floor division for bigints (rounds towards minus infinity). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/**
 * Days since 1970-01-01 → `YYYY-MM-DD`, by arithmetic on the proleptic Gregorian
 * calendar (H. Hinnant's civil_from_days): `Date#toISOString` per value was a
 * tenth of the stream's CPU, and a cache of the last day thrashes when a row
 * holds dates of different days. Years outside 0-9999 take `toISOString`'s form.
 */
export function formatDate(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra -
    (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153); // March = 0
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) return new Date(days * DAY_MS).toISOString().slice(0, 10);
  return `${pad(year, 4)}-${two(month)}-${two(day)}`;
}

const DAY_MS = 86_400_000;

const dayPrefix = (dayStart: number): string => formatDate(dayStart / DAY_MS);

const two = (n: number) => (n < 10 ? "0" : "") + n;

/** `HH:MM:SS` of a millisecond of the day. */
function timeOfDay(msOfDay: number): string {
  const seconds = Math.floor(msOfDay / 1000);
  return `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${
    two(seconds % 60)
  }`;
}

/**
 * The last few seconds formatted, replaced in turn: the event and commit times of one batch
 * mostly fall in the same second, and a row's other datetime columns take only a slot each.
 */
const RECENT_SECONDS = new Float64Array(4).fill(NaN);
const RECENT_TEXTS = ["", "", "", ""];
let nextRecent = 0;

/** Whole seconds since the epoch (UTC) → `YYYY-MM-DD HH:MM:SS`. */
export function dateTimeOfSecond(seconds: number): string {
  for (let i = 0; i < 4; i++) if (RECENT_SECONDS[i] === seconds) return RECENT_TEXTS[i];
  const text = formatDateTimeOfSecond(seconds);
  RECENT_SECONDS[nextRecent] = seconds;
  RECENT_TEXTS[nextRecent] = text;
  nextRecent = (nextRecent + 1) % 4;
  return text;
}

function formatDateTimeOfSecond(seconds: number): string {
  const ms = seconds * 1000;
  const dayStart = Math.floor(ms / DAY_MS) * DAY_MS;
  return `${dayPrefix(dayStart)} ${timeOfDay(ms - dayStart)}`;
}

/** Microseconds since the epoch (UTC) → `YYYY-MM-DD HH:MM:SS.ffffff`. */
export function formatDateTimeMicros(micros: number | bigint): string {
  let seconds: number;
  let fraction: number;
  if (typeof micros === "number") {
    seconds = Math.floor(micros / 1_000_000);
    fraction = micros - seconds * 1_000_000;
  } else {
    const s = floorDiv(micros, 1_000_000n);
    seconds = Number(s);
    fraction = Number(micros - s * 1_000_000n);
  }
  return `${dateTimeOfSecond(seconds)}.${pad(fraction, 6)}`;
}

/** Milliseconds since the epoch (UTC) → `YYYY-MM-DD HH:MM:SS.fff`. */
export function formatDateTimeMillis(millis: number | bigint): string {
  const ms = Number(millis);
  const seconds = Math.floor(ms / 1000);
  return dateTimeOfSecond(seconds) + millisFraction(ms - seconds * 1000);
}

/** `.000` to `.999`, made once: a time's milliseconds as its text ends. */
const MILLIS_FRACTIONS = Array.from({ length: 1000 }, (_, n) => `.${pad(n, 3)}`);

/** The `.fff` that ends the text of a time `n` milliseconds past its second. */
export function millisFraction(n: number): string {
  return MILLIS_FRACTIONS[n] ?? `.${pad(n, 3)}`;
}

/** Microseconds (possibly negative, beyond 24 h) → MySQL TIME `[-]HHH:MM:SS.ffffff`. */
export function formatTimeMicros(micros: number | bigint): string {
  let total = BigInt(micros);
  const sign = total < 0n ? "-" : "";
  if (total < 0n) total = -total;
  const fraction = total % 1_000_000n;
  const seconds = total / 1_000_000n;
  return `${sign}${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${
    pad(seconds % 60n, 2)
  }.${pad(fraction, 6)}`;
}

const ZONED = /^(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)$/;
const UTC_ZONED = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d{1,9}))?Z$/;

/**
 * An ISO-8601 timestamp with zone (Debezium ZonedTimestamp) → UTC `YYYY-MM-DD HH:MM:SS.ffffff`.
 * The result holds digits, `-`, `:`, `.` and a space only (LOAD DATA writes it unescaped).
 */
export function zonedTimestampToUtc(text: string): string {
  // Debezium writes UTC ("...Z"): then only the separator and the fraction change.
  const utc = UTC_ZONED.exec(text);
  if (utc) {
    const fraction = (utc[1] ?? "").padEnd(6, "0").slice(0, 6);
    return `${text.slice(0, 10)} ${text.slice(11, 19)}.${fraction}`;
  }
  const m = ZONED.exec(text);
  if (!m) throw new Error(`not an ISO-8601 timestamp with zone: "${text}"`);
  const fraction = (m[7] ?? "").padEnd(6, "0").slice(0, 6);
  const date = new Date(0);
  date.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  date.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  if (m[8] !== "Z") {
    const sign = m[8][0] === "-" ? -1 : 1;
    const digits = m[8].slice(1).replace(":", "");
    const offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
    date.setTime(date.getTime() - offsetMinutes * 60_000);
  }
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction}`;
}

/** Where a UTC timestamp's bytes must be digits: `YYYY-MM-DDTHH:MM:SS`. */
const UTC_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

/**
 * {@linkcode zonedTimestampToUtc} of the UTC form Debezium writes (`YYYY-MM-DDTHH:MM:SS[.f]Z`,
 * one to nine fraction digits) as a {@linkcode TextInto}: 0 for any other form, which
 * {@linkcode zonedTimestampToUtc} converts or refuses.
 */
export function utcTimestampInto(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
): number {
  const n = end - start;
  if (n < 20 || n > 30 || n === 21 || bytes[end - 1] !== 0x5a) return 0; // Z
  if (bytes[start + 4] !== 0x2d || bytes[start + 7] !== 0x2d || bytes[start + 10] !== 0x54) {
    return 0; // - - T
  }
  if (bytes[start + 13] !== 0x3a || bytes[start + 16] !== 0x3a) return 0; // : :
  if (n > 20 && bytes[start + 19] !== 0x2e) return 0; // .
  for (const i of UTC_DIGITS) if (!isDigit(bytes[start + i])) return 0;
  for (let i = start + 20; i < end - 1; i++) if (!isDigit(bytes[i])) return 0;
  for (let i = 0; i < 19; i++) out[i] = bytes[start + i];
  out[10] = 0x20; // the space between date and time
  out[19] = 0x2e;
  // the fraction's first six digits, zero-padded
  for (let i = 0; i < 6; i++) out[20 + i] = 20 + i < n - 1 ? bytes[start + 20 + i] : 0x30;
  return 26;
}

const isDigit = (b: number) => b >= 0x30 && b <= 0x39;

/** A time with zone (Debezium ZonedTime, `HH:MM:SS[.f]Z`) → UTC TIME text. */
export function zonedTimeToUtc(text: string): string {
  return zonedTimestampToUtc(`1970-01-01T${text}`).slice(11);
}

/**
 * A big-endian two's-complement integer (Kafka Connect Decimal's bytes) → its value: a number
 * for up to 6 bytes (exact below 2^47; most decimals are this small), else a bigint.
 */
export function bytesToInteger(bytes: Uint8Array): number | bigint {
  if (bytes.length > 6) return bytesToBigInt(bytes);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) n = n * 256 + bytes[i];
  return bytes.length && bytes[0] & 0x80 ? n - 2 ** (bytes.length * 8) : n;
}

/** A big-endian two's-complement integer (Kafka Connect Decimal's bytes) → bigint. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let n = 0n;
  for (const byte of bytes) n = (n << 8n) | BigInt(byte);
  return bytes[0] & 0x80 ? n - (1n << BigInt(bytes.length * 8)) : n;
}

const DECIMAL_TEXT = /^-?\d+(?:\.\d+)?$/;

/**
 * `decimal.handling.mode=string`'s text, checked: digits with an optional sign and point (what
 * `BigDecimal.toPlainString` writes), since LOAD DATA writes decimal columns unescaped.
 */
export function decimalText(text: string): string {
  if (!DECIMAL_TEXT.test(text)) throw new Error(`not a decimal number: "${text}"`);
  return text;
}

/**
 * {@linkcode formatDecimal} of the big-endian two's-complement integer `bytes[start]` up to `end`
 * (Kafka Connect Decimal's bytes) as a {@linkcode TextInto}: 0 beyond 6 bytes (a bigint's).
 */
export function decimalInto(
  bytes: Uint8Array,
  start: number,
  end: number,
  scale: number,
  out: Uint8Array,
): number {
  const n = end - start;
  if (n > 6 || scale > TEXT_INTO_BYTES - 3) return 0;
  let value = 0;
  for (let i = start; i < end; i++) value = value * 256 + bytes[i];
  if (n > 0 && bytes[start] & 0x80) value -= 2 ** (n * 8);
  const negative = value < 0;
  let rest = negative ? -value : value;
  let digits = 1;
  for (let v = rest; v >= 10; v = Math.floor(v / 10)) digits++;
  digits = Math.max(digits, scale + 1);
  const length = (negative ? 1 : 0) + digits + (scale > 0 ? 1 : 0);
  let at = length;
  for (let k = 0; k < digits; k++) {
    if (k === scale && scale > 0) out[--at] = 0x2e; // .
    out[--at] = 0x30 + rest % 10;
    rest = Math.floor(rest / 10);
  }
  if (negative) out[0] = 0x2d; // -
  return length;
}

/** An unscaled integer and a scale → exact decimal text (`-12.340`). */
export function formatDecimal(unscaled: number | bigint, scale: number): string {
  const negative = unscaled < 0;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  const text = scale > 0
    ? `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`
    : digits;
  return negative ? `-${text}` : text;
}

function asBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length);
  throw new Error(`expected bytes, got ${typeof value}`);
}

/** A geometry of Debezium's struct (`wkb`, optional `srid`). */
export function geometryValue(wkb: Uint8Array, srid: number | null | undefined): GeometryValue {
  return new GeometryValue(asBuffer(wkb), srid == null ? null : Math.trunc(Number(srid)));
}

// ---- the table ----

/** What a mapping rule sees of one column. */
interface FieldContext {
  column: string;
  schema: AvroSchema;
  avroType: string;
  params: Record<string, string>;
  binaryHandlingMode: MappingOptions["binaryHandlingMode"];
  /** `__debezium.source.column.type` etc., when the connector propagates them. */
  source?: { type: string; length?: number; scale?: number };
}

/** A column type and the conversion of its values. */
interface Mapping {
  type: SqlType;
  convert: (value: unknown) => SqlValue;
  textInto?: TextInto;
}

type Rule = (ctx: FieldContext) => Mapping;

const same = (value: unknown) => value as SqlValue;

/** Kafka Connect Decimal's unscaled bytes of scale `scale` → its text, as values or bytes. */
const unscaledDecimal = (scale: number): Pick<Mapping, "convert" | "textInto"> => ({
  convert: (value) => formatDecimal(bytesToInteger(asBuffer(value)), scale),
  textInto: (bytes, start, end, out) => decimalInto(bytes, start, end, scale, out),
});

/** Fractional seconds: the source column's (none when it propagates no length), else `fallback`. */
const fsp = (ctx: FieldContext, fallback: number) => {
  if (!ctx.source || !/^(TIME|DATETIME|TIMESTAMP)/.test(ctx.source.type)) return fallback;
  const length = ctx.source.length ?? 0;
  return length >= 0 && length <= 6 ? length : fallback;
};

/** The source column's declared type, when Debezium propagates it and `cdc` knows it. */
const declaredType = (ctx: FieldContext) => ctx.source && parseSqlType(ctx.source.type);

/**
 * Geometry structs (`wkb`, `srid`): Debezium names only GEOMETRY and POINT; the source type
 * gives LINESTRING, POLYGON and the rest.
 */
const geometryRule = (name: SqlTypeName): Rule => (ctx) => {
  const declared = declaredType(ctx)?.name;
  return {
    type: { name: declared && familyOf(declared) === "geometry" ? declared : name },
    convert: (v) => {
      const g = v as { wkb: Uint8Array; srid?: number | null };
      return geometryValue(g.wkb, g.srid);
    },
  };
};

/**
 * ENUM/SET with Debezium's `allowed` members. MariaDB shows a table's definition in utf8mb3:
 * a member's 4-byte characters read as `?`, both to Debezium's snapshot (which then sends `?`
 * members) and to `cdc` reading the `_cdc` column back (which would then "add" the real
 * member again at each restart, until MODIFY fails on a duplicated member). Such columns
 * become text wide enough for any value instead.
 */
const membersRule = (name: "ENUM" | "SET"): Rule => (ctx) => {
  const values = splitAllowed(ctx.params.allowed);
  const inexact = values.some((v) => /[?\u{10000}-\u{10FFFF}]/u.test(v));
  return {
    type: inexact
      ? (name === "ENUM" ? { name: "VARCHAR", length: 255 } : { name: "TEXT" })
      : { name, values },
    convert: (v) => unescapeDdlLiteral(String(v)),
  };
};

const withFsp = (name: SqlTypeName, n: number): SqlType => (n > 0 ? { name, fsp: n } : { name });

/** Kafka Connect / Debezium logical types, by `connect.name`. */
const LOGICAL: Record<string, Rule> = {
  "org.apache.kafka.connect.data.Decimal": (ctx) => {
    const scale = parameterNumber(ctx, "scale", 0);
    const declared = declaredType(ctx);
    if (declared?.name === "BIGINT" && declared.unsigned && scale === 0) {
      // bigint.unsigned.handling.mode=precise
      return { type: { name: "BIGINT", unsigned: true }, ...unscaledDecimal(0) };
    }
    const precision = parameterNumber(ctx, "connect.decimal.precision", 65);
    return {
      type: { name: "DECIMAL", precision: Math.min(65, Math.max(precision, scale, 1)), scale },
      ...unscaledDecimal(scale),
    };
  },
  "io.debezium.data.VariableScaleDecimal": () => ({
    type: { name: "DECIMAL", precision: 65, scale: 30 },
    convert: (v) => {
      const { scale, value } = v as { scale: number; value: Uint8Array };
      return formatDecimal(bytesToInteger(value), scale);
    },
  }),
  "org.apache.kafka.connect.data.Date": () => ({
    type: { name: "DATE" },
    convert: (v) => formatDate(Number(v)),
  }),
  "io.debezium.time.Date": () => ({
    type: { name: "DATE" },
    convert: (v) => formatDate(Number(v)),
  }),
  "org.apache.kafka.connect.data.Time": (ctx) => ({
    type: withFsp("TIME", fsp(ctx, 3)),
    convert: (v) => formatTimeMicros(BigInt(v as number) * 1000n),
  }),
  "io.debezium.time.Time": (ctx) => ({
    type: withFsp("TIME", fsp(ctx, 3)),
    convert: (v) => formatTimeMicros(BigInt(v as number) * 1000n),
  }),
  "io.debezium.time.MicroTime": (ctx) => ({
    type: withFsp("TIME", fsp(ctx, 6)),
    convert: (v) => formatTimeMicros(v as number | bigint),
  }),
  "io.debezium.time.NanoTime": (ctx) => ({
    type: withFsp("TIME", fsp(ctx, 6)),
    convert: (v) => formatTimeMicros(BigInt(v as number | bigint) / 1000n),
  }),
  "io.debezium.time.ZonedTime": (ctx) => ({
    type: withFsp("TIME", fsp(ctx, 6)),
    convert: (v) => zonedTimeToUtc(String(v)),
  }),
  "org.apache.kafka.connect.data.Timestamp": (ctx) => ({
    type: withFsp("DATETIME", fsp(ctx, 3)),
    convert: (v) => formatDateTimeMillis(v as number | bigint),
  }),
  "io.debezium.time.Timestamp": (ctx) => ({
    type: withFsp("DATETIME", fsp(ctx, 3)),
    convert: (v) => formatDateTimeMillis(v as number | bigint),
  }),
  "io.debezium.time.MicroTimestamp": (ctx) => ({
    type: withFsp("DATETIME", fsp(ctx, 6)),
    convert: (v) => formatDateTimeMicros(v as number | bigint),
  }),
  "io.debezium.time.NanoTimestamp": (ctx) => ({
    type: withFsp("DATETIME", fsp(ctx, 6)),
    convert: (v) => formatDateTimeMicros(BigInt(v as number | bigint) / 1000n),
  }),
  // TIMESTAMP columns: stored as DATETIME holding UTC, whatever the session zone.
  "io.debezium.time.ZonedTimestamp": (ctx) => ({
    type: withFsp("DATETIME", fsp(ctx, 6)),
    convert: (v) => zonedTimestampToUtc(String(v)),
    textInto: utcTimestampInto,
  }),
  "io.debezium.time.Year": () => ({ type: { name: "YEAR" }, convert: same }),
  "io.debezium.data.Json": () => ({ type: { name: "JSON" }, convert: same }),
  "io.debezium.data.Enum": membersRule("ENUM"),
  "io.debezium.data.EnumSet": membersRule("SET"),
  // BIT(n>1): Debezium sends the bits little-endian; MySQL reads a binary string big-endian.
  "io.debezium.data.Bits": (ctx) => ({
    type: { name: "BIT", length: parameterNumber(ctx, "length", ctx.source?.length ?? 64) },
    convert: (v) => Buffer.from(asBuffer(v)).reverse(),
  }),
  "io.debezium.data.geometry.Geometry": geometryRule("GEOMETRY"),
  "io.debezium.data.geometry.Point": geometryRule("POINT"),
};

function splitAllowed(allowed: string | undefined): string[] {
  return allowed ? allowed.split(",").map(unescapeDdlLiteral) : [];
}

const DDL_ESCAPES: Record<string, string> = {
  "0": "\0",
  n: "\n",
  r: "\r",
  t: "\t",
  Z: "\x1a",
  b: "\b",
};

/**
 * Debezium reads ENUM/SET members from the DDL text and keeps MySQL's
 * backslash escapes (`x\\y` for the member `x\y`); this undoes them.
 */
export function unescapeDdlLiteral(text: string): string {
  return text.includes("\\") ? text.replace(/\\(.)/g, (_, c: string) => DDL_ESCAPES[c] ?? c) : text;
}

/**
 * Every rule of this module's tables, named as {@linkcode ColumnMapping.rules} names them: a
 * test that must cover each (tests/value_paths_test.ts) fails when a rule is added without
 * a case.
 */
export function mappingRules(): string[] {
  return [
    ...Object.keys(LOGICAL),
    ...Object.keys(PRIMITIVE),
    ...Object.keys(SOURCE_RULES).map((family) => `source:${family}`),
  ];
}

/** Fallbacks by Avro primitive, when no logical type says more. */
const PRIMITIVE: Record<string, Rule> = {
  boolean: () => ({ type: { name: "TINYINT", length: 1 }, convert: (v) => (v ? 1 : 0) }),
  int: (ctx) => ({
    type: {
      name: ({ int8: "TINYINT", int16: "SMALLINT" } as Record<string, SqlTypeName>)[
        String(attribute(ctx.schema, "connect.type"))
      ] ?? "INT",
    },
    convert: same,
  }),
  long: () => ({ type: { name: "BIGINT" }, convert: same }),
  float: () => ({ type: { name: "FLOAT" }, convert: same }),
  double: () => ({ type: { name: "DOUBLE" }, convert: same }),
  string: () => ({ type: { name: "LONGTEXT" }, convert: same }),
  bytes: () => ({ type: { name: "LONGBLOB" }, convert: (v) => asBuffer(v) }),
};

/**
 * Refinements by the source column's declared type (`column.propagate.source.type`), for
 * plain primitives, keyed by the declared type's family: exact widths, UNSIGNED, and the
 * bytes behind `binary.handling.mode` base64/hex or `decimal.handling.mode` string.
 * A rule returns undefined to keep the primitive's mapping.
 */
const SOURCE_RULES: Partial<
  Record<Family, (ctx: FieldContext, declared: SqlType, base: Mapping) => Mapping | undefined>
> = {
  // BIT(1) arrives as a boolean; written as one byte, like BIT(n), since a number loaded
  // into a BIT column as text would store its characters' bits.
  bit: (ctx) =>
    ctx.avroType === "boolean"
      ? { type: { name: "BIT", length: 1 }, convert: (v) => Buffer.of(v ? 1 : 0) }
      : undefined,
  // Integers: UNSIGNED and the exact width; TINYINT(1) (BOOLEAN) keeps its display width.
  integer: (ctx, declared, base) => {
    if (ctx.avroType === "boolean") return undefined;
    const type: SqlType = {
      name: declared.name,
      ...(declared.name === "TINYINT" && ctx.source!.length === 1 ? { length: 1 } : {}),
      ...(declared.unsigned ? { unsigned: true } : {}),
    };
    if (declared.name === "BIGINT" && declared.unsigned && ctx.avroType === "long") {
      // bigint.unsigned.handling.mode=long wraps values above 2^63-1; undo it.
      return {
        type,
        convert: (v) =>
          (typeof v === "bigint" || typeof v === "number") && v < 0
            ? BigInt(v) + 2n ** 64n
            : v as SqlValue,
      };
    }
    return { type, convert: base.convert };
  },
  decimal: (ctx, declared) =>
    ctx.avroType === "string" && ctx.source!.length !== undefined
      ? {
        type: { name: declared.name, precision: ctx.source!.length, scale: ctx.source!.scale ?? 0 },
        convert: (v) => decimalText(String(v)),
      }
      : undefined,
  text: sizedStringRule,
  binary: sizedStringRule,
};

/** CHAR/VARCHAR/BINARY/VARBINARY with their length; TEXT/BLOB types as they are. */
function sizedStringRule(ctx: FieldContext, declared: SqlType, base: Mapping): Mapping | undefined {
  const name = declared.name;
  const convert = binaryConvert(ctx, name, base.convert);
  if (SQL_TYPES[name].parameters === "none") return { type: { name }, convert };
  return ctx.source!.length === undefined
    ? undefined
    : { type: { name, length: ctx.source!.length }, convert };
}

/** Binary columns sent as text (`binary.handling.mode` base64/hex) are turned back into bytes. */
function binaryConvert(
  ctx: FieldContext,
  name: SqlTypeName,
  convert: (value: unknown) => SqlValue,
): (value: unknown) => SqlValue {
  if (familyOf(name) !== "binary" || ctx.avroType !== "string") return convert;
  const encoding = ({ hex: "hex", "base64-url-safe": "base64url" } as const)[
    ctx.binaryHandlingMode as "hex" | "base64-url-safe"
  ] ?? "base64";
  return (v) => Buffer.from(String(v), encoding);
}

/** What the connector was told, where the schema alone cannot say. */
export interface MappingOptions {
  /** The connector's `binary.handling.mode`: how binary columns arrive as text. */
  binaryHandlingMode: "bytes" | "base64" | "base64-url-safe" | "hex";
}

export const DEFAULT_MAPPING_OPTIONS: MappingOptions = { binaryHandlingMode: "bytes" };

/**
 * Maps one field of Debezium's row record to a `_cdc` column.
 * Throws {@linkcode UnmappableTypeError} for a type it has no rule for, or whose
 * parameters cannot become valid DDL.
 */
export function mapField(
  field: AvroField,
  names: NamedTypes,
  options: MappingOptions = DEFAULT_MAPPING_OPTIONS,
): ColumnMapping {
  const { schema, referenced } = unwrapOptional(field.type, names);
  const avroType = avroTypeName(schema);
  const params = attribute(schema, "connect.parameters") ?? {};
  // A named type (Geometry, Point) is written once and referenced by later columns, whose
  // schema then carries the first column's parameters: trust them for that column only.
  const own = referenced ? {} : params;
  const sourceType = own["__debezium.source.column.type"];
  const ctx: FieldContext = {
    column: field.name,
    schema,
    avroType,
    params,
    binaryHandlingMode: options.binaryHandlingMode,
    source: sourceType
      ? {
        type: sourceType,
        length: optionalNumber(own["__debezium.source.column.length"]),
        scale: optionalNumber(own["__debezium.source.column.scale"]),
      }
      : undefined,
  };
  const connectName = attribute(schema, "connect.name");
  const logical = connectName ? LOGICAL[connectName] : undefined;
  const rule = logical ?? PRIMITIVE[avroType];
  if (!rule) {
    throw new UnmappableTypeError(
      field.name,
      schema,
      `no mapping for Avro type "${avroType}"${connectName ? ` (${connectName})` : ""}`,
    );
  }
  let mapping = rule(ctx);
  const rules = [logical ? connectName! : avroType];
  // Logical types already carry their exact shape; plain primitives gain it from the source type.
  const declared = !logical && ctx.source ? parseSqlType(ctx.source.type) : undefined;
  const refined = declared && SOURCE_RULES[familyOf(declared)]?.(ctx, declared, mapping);
  if (refined) {
    mapping = refined;
    rules.push(`source:${familyOf(declared!)}`);
  }
  const problem = sqlTypeProblem(mapping.type);
  if (problem) throw new UnmappableTypeError(field.name, schema, problem);
  const convert = mapping.convert;
  return {
    name: own["__debezium.source.column.name"] || field.name,
    field: field.name,
    type: mapping.type,
    convert: (value) => (value === null || value === undefined ? null : convert(value)),
    verbatim: convert === same,
    textInto: mapping.textInto,
    rules,
  };
}

/** A whole-number schema parameter, or `fallback` when absent; anything else is unmappable. */
function parameterNumber(ctx: FieldContext, key: string, fallback: number): number {
  const text = ctx.params[key];
  if (text === undefined) return fallback;
  if (!/^\s*-?\d{1,9}\s*$/.test(text)) {
    throw new UnmappableTypeError(
      ctx.column,
      ctx.schema,
      `parameter ${key} ${JSON.stringify(text)} is not a whole number`,
    );
  }
  return Number(text);
}

function optionalNumber(text: string | undefined): number | undefined {
  return text === undefined || text === ""
    ? undefined
    : /^\s*\d+\s*$/.test(text)
    ? Number(text)
    : NaN;
}
