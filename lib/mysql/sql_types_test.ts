import assert from "node:assert/strict";
import {
  familyOf,
  parseSqlType,
  reconcileTypes,
  renderSqlType,
  SQL_TYPES,
  type SqlType,
  sqlTypeProblem,
} from "./sql_types.ts";

Deno.test("renderSqlType and parseSqlType agree on what information_schema shows", () => {
  const cases: [string, SqlType, string][] = [
    ["int(11)", { name: "INT" }, "INT"],
    ["bigint(20) unsigned", { name: "BIGINT", unsigned: true }, "BIGINT UNSIGNED"],
    ["decimal(65,30)", { name: "DECIMAL", precision: 65, scale: 30 }, "DECIMAL(65,30)"],
    ["varchar(255)", { name: "VARCHAR", length: 255 }, "VARCHAR(255)"],
    ["datetime(3)", { name: "DATETIME", fsp: 3 }, "DATETIME(3)"],
    ["time", { name: "TIME" }, "TIME"],
    [
      "enum('a','it''s','c')",
      { name: "ENUM", values: ["a", "it's", "c"] },
      "ENUM('a','it''s','c')",
    ],
    ["bit(64)", { name: "BIT", length: 64 }, "BIT(64)"],
    ["longtext", { name: "LONGTEXT" }, "LONGTEXT"],
  ];
  for (const [shown, type, rendered] of cases) {
    assert.deepEqual(parseSqlType(shown), type, shown);
    assert.equal(renderSqlType(type), rendered);
  }
  assert.equal(parseSqlType("uuid"), undefined);
});

Deno.test("reconcileTypes widens losslessly and refuses the rest", () => {
  const t = (s: string) => parseSqlType(s)!;
  assert.deepEqual(reconcileTypes(t("int"), t("bigint")), {
    action: "modify",
    type: { name: "BIGINT" },
  });
  assert.deepEqual(reconcileTypes(t("bigint"), t("int")), { action: "keep" });
  assert.deepEqual(reconcileTypes(t("int"), t("int unsigned")), {
    action: "modify",
    type: { name: "BIGINT" },
  });
  assert.deepEqual(reconcileTypes(t("bigint"), t("bigint unsigned")), { action: "incompatible" });
  assert.deepEqual(reconcileTypes(t("varchar(10)"), t("varchar(20)")), {
    action: "modify",
    type: { name: "VARCHAR", length: 20 },
  });
  assert.deepEqual(reconcileTypes(t("longtext"), t("varchar(20)")), { action: "keep" });
  assert.deepEqual(reconcileTypes(t("decimal(10,2)"), t("decimal(12,4)")), {
    action: "modify",
    type: { name: "DECIMAL", precision: 12, scale: 4 },
  });
  assert.deepEqual(reconcileTypes(t("decimal(10,2)"), t("decimal(8,2)")), { action: "keep" });
  assert.deepEqual(reconcileTypes(t("datetime(3)"), t("datetime(6)")), {
    action: "modify",
    type: { name: "DATETIME", fsp: 6 },
  });
  assert.deepEqual(reconcileTypes(t("enum('a','b')"), t("enum('a','c')")), {
    action: "modify",
    type: { name: "ENUM", values: ["a", "b", "c"] },
  });
  assert.deepEqual(reconcileTypes(t("int"), t("varchar(10)")), { action: "incompatible" });
  assert.deepEqual(reconcileTypes(t("varchar(10)"), t("int")), { action: "incompatible" });
  assert.deepEqual(reconcileTypes(t("float"), t("double")), {
    action: "modify",
    type: { name: "DOUBLE" },
  });
  assert.deepEqual(reconcileTypes(t("longtext"), { name: "JSON" }), { action: "keep" });
});

Deno.test("reconcileTypes: ENUM/SET values fit a text column as wide as their longest value", () => {
  const sizes: SqlType = { name: "ENUM", values: ["S", "M", "XXL"] };
  const flags: SqlType = { name: "SET", values: ["a", "bb", "ccc"] }; // longest value "a,bb,ccc"
  const varchar = (length: number): SqlType => ({ name: "VARCHAR", length });
  // ENUM/SET → text: MODIFY, every value becomes its text.
  assert.deepEqual(reconcileTypes(sizes, varchar(255)), { action: "modify", type: varchar(255) });
  assert.deepEqual(reconcileTypes(flags, { name: "TEXT" }), {
    action: "modify",
    type: { name: "TEXT" },
  });
  assert.deepEqual(reconcileTypes(sizes, varchar(2)), { action: "incompatible" });
  assert.deepEqual(reconcileTypes(flags, varchar(7)), { action: "incompatible" });
  // text → ENUM/SET: the text column holds every member already.
  assert.deepEqual(reconcileTypes(varchar(255), sizes), { action: "keep" });
  assert.deepEqual(reconcileTypes(varchar(8), flags), { action: "keep" });
  assert.deepEqual(reconcileTypes(varchar(7), flags), { action: "incompatible" });
  assert.deepEqual(reconcileTypes({ name: "CHAR", length: 3 }, sizes), { action: "incompatible" });
});

Deno.test("sqlTypeProblem: only whole numbers within the server's limits reach DDL", () => {
  assert.equal(sqlTypeProblem({ name: "DECIMAL", precision: 65, scale: 30 }), undefined);
  assert.match(sqlTypeProblem({ name: "DECIMAL", precision: NaN, scale: 2 })!, /precision/);
  assert.match(sqlTypeProblem({ name: "DECIMAL", precision: 5, scale: 6 })!, /scale 6/);
  assert.match(sqlTypeProblem({ name: "DATETIME", fsp: 7 })!, /fractional seconds 7/);
  assert.match(sqlTypeProblem({ name: "CHAR", length: 256 })!, /CHAR length 256/);
  assert.match(sqlTypeProblem({ name: "BIT", length: 0 })!, /BIT length 0/);
  assert.match(sqlTypeProblem({ name: "INT", length: 11 })!, /takes no parameters/);
  assert.equal(sqlTypeProblem({ name: "TINYINT", length: 1 }), undefined);
  assert.match(sqlTypeProblem({ name: "SET", values: [] })!, /at least one member/);
  assert.match(
    sqlTypeProblem({ name: "X); DROP TABLE t; --" as SqlType["name"] })!,
    /unknown column type/,
  );
  assert.throws(() => renderSqlType({ name: "DECIMAL", precision: NaN }), /invalid column type/);
});

Deno.test("SQL_TYPES: every type renders and parses back as itself", () => {
  for (const name of Object.keys(SQL_TYPES) as SqlType["name"][]) {
    const parameters: Partial<Record<SqlType["name"], Partial<SqlType>>> = {
      ENUM: { values: ["a"] },
      SET: { values: ["a"] },
      DECIMAL: { precision: 10, scale: 0 },
    };
    const type: SqlType = { name, ...parameters[name] };
    assert.deepEqual(parseSqlType(renderSqlType(type).toLowerCase()), type, name);
    assert.equal(familyOf(name), familyOf(type));
  }
});
