/**
 * The `all_types` source table of tests/types_test.ts: one column per MySQL/MariaDB type
 * (and per fractional-seconds precision), three edge-value rows (minimum, maximum, an
 * awkward middle) plus a row of NULLs, and, per connector mode, what `_cdc` must hold.
 *
 * Expectations are rules, not recorded results: the `_cdc` column type is the source's own
 * (read from information_schema) unless a mode says otherwise, and a value is compared with
 * the source value on the server, `<=>` unless a mode documents another equivalence.
 *
 * @module
 */

/** The Debezium connector modes that change how a column family travels. */
export interface Modes {
  /** `decimal.handling.mode`: DECIMAL columns. */
  decimal: "precise" | "double" | "string";
  /** `time.precision.mode`: TIME and DATETIME columns (TIMESTAMP is always ZonedTimestamp). */
  time: "adaptive_time_microseconds" | "connect";
  /** `binary.handling.mode`: BINARY, VARBINARY and BLOB columns. */
  binary: "bytes" | "base64" | "base64-url-safe" | "hex";
  /** `bigint.unsigned.handling.mode`: BIGINT UNSIGNED columns. */
  bigint: "long" | "precise";
  /**
   * Whether schemas carry each column's source type: by column name
   * (`column.propagate.source.type=.*`), by type name (`datatype.propagate.source.type=.*`),
   * or not at all.
   */
  sourceTypes: "column" | "datatype" | false;
}

/** One column of `all_types`. */
export interface TypeColumn {
  name: string;
  /** The source column type, as in CREATE TABLE. */
  ddl: string;
  /**
   * SQL literals of the edge rows: minimum, maximum, an awkward middle and one more (in range
   * for every mode); {@link insertRowsSql} adds a row of NULLs.
   */
  values: readonly [string, string, string, string];
  /**
   * The `_cdc` COLUMN_TYPE, given the source's COLUMN_TYPE and the modes; by default the
   * source's own.
   */
  sinkType?: (sourceType: string, modes: Modes) => string;
  /**
   * A SQL condition true when the sink value `k` stands for the source value `s`;
   * by default `s <=> k` (equal, or both NULL).
   */
  equal?: (s: string, k: string, modes: Modes) => string;
}

/** Integer types: the signed range, the unsigned range with its middle just above 2^(bits-1)-1. */
const INTEGERS: [string, number][] = [
  ["TINYINT", 8],
  ["SMALLINT", 16],
  ["MEDIUMINT", 24],
  ["INT", 32],
  ["BIGINT", 64],
];

const integerColumns: TypeColumn[] = INTEGERS.flatMap(([type, bits]) => {
  const half = 2n ** BigInt(bits - 1);
  return [
    {
      name: `${type.toLowerCase()}_s`,
      ddl: type,
      values: [`${-half}`, `${half - 1n}`, "-1", "1"],
    },
    {
      name: `${type.toLowerCase()}_u`,
      ddl: `${type} UNSIGNED`,
      values: ["0", `${2n * half - 1n}`, `${half}`, "1"],
    },
  ] as TypeColumn[];
});

/** Fractional digits `digits` cut to `n` (with the dot), `""` for n = 0. */
const fraction = (digits: string, n: number) => (n > 0 ? `.${digits.slice(0, n)}` : "");

/**
 * Under `time.precision.mode=connect` Debezium sends TIME and DATETIME in milliseconds
 * (Kafka Connect's Time and Timestamp): the sink holds the source value cut to 3 digits.
 * Connect's Time is a time of day: Debezium sends NULL (and logs "Failed to properly convert
 * data value") for a TIME outside 00:00:00 to 23:59:59.999.
 */
function connectMillis(sqlType: "TIME" | "DATETIME", fsp: number) {
  return (s: string, k: string, modes: Modes) => {
    if (modes.time !== "connect") return `${s} <=> ${k}`;
    const millis = fsp > 3 ? `CAST(${s} AS ${sqlType}(3)) <=> ${k}` : `${s} <=> ${k}`;
    return sqlType === "TIME"
      ? `IF(${s} >= TIME'00:00:00' AND ${s} < TIME'24:00:00', ${millis}, ${k} IS NULL)`
      : millis;
  };
}

const timeColumns: TypeColumn[] = [0, 1, 2, 3, 4, 5, 6].flatMap((n) => [
  {
    name: `time_${n}`,
    ddl: `TIME(${n})`,
    values: [
      `'-838:59:59${fraction("999999", n)}'`,
      `'838:59:59${fraction("999999", n)}'`,
      n > 0 ? `'-00:00:00.${"0".repeat(n - 1)}1'` : `'-00:00:01'`,
      `'23:59:59${fraction("987654", n)}'`,
    ],
    equal: connectMillis("TIME", n),
  },
  {
    name: `datetime_${n}`,
    ddl: `DATETIME(${n})`,
    values: [
      `'1000-01-01 00:00:00'`,
      `'9999-12-31 23:59:59${fraction("999999", n)}'`,
      `'1969-12-31 23:59:59${fraction("987654", n)}'`,
      `'2024-02-29 12:34:56${fraction("789012", n)}'`,
    ],
    equal: connectMillis("DATETIME", n),
  },
  {
    // Inserted in a +05:30 session: the values below are 1970-01-01 00:00:01 UTC (the
    // minimum), 2038-01-19 03:14:07.999999 UTC (the maximum) and 2024-02-28 23:59:59.5 UTC
    // (another day in UTC than in the session). `_cdc` holds DATETIME in UTC; the test
    // compares in a UTC session.
    name: `timestamp_${n}`,
    ddl: `TIMESTAMP(${n}) NULL DEFAULT NULL`,
    values: [
      `'1970-01-01 05:30:01'`,
      `'2038-01-19 08:44:07${fraction("999999", n)}'`,
      `'2024-02-29 05:29:59${fraction("500001", n)}'`,
      `'2000-01-01 00:00:00${fraction("000001", n)}'`,
    ],
    sinkType: (source) => source.replace("timestamp", "datetime"),
  },
]);

const geometry = (wkt: string, srid = 0) => `ST_GeomFromText('${wkt}', ${srid})`;

/**
 * Debezium writes every geometry column but POINT as the one named Avro record
 * `io.debezium.data.geometry.Geometry`, defined at its first column (geometry_c here) and
 * referenced by the later ones: their own source type is not in the schema, so `_cdc` has
 * GEOMETRY for them (holding the same values).
 */
const sharedGeometry = () => "geometry";

/** The columns of `all_types`, after the `id` key. */
export const TYPE_COLUMNS: readonly TypeColumn[] = [
  ...integerColumns,
  { name: "bool_c", ddl: "BOOLEAN", values: ["0", "1", "-128", "127"] },
  {
    name: "float_c",
    ddl: "FLOAT",
    values: ["-3.40282e38", "3.40282e38", "-0.1", "1.17549e-38"],
  },
  {
    name: "double_c",
    ddl: "DOUBLE",
    values: [
      "-1.7976931348623157e308",
      "1.7976931348623157e308",
      "2.2250738585072014e-308",
      "0.1",
    ],
  },
  ...[
    [
      "decimal_65_30",
      "DECIMAL(65,30)",
      `${"9".repeat(35)}.${"9".repeat(30)}`,
      `0.${"0".repeat(29)}1`,
      "12345678901234567890.123456789012345678901234567891",
    ],
    ["decimal_5_2", "DECIMAL(5,2)", "999.99", "-0.01", "123.45"],
  ].map(([name, ddl, max, middle, more]): TypeColumn => ({
    name,
    ddl,
    values: [`-${max}`, max, middle, more],
    // double: Debezium sends BigDecimal.doubleValue(), the double nearest the decimal,
    // which is what the server's own CAST(... AS DOUBLE) computes.
    sinkType: (source, modes) => (modes.decimal === "double" ? "double" : source),
    equal: (s, k, modes) =>
      modes.decimal === "double" ? `CAST(${s} AS DOUBLE) <=> ${k}` : `${s} <=> ${k}`,
  })),
  { name: "char_c", ddl: "CHAR(10)", values: ["''", `'${"😀".repeat(10)}'`, "'ü é'", "'x\\0y'"] },
  {
    name: "varchar_c",
    ddl: "VARCHAR(255)",
    values: ["''", `'${"x😀".repeat(127)}y'`, "'trailing spaces  '", "'nul\\0inside'"],
  },
  { name: "tinytext_c", ddl: "TINYTEXT", values: ["''", `'${"😀".repeat(63)}'`, "'\\t'", "'😀'"] },
  {
    name: "text_c",
    ddl: "TEXT",
    values: ["''", `REPEAT('ab😀', 2000)`, `'line\\nbreak\\ttab\\\\back''quote"'`, "'\\\\'"],
  },
  { name: "mediumtext_c", ddl: "MEDIUMTEXT", values: ["''", `REPEAT('é', 40000)`, "'0'", "'é'"] },
  { name: "longtext_c", ddl: "LONGTEXT", values: ["''", `REPEAT('😀', 20000)`, "' '", "'\\0'"] },
  {
    name: "binary_c",
    ddl: "BINARY(4)",
    values: ["X'00000000'", "X'FFFFFFFF'", "X'00FF'", "X'FF'"],
  },
  {
    name: "varbinary_c",
    ddl: "VARBINARY(16)",
    values: ["X''", `X'${"FF00".repeat(8)}'`, "X'00'", "X'00000000'"],
  },
  {
    name: "tinyblob_c",
    ddl: "TINYBLOB",
    values: ["X''", `X'${"FF".repeat(255)}'`, "X'0A0D'", "X'FF'"],
  },
  {
    name: "blob_c",
    ddl: "BLOB",
    values: [
      "X''",
      `X'${Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0")).join("")}'`,
      "X'00'",
      "X'FFFE'",
    ],
  },
  {
    name: "longblob_c",
    ddl: "LONGBLOB",
    values: ["X''", `REPEAT(X'00FF', 40000)`, "X'FB'", "X'00'"],
  },
  {
    name: "date_c",
    ddl: "DATE",
    values: ["'1000-01-01'", "'9999-12-31'", "'1969-12-31'", "'2024-02-29'"],
  },
  ...timeColumns,
  { name: "year_c", ddl: "YEAR", values: ["1901", "2155", "2000", "1999"] },
  {
    name: "json_c",
    ddl: "JSON",
    values: [
      `'[]'`,
      `'{"a": [1, 2, {"b": null}], "c": "ü😀", "d": {"e": 1.5e300, "f": true, "g": "\\\\u0000"}}'`,
      `'null'`,
      `'[[[[[{"deep": [1.0, -0, 1e-7]}]]]]]'`,
    ],
  },
  {
    name: "enum_c",
    ddl: "ENUM('a','b','c d','é😀','it''s')",
    values: ["'a'", "'é😀'", "'it''s'", "'c d'"],
    // MariaDB's table definition shows the emoji as '?': Debezium's member list cannot be
    // trusted, so cdc keeps the values as text. The snapshot reads the real value; the binlog
    // carries the member's index, which Debezium maps to its '?' member: what the source
    // value reads as in utf8mb3.
    sinkType: (source) => (source.includes("?") ? "varchar(255)" : source),
    equal: (s, k) => `${s} <=> ${k} OR CONVERT(${s} USING utf8mb3) <=> ${k}`,
  },
  { name: "set_c", ddl: "SET('x','y','z w')", values: ["''", "'x,y,z w'", "'y'", "'x,z w'"] },
  { name: "bit_1", ddl: "BIT(1)", values: ["b'0'", "b'1'", "b'1'", "b'0'"] },
  {
    name: "bit_10",
    ddl: "BIT(10)",
    values: ["b'0'", "b'1111111111'", "b'1000000001'", "b'0000000001'"],
  },
  {
    name: "bit_64",
    ddl: "BIT(64)",
    values: ["b'0'", "0xFFFFFFFFFFFFFFFF", "0x0123456789ABCDEF", "b'1'"],
  },
  {
    name: "geometry_c",
    ddl: "GEOMETRY",
    values: [
      geometry("POINT(0 0)"),
      geometry("POLYGON((0 0,10 0,10 10,0 10,0 0))", 4326),
      geometry("LINESTRING(-1.5 2.25,3 4)"),
      geometry("POINT(0.5 -0.25)", 3857),
    ],
  },
  {
    name: "point_c",
    ddl: "POINT",
    values: [
      geometry("POINT(0 0)"),
      geometry("POINT(-179.999999 89.999999)", 4326),
      geometry("POINT(1e300 -1e-300)"),
      geometry("POINT(0.5 -0.25)", 3857),
    ],
  },
  {
    name: "linestring_c",
    sinkType: sharedGeometry,
    ddl: "LINESTRING",
    values: [
      geometry("LINESTRING(0 0,1 1)"),
      geometry("LINESTRING(0 0,1 1,2 0,3 1,4 0)", 4326),
      geometry("LINESTRING(-0.5 -0.5,0.5 0.5)"),
      geometry("LINESTRING(0.5 -0.25,1 1)", 3857),
    ],
  },
  {
    name: "polygon_c",
    sinkType: sharedGeometry,
    ddl: "POLYGON",
    values: [
      geometry("POLYGON((0 0,1 0,1 1,0 0))"),
      geometry("POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,2 3,3 3,2 2))", 4326),
      geometry("POLYGON((-1 -1,1 -1,0 1,-1 -1))"),
      geometry("POLYGON((0 0,0.5 0,0 0.5,0 0))", 3857),
    ],
  },
  {
    name: "multipoint_c",
    sinkType: sharedGeometry,
    ddl: "MULTIPOINT",
    values: [
      geometry("MULTIPOINT(0 0)"),
      geometry("MULTIPOINT(0 0,1 1,2 2)", 4326),
      geometry("MULTIPOINT(-1 -1,1 1)"),
      geometry("MULTIPOINT(0.5 -0.25)", 3857),
    ],
  },
  {
    name: "multilinestring_c",
    sinkType: sharedGeometry,
    ddl: "MULTILINESTRING",
    values: [
      geometry("MULTILINESTRING((0 0,1 1))"),
      geometry("MULTILINESTRING((0 0,1 1),(2 2,3 3,4 4))", 4326),
      geometry("MULTILINESTRING((-1 0,1 0))"),
      geometry("MULTILINESTRING((0.5 -0.25,1 1))", 3857),
    ],
  },
  {
    name: "multipolygon_c",
    sinkType: sharedGeometry,
    ddl: "MULTIPOLYGON",
    values: [
      geometry("MULTIPOLYGON(((0 0,1 0,1 1,0 0)))"),
      geometry("MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))", 4326),
      geometry("MULTIPOLYGON(((-1 -1,1 -1,0 1,-1 -1)))"),
      geometry("MULTIPOLYGON(((0 0,0.5 0,0 0.5,0 0)))", 3857),
    ],
  },
  {
    name: "geometrycollection_c",
    sinkType: sharedGeometry,
    ddl: "GEOMETRYCOLLECTION",
    values: [
      geometry("GEOMETRYCOLLECTION(POINT(0 0))"),
      geometry("GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1 1))", 4326),
      geometry("GEOMETRYCOLLECTION(POLYGON((0 0,1 0,1 1,0 0)),MULTIPOINT(2 2,3 3))"),
      geometry("GEOMETRYCOLLECTION(POINT(0.5 -0.25))", 3857),
    ],
  },
];

/**
 * The `_cdc` COLUMN_TYPE for a source COLUMN_TYPE when the connector propagates no source
 * types (Debezium's defaults, `bigint.unsigned.handling.mode=precise`): what the Avro and
 * Kafka Connect types alone say. First match wins.
 */
const PLAIN_TYPES: [RegExp, string | null][] = [
  [/^tinyint\b|^smallint\(\d+\)$/, "smallint(6)"], // Connect int16
  [/^smallint\b|^mediumint\b|^int\(\d+\)$/, "int(11)"], // int32
  [/^int\b|^bigint\(\d+\)$/, "bigint(20)"], // int64
  [/^bigint\b/, "decimal(20,0)"], // BIGINT UNSIGNED, precise: Decimal(20,0)
  [/^bit\(1\)$/, "tinyint(1)"], // an Avro boolean
  [/^(var)?char\b|text$/, "longtext"],
  [/^(var)?binary\b|blob$/, "longblob"],
  [/^time\b/, "time(6)"], // MicroTime
  [/^datetime(\([0-3]\))?$/, "datetime(3)"], // Timestamp (milliseconds)
  [/^datetime|^timestamp/, "datetime(6)"], // MicroTimestamp; ZonedTimestamp, in UTC
  [/^enum\(.*\?/, "varchar(255)"], // members MariaDB shows with '?': see enum_c
  [/^(multi|linestring|polygon|geometrycollection)/, "geometry"], // Debezium's Geometry
  [/./, null], // the rest: the source type itself
];

/** The `_cdc` COLUMN_TYPE expected for a column, given the source's and the modes. */
export function expectedSinkType(column: TypeColumn, sourceType: string, modes: Modes): string {
  if (modes.sourceTypes) return column.sinkType?.(sourceType, modes) ?? sourceType;
  return PLAIN_TYPES.find(([pattern]) => pattern.test(sourceType))![1] ?? sourceType;
}

/** `CREATE TABLE` of the source table `database`.`table`. */
export function createTableSql(database: string, table: string): string {
  const columns = TYPE_COLUMNS.map((c) => `\`${c.name}\` ${c.ddl}`);
  return `CREATE TABLE \`${database}\`.\`${table}\` (\n  id INT PRIMARY KEY,\n  ${
    columns.join(",\n  ")
  }\n) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
}

/** Number of rows {@link insertRowsSql} writes: the edge rows and a row of NULLs. */
export const ROWS_PER_INSERT = TYPE_COLUMNS[0].values.length + 1;

/** One INSERT of the edge rows and the NULL row, with ids from `firstId` on. */
export function insertRowsSql(database: string, table: string, firstId: number): string {
  const names = ["id", ...TYPE_COLUMNS.map((c) => c.name)].map((n) => `\`${n}\``).join(", ");
  const rows = TYPE_COLUMNS[0].values.map((_, i) =>
    `(${firstId + i}, ${TYPE_COLUMNS.map((c) => c.values[i]).join(", ")})`
  );
  rows.push(`(${firstId + rows.length}, ${TYPE_COLUMNS.map(() => "NULL").join(", ")})`);
  return `INSERT INTO \`${database}\`.\`${table}\` (${names}) VALUES\n${rows.join(",\n")}`;
}
