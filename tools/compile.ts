/**
 * `deno task compile`: builds the single `cdc` binary with the narrowest Deno
 * permissions every subcommand needs. The flags live here, once, so that the
 * Dockerfile (which runs this task) and the tests (which run `main.ts` with
 * exactly these flags) cannot drift from what the binary is granted.
 *
 * ```sh
 * deno task compile                      # ./cdc for this machine
 * deno task compile --target aarch64-unknown-linux-gnu --output dist/cdc-arm64
 * ```
 *
 * @module
 */

/**
 * Environment variables `cdc` may read. Anything else is denied, so a
 * dependency cannot read unrelated secrets from the environment.
 *
 * - `CDC_*`: every option's variable (12-factor), in every subcommand.
 * - The seed's names accepted as aliases (`aliases` in lib/options/).
 * - What the npm dependencies read (found by grepping them for `process.env`):
 *   kafkajs `NODE_ENV` and `KAFKAJS_*` (at import and when a client is created),
 *   mysql2 `TZ` (local-time parsing) and `NODE_DEBUG` (packet tracing), commander
 *   `FORCE_COLOR`/`NO_COLOR`/`CLICOLOR_FORCE` (help colours).
 *
 * Deno throws (it does not return `undefined`) when a denied variable is read,
 * even from inside an npm package, so a missing name is a crash:
 * tests/compile_test.ts checks that every name the code declares is covered.
 */
export const ALLOWED_ENV: readonly string[] = [
  "CDC_*",
  "BOOTSTRAP_SERVERS",
  "SCHEMA_REGISTRY_URL",
  "MYSQL_HOST",
  "MYSQL_PORT",
  "MYSQL_USER",
  "MYSQL_PASSWORD",
  "MYSQL_DATABASE",
  "NODE_ENV",
  "KAFKAJS_*",
  "TZ",
  "NODE_DEBUG",
  "FORCE_COLOR",
  "NO_COLOR",
  "CLICOLOR_FORCE",
];

/**
 * The permissions of the compiled binary (and of tests that run `main.ts` as
 * it will run):
 *
 * - `--allow-net`, unrestricted: Kafka, registry, Connect and MySQL hosts are
 *   configuration, only known at run time (and Kafka brokers advertise more).
 * - `--allow-env=<list>`: see {@link ALLOWED_ENV}.
 * - `--allow-read`, unrestricted: `--mysql-password-file` and `--config-file`
 *   take any path (Docker secrets live in /run/secrets, others elsewhere).
 *
 * Not granted: write (nothing is written to disk; output is stdout/stderr),
 * run, ffi, sys (neither kafkajs, mysql2, avsc nor commander ask for os
 * information; probed with `--no-prompt`, see docs/deployment.md), import.
 */
export const PERMISSION_FLAGS: readonly string[] = [
  "--allow-net",
  `--allow-env=${ALLOWED_ENV.join(",")}`,
  "--allow-read",
];

/**
 * V8's heap settings, baked into the binary like the permissions: young-generation
 * semi-spaces of at most 4 MiB (V8 lets them grow to 32 MiB) and an old generation that may
 * grow 75% past what the last full collection kept (V8 grows it by up to 4x). `cdc stream`'s
 * live heap is ~20 MB; draining a backlog, peak RSS went from ~240 to ~145 MiB for ~3% more
 * CPU (BENCHMARKS.md). The heap is sized when the isolate starts: this cannot be set later.
 */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=75";

/** How `main.ts` runs: as the binary (tests, the bench and the demo run it the same way). */
export const RUN_FLAGS: readonly string[] = [...PERMISSION_FLAGS, V8_FLAGS];

/** Arguments of `deno compile` producing `output` (for `target`, if given). */
export function compileArgs(output: string, target?: string): string[] {
  return [
    "compile",
    ...RUN_FLAGS,
    // nothing is bundled besides the module graph: no --include
    ...(target ? ["--target", target] : []),
    "--output",
    output,
    "main.ts",
  ];
}

/** Explains a failed `deno compile` when the cause is the missing `denort` runtime. */
export function explainFailure(stderr: string): string | undefined {
  // "Setting up base binary" is the step that fetches denort (or reads DENORT_BIN)
  if (!/Setting up base binary|Could not find denort/.test(stderr)) return undefined;
  return [
    "deno compile could not get the `denort` runtime it builds the binary from.",
    "Deno downloads it from https://dl.deno.land (it is not in the npm or PyPI `deno` packages,",
    "which hold only the `deno` CLI), and that host cannot be reached from here. Build elsewhere:",
    "  - on a machine that can reach dl.deno.land: deno install && deno task compile",
    "  - with Docker: docker build -t cdc .   (the Dockerfile runs this task in denoland/deno)",
    "  - with a denort of the same Deno version already downloaded (from",
    `    https://dl.deno.land/release/v${Deno.version.deno}/denort-<target>.zip, unzipped):`,
    "    DENORT_BIN=/path/to/denort deno task compile",
  ].join("\n");
}

if (import.meta.main) {
  const args = [...Deno.args];
  const take = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i === -1 ? undefined : args.splice(i, 2)[1];
  };
  const output = take("--output") ?? "cdc";
  const target = take("--target");
  if (args.length) {
    console.error(`usage: deno task compile [--output <path>] [--target <triple>]`);
    Deno.exit(2);
  }
  const root = new URL("..", import.meta.url);
  const result = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(output, target),
    cwd: root,
    stdout: "inherit",
    // piped so that a missing denort can be explained instead of a bare DNS error
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  await Deno.stderr.write(result.stderr);
  if (!result.success) {
    const explanation = explainFailure(stderr);
    if (explanation) console.error(`\n${explanation}`);
    Deno.exit(result.code || 1);
  }
}
