import assert from "node:assert/strict";
import type { Command } from "commander";
import { program } from "./main.ts";

function* commands(command: Command, path: string[] = []): Generator<[string, Command]> {
  yield [["cdc", ...path].join(" "), command];
  for (const sub of command.commands) yield* commands(sub, [...path, sub.name()]);
}

Deno.test("every option of every command has an environment variable (SPEC section 6)", () => {
  const missing: string[] = [];
  let checked = 0;
  for (const [name, command] of commands(program())) {
    for (const option of command.options) {
      if (option.long === "--help" || option.long === "--version") continue;
      checked++;
      if (!option.envVar) missing.push(`${name} ${option.long}`);
      else if (!option.envVar.startsWith("CDC_")) {
        missing.push(`${name} ${option.long}: ${option.envVar}`);
      }
    }
  }
  assert.deepEqual(missing, []);
  assert.ok(checked > 100, `only ${checked} options seen: is the whole tree walked?`);
});
