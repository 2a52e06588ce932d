import assert from "node:assert/strict";
import { collectSetting } from "./connector.ts";

Deno.test("--set: key=value pairs accumulate; the env variable's JSON object too", () => {
  const flags = collectSetting("b=x=y", collectSetting("a=1"));
  assert.deepEqual(flags, { a: "1", "b": "x=y" });
  assert.deepEqual(collectSetting('{"snapshot.mode": "no_data", "tasks.max": 1}'), {
    "snapshot.mode": "no_data",
    "tasks.max": "1",
  });
  assert.throws(() => collectSetting("novalue"), /expected key=value, got "novalue"/);
  assert.throws(() => collectSetting("{"), /not a JSON object/);
  assert.throws(() => collectSetting('{"a": {"b": 1}}'), /flat JSON object/);
});
