/**
 * Test suites that need a stack of their own, beside the one-broker stack of `deno task test`:
 *
 * ```sh
 * deno task test:cluster          # tests/cluster/ on three Kafka nodes (port offset 1000)
 * deno task test:kafka-versions   # the Kafka-facing tests on each broker line (offset 2000)
 * deno run -A tools/test_stacks.ts down   # every such stack down (after an interrupted run)
 * ```
 *
 * Each brings its stack up (own state directory `.stack-<name>`, own port offset, so the
 * default stack and CI's can run meanwhile), runs `deno test` on it, always brings it down,
 * prints how long each part took, and exits 1 if any run failed. `$CDC_STACK_PORT_OFFSET`
 * overrides the offset.
 *
 * @module
 */

/** The broker lines proven besides the pinned one (SPEC 11): the newest 3.9.x and 4.4.x. */
export const KAFKA_LINES = ["3.9.2", "4.4.0"] as const;

/**
 * The tests each broker line runs: cdc's fetch path, consumer groups, authentication and
 * record codecs. A test file named here that does not exist (yet) is left out, said so.
 */
export const KAFKA_LINE_TESTS = [
  "tests/stream_fetch_test.ts",
  "tests/stream_group_test.ts",
  "tests/kafka_auth_test.ts",
  "tests/stream_codecs_test.ts",
] as const;

/** A stack to bring up, and what to run on it. */
interface StackRun {
  /** Names the state directory `.stack-<name>` and the log lines. */
  name: string;
  env: Record<string, string>;
  services: string[];
  tests: string[];
}

const REPO = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const began = performance.now();

function say(line: string): void {
  const t = ((performance.now() - began) / 1000).toFixed(0).padStart(5);
  console.log(`[test-stacks ${t}s] ${line}`);
}

/** Runs `deno <args>` in the repository with `env` added; its output goes straight through. */
async function deno(args: string[], env: Record<string, string>): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), { args, cwd: REPO, env }).spawn();
  return (await child.status).code;
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(0)} s`;
}

/** Brings `run`'s stack up, runs its tests, brings it down; true when all passed. */
async function onStack(run: StackRun): Promise<boolean> {
  const env = { CDC_STACK_DIR: `${REPO}/.stack-${run.name}`, ...run.env };
  const described = Object.entries(run.env).map(([k, v]) => `${k}=${v}`).join(" ");
  const upAt = performance.now();
  say(`${run.name}: stack up (${described})`);
  try {
    if (await deno(["task", "--quiet", "stack", "up", ...run.services], env) !== 0) {
      say(`${run.name}: stack up FAILED after ${seconds(upAt)}`);
      return false;
    }
    say(`${run.name}: stack up took ${seconds(upAt)}`);
    const testAt = performance.now();
    const code = await deno(["test", "-A", ...run.tests], env);
    say(`${run.name}: tests took ${seconds(testAt)} (exit ${code})`);
    return code === 0;
  } finally {
    const downAt = performance.now();
    await deno(["task", "--quiet", "stack", "down"], env);
    say(`${run.name}: stack down took ${seconds(downAt)}; ${run.name} in all ${seconds(upAt)}`);
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(`${REPO}/${path}`);
    return true;
  } catch {
    return false;
  }
}

/** The stacks of a suite: `cluster` or `kafka-versions`. */
export function stackRuns(suite: string, offset?: string): StackRun[] {
  switch (suite) {
    case "cluster":
      return [{
        name: "cluster",
        env: { CDC_STACK_KAFKA_NODES: "3", CDC_STACK_PORT_OFFSET: offset ?? "1000" },
        // the tests produce their own records: no Connect
        services: ["mariadb", "kafka", "kafka2", "kafka3", "registry"],
        // topic creation meets brokers that learn of a new topic each in its own time
        tests: ["tests/cluster/", "tests/kafka_admin_test.ts"],
      }];
    case "kafka-versions": {
      const tests = KAFKA_LINE_TESTS.filter(exists);
      const missing = KAFKA_LINE_TESTS.filter((test) => !tests.includes(test));
      if (missing.length) say(`not there (yet), left out: ${missing.join(", ")}`);
      return KAFKA_LINES.map((version) => ({
        name: `kafka-${version}`,
        env: { CDC_STACK_KAFKA_VERSION: version, CDC_STACK_PORT_OFFSET: offset ?? "2000" },
        // Connect too: the group and auth tests capture the inventory with Debezium
        services: [],
        tests,
      }));
    }
    default:
      throw new Error(`unknown suite "${suite}": cluster or kafka-versions`);
  }
}

/** Brings down every stack of every suite that may still run (after an interrupted run). */
async function downAll(offset?: string): Promise<void> {
  for (const run of [...stackRuns("cluster", offset), ...stackRuns("kafka-versions", offset)]) {
    const env = { CDC_STACK_DIR: `${REPO}/.stack-${run.name}`, ...run.env };
    await deno(["task", "--quiet", "stack", "down"], env);
  }
}

if (import.meta.main) {
  const [suite] = Deno.args;
  const offset = Deno.env.get("CDC_STACK_PORT_OFFSET");
  if (suite === "down") {
    await downAll(offset);
    Deno.exit(0);
  }
  const runs = stackRuns(suite, offset);
  const failed: string[] = [];
  for (const run of runs) {
    if (!await onStack(run)) failed.push(run.name);
  }
  say(
    `${suite}: ${runs.length - failed.length} of ${runs.length} stack(s) passed in ` +
      `${seconds(began)}` + (failed.length ? `; FAILED: ${failed.join(", ")}` : ""),
  );
  Deno.exit(failed.length ? 1 : 0);
}
