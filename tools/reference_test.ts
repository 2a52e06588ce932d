import assert from "node:assert/strict";
import { reference, REFERENCE_FILE } from "./reference.ts";

Deno.test("docs/reference.md is what the command definitions and metrics say (deno task docs)", async () => {
  const generated = await reference();
  const committed = await Deno.readTextFile(REFERENCE_FILE).catch(() => "");
  assert.ok(
    committed === generated,
    "docs/reference.md is stale: run `deno task docs` and commit the result",
  );
  // the generator itself sees every subcommand and metric
  for (const name of ["cdc stream", "cdc connector register", "cdc_rows_written_total"]) {
    assert.ok(generated.includes(name), name);
  }
});
