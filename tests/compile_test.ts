/**
 * The compiled binary's permissions (tools/compile.ts) are enough for every
 * subcommand: `main.ts` is run with exactly those flags and `--no-prompt`, so a
 * missing permission is an error here instead of a crash in production.
 * Needs no services; talking to them under these flags is proven by every
 * integration test (tests/helpers.ts runs `cdc` with them), host names and a
 * password file included (tests/stream_cli_test.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { program } from "../main.ts";
import {
  ALLOWED_ENV,
  compileArgs,
  explainFailure,
  PERMISSION_FLAGS,
  RUN_FLAGS,
  V8_FLAGS,
} from "../tools/compile.ts";
import type { Command } from "commander";

const ROOT = new URL("..", import.meta.url);
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const DENIED = /NotCapable|Requires \w+ access/;

/** Runs `main.ts` as the binary would run: the compile flags and no prompts. */
async function runAsBinary(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...RUN_FLAGS, MAIN, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Whether `name` is matched by an `--allow-env` entry (`PREFIX_*` or exact). */
function envAllowed(name: string): boolean {
  return ALLOWED_ENV.some((entry) =>
    entry.endsWith("*") ? name.startsWith(entry.slice(0, -1)) : entry === name
  );
}

/** Every command path of the program, e.g. `["stream"]`, `["connector", "register"]`. */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return [path, ...commandPaths(sub, path)];
  });
}

/** TypeScript sources of the program (not tests), for the names they read from env. */
async function programSources(): Promise<string[]> {
  const texts: string[] = [await Deno.readTextFile(MAIN)];
  const walk = async (dir: URL): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) await walk(url);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
        texts.push(await Deno.readTextFile(url));
      }
    }
  };
  await walk(new URL("lib/", ROOT));
  return texts;
}

Deno.test("every environment variable the code declares is in the compile allow-list", async () => {
  const names = new Set<string>();
  const patterns = [
    /\benv:\s*"([A-Z0-9_]+)"/g, // envOption({ env: "CDC_X" })
    /\.env\(\s*"([A-Z0-9_]+)"/g, // new Option(...).env("CDC_X")
    /Deno\.env\.get\(\s*"([A-Z0-9_]+)"/g,
    /process\.env\.([A-Z0-9_]+)/g,
  ];
  for (const text of await programSources()) {
    for (const pattern of patterns) {
      for (const match of text.matchAll(pattern)) names.add(match[1]);
    }
    for (const match of text.matchAll(/aliases:\s*\[([^\]]*)\]/g)) {
      for (const alias of match[1].matchAll(/"([A-Z0-9_]+)"/g)) names.add(alias[1]);
    }
  }
  assert.ok(names.has("CDC_TABLES") && names.has("MYSQL_HOST"), "the source scan found nothing");
  const missing = [...names].filter((name) => !envAllowed(name));
  assert.deepEqual(missing, [], `add to ALLOWED_ENV in tools/compile.ts: ${missing.join(", ")}`);
});

Deno.test("--help and --version of every subcommand work with the compile permissions", async () => {
  const paths = [[], ...commandPaths(program())];
  assert.ok(paths.some((p) => p[0] === "stream"), "no stream subcommand found");
  for (const path of paths) {
    const help = await runAsBinary([...path, "--help"]);
    assert.equal(help.code, 0, `cdc ${path.join(" ")} --help: ${help.stderr}`);
    assert.doesNotMatch(help.stderr, DENIED);
    assert.match(help.stdout, /Usage: cdc/);
  }
  const version = await runAsBinary(["--version"]);
  assert.equal(version.code, 0, version.stderr);
});

Deno.test("compile arguments carry the permissions and V8 flags, and include nothing extra", () => {
  const args = compileArgs("cdc");
  assert.deepEqual(args.slice(1, 1 + RUN_FLAGS.length), [...PERMISSION_FLAGS, V8_FLAGS]);
  assert.ok(!args.some((a) => a.startsWith("--include") || a === "-A" || a === "--allow-all"));
  assert.ok(!PERMISSION_FLAGS.some((f) => /^--allow-(write|run|ffi|sys|all)/.test(f)));
  assert.deepEqual(args.slice(-3), ["--output", "cdc", "main.ts"]);
});

Deno.test("a missing denort is explained, other compile errors are not", () => {
  const dns =
    "error: Writing deno compile executable\n\nCaused by:\n    0: Setting up base binary.\n" +
    "    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort.zip)";
  assert.match(explainFailure(dns) ?? "", /DENORT_BIN=.*deno task compile/);
  assert.match(explainFailure("Could not find denort at '/x'") ?? "", /dl\.deno\.land/);
  assert.equal(explainFailure("error: TS2322 [ERROR]: Type 'string' is not assignable"), undefined);
});
