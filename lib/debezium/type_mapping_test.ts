import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { AvroField } from "../avro/schema.ts";
import { renderSqlType } from "../mysql/sql_types.ts";
import {
  bytesToBigInt,
  bytesToInteger,
  decimalInto,
  decimalText,
  formatDate,
  formatDateTimeMicros,
  formatDateTimeMillis,
  formatDecimal,
  formatTimeMicros,
  mapField,
  TEXT_INTO_BYTES,
  UnmappableTypeError,
  utcTimestampInto,
  zonedTimestampToUtc,
} from "./type_mapping.ts";
import type { GeometryValue } from "../mysql/values.ts";

const field = (type: AvroField["type"]): AvroField => ({ name: "c", type: ["null", type] });
const map = (type: AvroField["type"], options?: Parameters<typeof mapField>[2]) =>
  mapField(field(type), new Map(), options);

Deno.test("dates cover the whole MySQL range", () => {
  assert.equal(formatDate(0), "1970-01-01");
  assert.equal(formatDate(-719162), "0001-01-01");
  assert.equal(formatDate(2932896), "9999-12-31");
});

Deno.test("datetimes keep microseconds, before and after the epoch", () => {
  assert.equal(formatDateTimeMicros(1_700_000_000_123_456), "2023-11-14 22:13:20.123456");
  assert.equal(formatDateTimeMicros(-1), "1969-12-31 23:59:59.999999");
  assert.equal(formatDateTimeMicros(253402300799999999n), "9999-12-31 23:59:59.999999");
});

Deno.test("datetimes in milliseconds agree with Date#toISOString across days, years and the epoch", () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 20_000; i++) {
    // 1000-01-01 … 9999-12-31, with runs of nearby instants as a stream has
    const ms = Math.floor((next() - 0.5) * 2 * 253_402_300_799_999) - (i % 3) * 86_399_999;
    const iso = new Date(ms).toISOString();
    if (!/^\d{4}-/.test(iso)) continue;
    assert.equal(formatDateTimeMillis(ms), `${iso.slice(0, 10)} ${iso.slice(11, 23)}`, String(ms));
  }
  assert.equal(formatDateTimeMillis(0), "1970-01-01 00:00:00.000");
  assert.equal(formatDateTimeMillis(-1), "1969-12-31 23:59:59.999");
  assert.equal(formatDateTimeMillis(1_700_000_000_123n), "2023-11-14 22:13:20.123");
});

Deno.test("times may be negative and beyond 24 hours", () => {
  assert.equal(formatTimeMicros(0), "00:00:00.000000");
  assert.equal(formatTimeMicros(-(838 * 3600 + 59 * 60 + 59) * 1_000_000), "-838:59:59.000000");
  assert.equal(formatTimeMicros(3_723_000_001), "01:02:03.000001");
});

Deno.test("zoned timestamps are converted to UTC, fraction kept", () => {
  assert.equal(zonedTimestampToUtc("2024-02-29T23:30:00.5Z"), "2024-02-29 23:30:00.500000");
  assert.equal(
    zonedTimestampToUtc("2024-03-01T01:30:00.123456+02:00"),
    "2024-02-29 23:30:00.123456",
  );
  assert.throws(() => zonedTimestampToUtc("yesterday"), /not an ISO-8601/);
  assert.equal(zonedTimestampToUtc("2024-02-29T23:30:00Z"), "2024-02-29 23:30:00.000000");
  // only digits reach the text: LOAD DATA writes it unescaped
  for (
    const hostile of ["2024-02-2\tT23:30:00Z", "2024-02-29T23:3\\:00.5Z", "\\N24-02-29T23:30:00Z"]
  ) {
    assert.throws(() => zonedTimestampToUtc(hostile), /not an ISO-8601/, hostile);
  }
});

Deno.test("utcTimestampInto: the bytes zonedTimestampToUtc writes, or 0 for another form", () => {
  const out = new Uint8Array(26);
  const into = (text: string) => {
    const bytes = new TextEncoder().encode(`xx${text}yy`);
    const n = utcTimestampInto(bytes, 2, bytes.length - 2, out);
    return n ? new TextDecoder().decode(out.subarray(0, n)) : n;
  };
  for (const fraction of ["", ".5", ".12", ".123456", ".1234567", ".123456789"]) {
    const text = `2024-02-29T23:30:07${fraction}Z`;
    assert.equal(into(text), zonedTimestampToUtc(text), text);
  }
  for (
    const other of [
      "2024-03-01T01:30:00.123456+02:00",
      "12024-02-29T23:30:00Z",
      "2024-02-29T23:30:00.Z",
      "2024-02-29T23:30:00.1234567890Z",
      "2024-02-2\tT23:30:00Z",
      "2024-02-29 23:30:00Z",
      "\\N24-02-29T23:30:00Z",
      "yesterday",
    ]
  ) {
    assert.equal(into(other), 0, other);
  }
});

Deno.test("decimalInto: the text formatDecimal makes of the same bytes, or 0 beyond 6 bytes", () => {
  const out = new Uint8Array(TEXT_INTO_BYTES);
  const into = (bytes: number[], scale: number) => {
    const n = decimalInto(Uint8Array.from([9, ...bytes]), 1, bytes.length + 1, scale, out);
    return n ? new TextDecoder().decode(out.subarray(0, n)) : n;
  };
  const samples = [[], [0], [1], [0xff], [0x80], [0x7f, 0xff], [0x04, 0xd2], [0xfb, 0x2e]];
  for (let n = 1; n <= 6; n++) {
    samples.push(Array.from({ length: n }, (_, i) => (i * 97 + n * 31) % 256));
    samples.push([0x80, ...Array(n - 1).fill(0)], [0x7f, ...Array(n - 1).fill(0xff)]);
  }
  for (const bytes of samples) {
    for (const scale of [0, 1, 2, 5, 10, 30]) {
      const expected = formatDecimal(bytesToInteger(Uint8Array.from(bytes)), scale);
      assert.equal(into(bytes, scale), expected, `${bytes} scale ${scale}`);
    }
  }
  assert.equal(into([1, 2, 3, 4, 5, 6, 7], 2), 0, "7 bytes: the bigint way");
});

Deno.test("decimalText: decimal.handling.mode=string's numbers as they are, anything else refused", () => {
  for (const text of ["0", "-0.01", "12.50", "123456789012345678901234567890.123"]) {
    assert.equal(decimalText(text), text);
  }
  for (const text of ["", "1e5", "+1", "1.", ".5", "1\t2", "\\N", "NaN"]) {
    assert.throws(() => decimalText(text), /not a decimal number/, JSON.stringify(text));
  }
});

Deno.test("decimals from Connect's two's-complement bytes are exact", () => {
  assert.equal(bytesToBigInt(new Uint8Array([0xff])), -1n);
  assert.equal(bytesToBigInt(new Uint8Array([0x00, 0x80])), 128n);
  assert.equal(formatDecimal(-1234n, 3), "-1.234");
  assert.equal(formatDecimal(5n, 3), "0.005");
  assert.equal(
    formatDecimal(10n ** 65n - 1n, 30),
    "99999999999999999999999999999999999.999999999999999999999999999999",
  );
});

Deno.test("bytesToInteger: numbers up to 6 bytes, bigints beyond, equal to bytesToBigInt", () => {
  const cases = [[], [0], [0x7f], [0x80], [0xff], [0x00, 0x80], [0x80, 0x00]];
  for (let length = 1; length <= 8; length++) {
    cases.push(Array(length).fill(0xff), [0x80, ...Array(length - 1).fill(0)]);
    cases.push([0x7f, ...Array(length - 1).fill(0xff)]);
    for (let i = 0; i < 50; i++) {
      cases.push(Array.from({ length }, () => Math.floor(Math.random() * 256)));
    }
  }
  for (const bytes of cases.map((c) => new Uint8Array(c))) {
    const value = bytesToInteger(bytes);
    assert.equal(typeof value, bytes.length > 6 ? "bigint" : "number", `${bytes}`);
    assert.equal(BigInt(value), bytesToBigInt(bytes), `${bytes}`);
    for (const scale of [0, 2, 9]) {
      assert.equal(formatDecimal(value, scale), formatDecimal(bytesToBigInt(bytes), scale));
    }
  }
});

Deno.test("mapField: the type-mapping table for Debezium's default schemas", () => {
  const cases: [AvroField["type"], string][] = [
    ["boolean", "TINYINT(1)"],
    [{ type: "int", "connect.type": "int16" }, "SMALLINT"],
    ["int", "INT"],
    ["long", "BIGINT"],
    ["float", "FLOAT"],
    ["double", "DOUBLE"],
    ["string", "LONGTEXT"],
    ["bytes", "LONGBLOB"],
    [{
      type: "bytes",
      "connect.name": "org.apache.kafka.connect.data.Decimal",
      "connect.parameters": { scale: "2", "connect.decimal.precision": "10" },
    }, "DECIMAL(10,2)"],
    [{ type: "int", "connect.name": "io.debezium.time.Date" }, "DATE"],
    [{ type: "long", "connect.name": "io.debezium.time.MicroTime" }, "TIME(6)"],
    [{ type: "long", "connect.name": "io.debezium.time.Timestamp" }, "DATETIME(3)"],
    [{ type: "long", "connect.name": "io.debezium.time.MicroTimestamp" }, "DATETIME(6)"],
    [{ type: "string", "connect.name": "io.debezium.time.ZonedTimestamp" }, "DATETIME(6)"],
    [{ type: "int", "connect.name": "io.debezium.time.Year" }, "YEAR"],
    [{ type: "string", "connect.name": "io.debezium.data.Json" }, "JSON"],
    [{
      type: "string",
      "connect.name": "io.debezium.data.Enum",
      "connect.parameters": { allowed: "S,M,L" },
    }, "ENUM('S','M','L')"],
    [{
      type: "string",
      "connect.name": "io.debezium.data.EnumSet",
      "connect.parameters": { allowed: "a,b" },
    }, "SET('a','b')"],
    [{
      type: "bytes",
      "connect.name": "io.debezium.data.Bits",
      "connect.parameters": { length: "64" },
    }, "BIT(64)"],
  ];
  for (const [type, sql] of cases) {
    assert.equal(renderSqlType(map(type).type), sql, JSON.stringify(type));
  }
});

Deno.test("mapField: values convert to what MySQL stores", () => {
  const decimal = map({
    type: "bytes",
    "connect.name": "org.apache.kafka.connect.data.Decimal",
    "connect.parameters": { scale: "2" },
  });
  assert.equal(decimal.convert(Buffer.from([0x30, 0x39])), "123.45");
  assert.equal(decimal.convert(null), null);
  assert.equal(map("boolean").convert(true), 1);
  assert.equal(
    map({ type: "int", "connect.name": "io.debezium.time.Date" }).convert(19000),
    "2022-01-08",
  );
  const bits = map({
    type: "bytes",
    "connect.name": "io.debezium.data.Bits",
    "connect.parameters": { length: "16" },
  });
  assert.deepEqual([...(bits.convert(Buffer.from([0x01, 0x80])) as Buffer)], [0x80, 0x01]);
  const geometry = map({
    type: "record",
    name: "Geometry",
    namespace: "io.debezium.data.geometry",
    fields: [{ name: "wkb", type: "bytes" }, { name: "srid", type: ["null", "int"] }],
    "connect.name": "io.debezium.data.geometry.Geometry",
  });
  const value = geometry.convert({ wkb: Buffer.from([1, 2]), srid: 4326 }) as GeometryValue;
  assert.equal(value.toSqlString(), "ST_GeomFromWKB(X'0102', 4326)");
  const noSrid = geometry.convert({ wkb: Buffer.from([1, 2]), srid: null }) as GeometryValue;
  assert.equal(noSrid.toSqlString(), "ST_GeomFromWKB(X'0102')");
});

Deno.test("mapField: propagated source types give exact columns and undo lossy encodings", () => {
  const source = (type: string, length?: string, scale?: string) => ({
    "__debezium.source.column.type": type,
    ...(length ? { "__debezium.source.column.length": length } : {}),
    ...(scale ? { "__debezium.source.column.scale": scale } : {}),
  });
  const unsignedBig = map({ type: "long", "connect.parameters": source("BIGINT UNSIGNED", "20") });
  assert.equal(renderSqlType(unsignedBig.type), "BIGINT UNSIGNED");
  assert.equal(unsignedBig.convert(-1), 18446744073709551615n);
  assert.equal(
    renderSqlType(map({ type: "string", "connect.parameters": source("VARCHAR", "255") }).type),
    "VARCHAR(255)",
  );
  assert.equal(
    renderSqlType(map({ type: "int", "connect.parameters": source("INT UNSIGNED", "10") }).type),
    "INT UNSIGNED",
  );
  const stringDecimal = map({
    type: "string",
    "connect.parameters": source("DECIMAL", "65", "30"),
  });
  assert.equal(renderSqlType(stringDecimal.type), "DECIMAL(65,30)");
  const base64 = map({ type: "string", "connect.parameters": source("VARBINARY", "16") }, {
    binaryHandlingMode: "base64",
  });
  assert.deepEqual([...(base64.convert("AQI=") as Buffer)], [1, 2]);
  const hex = map({ type: "string", "connect.parameters": source("BLOB") }, {
    binaryHandlingMode: "hex",
  });
  assert.deepEqual([...(hex.convert("0a0b") as Buffer)], [10, 11]);
  const datetime = map({
    type: "long",
    "connect.name": "io.debezium.time.Timestamp",
    "connect.parameters": source("DATETIME", "2"),
  });
  assert.equal(renderSqlType(datetime.type), "DATETIME(2)");
});

Deno.test("mapField: a type without a rule is an UnmappableTypeError naming the column", () => {
  assert.throws(
    () => mapField({ name: "tags", type: { type: "array", items: "string" } }, new Map()),
    (e: unknown) => e instanceof UnmappableTypeError && /column "tags"/.test(e.message),
  );
});

Deno.test("ENUM members and values lose the DDL escapes Debezium keeps", () => {
  const mapped = map({
    type: "string",
    "connect.name": "io.debezium.data.Enum",
    "connect.parameters": { allowed: "a,x\\\\y,it's" },
  });
  assert.deepEqual(mapped.type.values, ["a", "x\\y", "it's"]);
  assert.equal(mapped.convert("x\\\\y"), "x\\y");
});

Deno.test("mapField: source types keep BOOLEAN, BIT(1), fsp 0, BIGINT UNSIGNED and geometry subtypes", () => {
  const source = (type: string, length?: string) => ({
    "__debezium.source.column.type": type,
    ...(length ? { "__debezium.source.column.length": length } : {}),
  });
  const sql = (type: AvroField["type"]) => renderSqlType(map(type).type);
  const withSource = (
    schema: { type: string; [key: string]: unknown },
    type: string,
    length?: string,
  ) => ({ ...schema, "connect.parameters": source(type, length) }) as AvroField["type"];
  // BOOLEAN is TINYINT(1): the one display width tools read as a type.
  assert.equal(
    sql(withSource({ type: "int", "connect.type": "int16" }, "TINYINT", "1")),
    "TINYINT(1)",
  );
  assert.equal(
    sql(withSource({ type: "int", "connect.type": "int16" }, "TINYINT", "4")),
    "TINYINT",
  );
  // BIT(1) arrives as an Avro boolean.
  const bit = map(withSource({ type: "boolean" }, "BIT", "1"));
  assert.equal(renderSqlType(bit.type), "BIT(1)");
  assert.deepEqual(bit.convert(true), Buffer.of(1));
  assert.deepEqual(bit.convert(false), Buffer.of(0));
  // No length propagated means no fractional seconds.
  for (
    const [connectName, type] of [
      ["io.debezium.time.MicroTime", "TIME"],
      ["org.apache.kafka.connect.data.Time", "TIME"],
      ["io.debezium.time.MicroTimestamp", "DATETIME"],
      ["io.debezium.time.ZonedTimestamp", "TIMESTAMP"],
    ]
  ) {
    const expected = type === "TIMESTAMP" ? "DATETIME" : type;
    assert.equal(sql(withSource({ type: "long", "connect.name": connectName }, type)), expected);
  }
  // bigint.unsigned.handling.mode=precise: a Decimal(20,0) that is a BIGINT UNSIGNED.
  const decimal = { type: "bytes", "connect.name": "org.apache.kafka.connect.data.Decimal" };
  const unsigned = map(withSource(decimal, "BIGINT UNSIGNED", "20"));
  assert.equal(renderSqlType(unsigned.type), "BIGINT UNSIGNED");
  assert.equal(
    unsigned.convert(Buffer.from([0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
    "18446744073709551615",
  );
  // LINESTRING, POLYGON, ... arrive as Geometry.
  const geometry = {
    type: "record",
    name: "Geometry",
    fields: [],
    "connect.name": "io.debezium.data.geometry.Geometry",
  };
  const types =
    "LINESTRING POLYGON MULTIPOINT MULTILINESTRING MULTIPOLYGON GEOMETRYCOLLECTION GEOMETRY";
  for (const type of types.split(" ")) assert.equal(sql(withSource(geometry, type)), type);
});

Deno.test("mapField: ENUM/SET members MariaDB cannot show (4-byte characters, ?) become text", () => {
  const enumOf = (allowed: string, name = "io.debezium.data.Enum") =>
    map({ type: "string", "connect.name": name, "connect.parameters": { allowed } });
  assert.equal(renderSqlType(enumOf("a,é?").type), "VARCHAR(255)");
  assert.equal(enumOf("a,é?").convert("é😀"), "é😀");
  assert.equal(renderSqlType(enumOf("x,?", "io.debezium.data.EnumSet").type), "TEXT");
  assert.equal(renderSqlType(enumOf("S,XL😀").type), "VARCHAR(255)");
  assert.equal(renderSqlType(enumOf("a,é").type), "ENUM('a','é')");
});

Deno.test("mapField: a named type's source parameters belong to the column that defined it", () => {
  const geometry = {
    type: "record",
    name: "Geometry",
    namespace: "io.debezium.data.geometry",
    fields: [{ name: "wkb", type: "bytes" }, { name: "srid", type: ["null", "int"] }],
    "connect.name": "io.debezium.data.geometry.Geometry",
    "connect.parameters": {
      "__debezium.source.column.type": "LINESTRING",
      "__debezium.source.column.name": "path",
    },
  };
  const names = new Map([["io.debezium.data.geometry.Geometry", geometry]]);
  const path = mapField({ name: "path", type: ["null", geometry] }, names);
  const area = mapField(
    { name: "area", type: ["null", "io.debezium.data.geometry.Geometry"] },
    names,
  );
  assert.equal(renderSqlType(path.type), "LINESTRING");
  assert.equal(renderSqlType(area.type), "GEOMETRY");
});

Deno.test("mapField: columns keep their source names, and renamed columns their source types", () => {
  // `big u` is not a legal Avro name: Debezium writes the field as big_u and says the real name.
  const bigU = mapField({
    name: "big_u",
    type: ["null", {
      type: "long",
      "connect.parameters": {
        "__debezium.source.column.type": "BIGINT UNSIGNED",
        "__debezium.source.column.length": "20",
        "__debezium.source.column.name": "big u",
      },
    }],
  }, new Map());
  assert.equal(bigU.name, "big u");
  assert.equal(bigU.field, "big_u");
  assert.equal(renderSqlType(bigU.type), "BIGINT UNSIGNED");
  assert.equal(bigU.convert(-1), 18446744073709551615n);
  const lineNo = mapField({
    name: "line_no",
    type: ["null", {
      type: "string",
      "connect.parameters": {
        "__debezium.source.column.type": "VARCHAR",
        "__debezium.source.column.length": "10",
        "__debezium.source.column.name": "line no",
      },
    }],
  }, new Map());
  assert.equal(lineNo.name, "line no");
  assert.equal(renderSqlType(lineNo.type), "VARCHAR(10)");
  // Without propagated source types, the Avro name is all there is.
  assert.equal(mapField({ name: "a_b", type: "int" }, new Map()).name, "a_b");
});

Deno.test("mapField: schema parameters that cannot become valid DDL are unmappable, never SQL", () => {
  const decimal = (parameters: Record<string, string>) =>
    map({
      type: "bytes",
      "connect.name": "org.apache.kafka.connect.data.Decimal",
      "connect.parameters": parameters,
    });
  for (
    const parameters of <Record<string, string>[]> [
      { scale: "2) ; DROP TABLE x; --" },
      { scale: "-1" },
      { scale: "31" },
      { scale: "2.5" },
      { scale: "2", "connect.decimal.precision": "1e3" },
    ]
  ) {
    assert.throws(() => decimal(parameters), UnmappableTypeError, JSON.stringify(parameters));
  }
  assert.equal(
    renderSqlType(decimal({ scale: " 2", "connect.decimal.precision": "10" }).type),
    "DECIMAL(10,2)",
  );
  const sourced = (type: string, length: string) =>
    map({
      type: "string",
      "connect.parameters": {
        "__debezium.source.column.type": type,
        "__debezium.source.column.length": length,
      },
    });
  assert.throws(() => sourced("VARCHAR", "10); DROP TABLE x; --"), UnmappableTypeError);
  assert.throws(() => sourced("VARCHAR", "70000"), /VARCHAR length 70000/);
  assert.throws(
    () =>
      map({
        type: "bytes",
        "connect.name": "io.debezium.data.Bits",
        "connect.parameters": { length: "65" },
      }),
    /BIT length 65/,
  );
  assert.throws(
    () =>
      map({
        type: "string",
        "connect.name": "io.debezium.data.Enum",
        "connect.parameters": { allowed: "" },
      }),
    /ENUM needs at least one member/,
  );
});

Deno.test("formatDate: the calendar of Date#toISOString, year 0 to 9999 and beyond", () => {
  const iso = (days: number) => new Date(days * 86_400_000).toISOString().slice(0, 10);
  const first = -719_528; // 0000-01-01
  const last = 2_932_896; // 9999-12-31
  assert.equal(formatDate(first), "0000-01-01");
  assert.equal(formatDate(last), "9999-12-31");
  for (let days = first - 400; days <= last + 400; days += days % 97 === 0 ? 1 : 13) {
    assert.equal(formatDate(days), iso(days), `day ${days}`);
  }
  for (const days of [-1, 0, 1, 59, 60, 11_016, 11_017, -141_427, 10_957, 2_932_897]) {
    assert.equal(formatDate(days), iso(days), `day ${days}`);
  }
});

Deno.test("formatDateTimeMillis: right however seconds repeat or interleave (its recent-seconds cache)", () => {
  const iso = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 23);
  const seconds = [0, 1, 86_399, 1_700_000_000, 1_700_000_001, -1, 253_402_300_799];
  const values: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const pick = i % 7 === 0 ? Math.floor(Math.random() * 7) : (i * 5) % 7; // runs and rotations
    values.push(seconds[pick] * 1000 + (i % 1000));
  }
  for (const ms of values) assert.equal(formatDateTimeMillis(ms), iso(ms), `${ms}`);
});
