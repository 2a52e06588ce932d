import assert from "node:assert/strict";
import { kindOf as loadKind } from "../mysql/load_data.ts";
import { cdcTableDdl, METADATA_COLUMNS } from "./cdc_row.ts";

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

Deno.test("METADATA_COLUMNS load as their types say: op and source position as text", () => {
  const kindOf = (name: string) => loadKind(METADATA_COLUMNS.find((c) => c.name === name)!.type);
  assert.deepEqual(["__op", "__source_pos"].map(kindOf), ["text", "text"]);
  const built = ["__ts", "__source_ts", "__partition", "__offset"];
  assert.deepEqual(built.map(kindOf), built.map(() => "plain"));
});
