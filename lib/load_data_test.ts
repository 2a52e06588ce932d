import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { escapeField, loadDataOf } from "./load_data.ts";
import { GeometryValue } from "./type_mapping.ts";

Deno.test("escapeField: separators, the escape character and NUL escaped; other text as is", () => {
  assert.equal(escapeField("plain ünï 😀 'quoted' \"x\""), "plain ünï 😀 'quoted' \"x\"");
  assert.equal(escapeField("a\tb\nc\rd\\e\0f"), "a\\tb\\nc\\rd\\\\e\\0f");
  // the text \N (not NULL) stays text
  assert.equal(escapeField("\\N"), "\\\\N");
  assert.equal(escapeField(""), "");
});

Deno.test("loadDataOf: one line per row, NULL as \\N, numbers and strings as their text", () => {
  const load = loadDataOf("shop", "orders_cdc", ["id", "note", "amount", "big"], [
    [1, "it's\ta note", "12.50", 18446744073709551615n],
    [2, null, "-0.01", -1],
    [3, "", "0.00", 0],
  ], "ignore")!;
  assert.equal(
    load.text,
    "1\tit's\\ta note\t12.50\t18446744073709551615\n" +
      "2\t\\N\t-0.01\t-1\n" +
      "3\t\t0.00\t0\n",
  );
  assert.equal(load.table, "`shop`.`orders_cdc`");
  assert.equal(load.duplicates, "ignore");
  assert.equal(
    load.statement,
    "LOAD DATA LOCAL INFILE 'cdc-batch' IGNORE INTO TABLE `shop`.`orders_cdc` " +
      "CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' " +
      "LINES TERMINATED BY '\\n' (`id`, `note`, `amount`, `big`)",
  );
});

Deno.test("loadDataOf: bytes as hex through UNHEX, geometries as WKB and SRID", () => {
  const load = loadDataOf("db", "t", ["id", "bin", "shape"], [
    [1, Buffer.from([0, 0x5c, 0x09, 0xff]), new GeometryValue(Buffer.from([1, 2]), 4326)],
    [2, null, new GeometryValue(Buffer.from([3]), null)],
    [3, Buffer.alloc(0), null],
  ], "replace")!;
  assert.equal(
    load.text,
    "1\t005c09ff\t0102\t4326\n" +
      "2\t\\N\t03\t\\N\n" +
      "3\t\t\\N\t\\N\n",
  );
  assert.match(load.statement, /^LOAD DATA LOCAL INFILE 'cdc-batch' REPLACE INTO TABLE `db`.`t` /);
  assert.ok(
    load.statement.endsWith(
      "(`id`, @b1, @g2, @s2) SET `bin` = UNHEX(@b1), `shape` = IF(@s2 IS NULL, " +
        "ST_GeomFromWKB(UNHEX(@g2)), ST_GeomFromWKB(UNHEX(@g2), @s2))",
    ),
    load.statement,
  );
});

Deno.test("loadDataOf: a column mixing kinds of values is left to an INSERT", () => {
  assert.equal(loadDataOf("db", "t", ["c"], [[Buffer.from([1])], ["text"]], "ignore"), undefined);
  assert.notEqual(loadDataOf("db", "t", ["c"], [[null], ["text"]], "ignore"), undefined);
});
