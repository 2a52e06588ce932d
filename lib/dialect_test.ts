import assert from "node:assert/strict";
import {
  cdcTableDdl,
  evolveTableDdl,
  IncompatibleSchemaChangeError,
  parseSqlType,
  quoteIdent,
  reconcileTypes,
  renderSqlType,
  type SqlType,
} from "./dialect.ts";

Deno.test("quoteIdent doubles backticks so a name cannot end the identifier", () => {
  assert.equal(quoteIdent("order"), "`order`");
  assert.equal(quoteIdent("first name"), "`first name`");
  assert.equal(quoteIdent("a`; DROP TABLE x; --"), "`a``; DROP TABLE x; --`");
  assert.throws(() => quoteIdent(""), /empty identifier/);
});

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

Deno.test("cdcTableDdl quotes every name, makes source columns nullable, keys on the Kafka position", () => {
  const ddl = cdcTableDdl("inventory", "select`_cdc", [
    { name: "id", type: { name: "INT" }, nullable: false },
    { name: "first name", type: { name: "VARCHAR", length: 255 }, nullable: false },
  ]);
  assert.match(ddl, /^CREATE TABLE IF NOT EXISTS `inventory`\.`select``_cdc` \(/);
  assert.match(ddl, /`id` INT NULL,/);
  assert.match(ddl, /`first name` VARCHAR\(255\) NULL,/);
  assert.match(ddl, /`__op` CHAR\(1\) NOT NULL/);
  assert.match(ddl, /PRIMARY KEY \(`__partition`, `__offset`\)/);
});

Deno.test("evolveTableDdl adds, widens, keeps dropped columns, and names an incompatible change", () => {
  const existing = [
    { name: "id", columnType: "int(11)" },
    { name: "name", columnType: "varchar(10)" },
    { name: "gone", columnType: "int(11)" },
    { name: "__op", columnType: "char(1)" },
  ];
  const statements = evolveTableDdl("db", "t_cdc", existing, [
    { name: "id", type: { name: "BIGINT" }, nullable: true },
    { name: "name", type: { name: "VARCHAR", length: 10 }, nullable: true },
    { name: "email", type: { name: "VARCHAR", length: 100 }, nullable: true },
  ]);
  assert.deepEqual(statements, [
    "ALTER TABLE `db`.`t_cdc` MODIFY COLUMN `id` BIGINT NULL",
    "ALTER TABLE `db`.`t_cdc` ADD COLUMN `email` VARCHAR(100) NULL AFTER `name`",
  ]);
  assert.throws(
    () =>
      evolveTableDdl("db", "t_cdc", existing, [{
        name: "id",
        type: { name: "VARCHAR", length: 5 },
        nullable: true,
      }]),
    (e: unknown) =>
      e instanceof IncompatibleSchemaChangeError && e.column === "id" && e.oldType === "INT(11)" &&
      e.newType === "VARCHAR(5)" && /`db`.`t_cdc`/.test(e.message),
  );
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
