import assert from "node:assert/strict";
import {
  evolveTableDdl,
  IncompatibleSchemaChangeError,
  quoteIdent,
  stageTableDdl,
} from "./dialect.ts";

Deno.test("quoteIdent doubles backticks so a name cannot end the identifier", () => {
  assert.equal(quoteIdent("order"), "`order`");
  assert.equal(quoteIdent("first name"), "`first name`");
  assert.equal(quoteIdent("a`; DROP TABLE x; --"), "`a``; DROP TABLE x; --`");
  assert.throws(() => quoteIdent(""), /empty identifier/);
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

Deno.test("stageTableDdl: temporary, a load sequence, every column nullable, unique by the key", () => {
  const ddl = stageTableDdl("db", "__cdc_stage_0", [
    { name: "id", columnType: "int(11)" },
    { name: "na`me", columnType: "varchar(10)" },
  ], ["id"]);
  assert.equal(
    ddl,
    "CREATE TEMPORARY TABLE `db`.`__cdc_stage_0` (\n" +
      "  `__seq` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n" +
      "  `id` int(11) NULL,\n  `na``me` varchar(10) NULL,\n  UNIQUE KEY (`id`)\n" +
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
  );
});
