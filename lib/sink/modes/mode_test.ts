import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { Buffer } from "node:buffer";
import { GeometryValue, type SqlValue } from "../../mysql/values.ts";
import { multiRowStatements, sqlTuple } from "./mode.ts";

Deno.test("sqlTuple writes what the driver's formatting writes, value by value", () => {
  const row: SqlValue[] = [
    1,
    -2.5,
    12345678901234567890n,
    'it\'s \\ a "quote"\n\0\x1a 😀',
    null,
    Buffer.from([0, 255, 16]),
    new GeometryValue(Buffer.from([1]), null),
    new GeometryValue(Buffer.from([1]), 4326),
  ];
  assert.equal(sqlTuple(row), `(${mysql.format("?", [row])})`);
});

Deno.test("multiRowStatements packs tuples under the size limit, at least one per statement", () => {
  const rows: SqlValue[][] = [[1, "aaaa"], [2, "bbbb"], [3, "x".repeat(50)]];
  const statements = multiRowStatements("INSERT INTO t VALUES ", rows, "", 40);
  assert.deepEqual(statements, [
    "INSERT INTO t VALUES (1, 'aaaa')",
    "INSERT INTO t VALUES (2, 'bbbb')",
    `INSERT INTO t VALUES (3, '${"x".repeat(50)}')`,
  ]);
  assert.equal(multiRowStatements("I ", rows, ";", 1 << 20).length, 1);
});
