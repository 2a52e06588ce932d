import assert from "node:assert/strict";
import type { Command } from "commander";
import { program } from "../../main.ts";
import { cdcEnv, shellExports } from "./cdc_env.ts";
import { BOOTSTRAP, CONNECT_URL, REGISTRY_URL, SINK_DB, SOURCE_DB } from "./config.ts";

/** Every subcommand's environment variables, by command path ("connector register"). */
function optionEnv(command: Command, path = ""): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const names = new Set(command.options.flatMap((option) => option.envVar ?? []));
  found.set(path, names);
  for (const sub of command.commands) {
    for (const [p, n] of optionEnv(sub, `${path} ${sub.name()}`.trim())) found.set(p, n);
  }
  return found;
}

Deno.test("cdcEnv: every variable is one a cdc option reads", () => {
  const all = new Set([...optionEnv(program()).values()].flatMap((names) => [...names]));
  const unknown = Object.keys(cdcEnv()).filter((name) => !all.has(name));
  assert.deepEqual(unknown, []);
});

Deno.test("cdcEnv: register, stream, tail and wait find every endpoint and account", () => {
  const options = optionEnv(program());
  const env = cdcEnv();
  const needs: Record<string, string[]> = {
    "connector register": [
      "CDC_CONNECT_URL",
      "CDC_BOOTSTRAP_SERVERS",
      "CDC_REGISTRY_URL",
      "CDC_SOURCE_FLAVOUR",
      "CDC_SOURCE_HOST",
      "CDC_SOURCE_PORT",
      "CDC_SOURCE_USER",
      "CDC_SOURCE_PASSWORD",
    ],
    "stream": [
      "CDC_BOOTSTRAP_SERVERS",
      "CDC_REGISTRY_URL",
      "CDC_MYSQL_HOST",
      "CDC_MYSQL_PORT",
      "CDC_MYSQL_USER",
      "CDC_MYSQL_PASSWORD",
    ],
    "tail": ["CDC_BOOTSTRAP_SERVERS", "CDC_REGISTRY_URL"],
    "wait": ["CDC_BOOTSTRAP_SERVERS", "CDC_REGISTRY_URL", "CDC_CONNECT_URL", "CDC_MYSQL_HOST"],
  };
  for (const [command, names] of Object.entries(needs)) {
    for (const name of names) {
      assert.ok(options.get(command)?.has(name), `cdc ${command} reads no ${name}`);
      assert.ok(env[name], `stack env sets no ${name}`);
    }
  }
  assert.equal(env.CDC_BOOTSTRAP_SERVERS, BOOTSTRAP);
  assert.equal(env.CDC_REGISTRY_URL, REGISTRY_URL);
  assert.equal(env.CDC_CONNECT_URL, CONNECT_URL);
  assert.equal(env.CDC_MYSQL_PASSWORD, SINK_DB.password);
  assert.equal(env.CDC_SOURCE_PASSWORD, SOURCE_DB.password);
});

Deno.test("shellExports: export lines, values single-quoted so nothing expands", () => {
  assert.equal(
    shellExports({ CDC_A: "x y", CDC_B: "it's $HOME" }),
    "export CDC_A='x y'\nexport CDC_B='it'\\''s $HOME'\n",
  );
});
