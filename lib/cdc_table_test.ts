import assert from "node:assert/strict";
import { cdcTableDdl } from "./cdc_table.ts";

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
