/**
 * The layers of lib/ (README, "Layout"): a module imports only from its own folder and from
 * folders of lower layers, never sideways or up; lib/kafka is entered through its mod.ts;
 * each npm package that reaches a service or the user is imported by the folders that own
 * it; test fixtures (`testing.ts`) are imported by tests only; and no module under lib/
 * imports the integration tests' files. The data flows up the layers: Kafka records are decoded (avro),
 * mapped (debezium) and written (sink) by the pipeline, which ops observes and cli wires.
 */
import assert from "node:assert/strict";

/** Folders of lib/, lowest layer first; folders of one layer do not import each other. */
const LAYERS: readonly (readonly string[])[] = [
  ["util"],
  ["kafka", "avro", "mysql"],
  ["debezium"],
  ["sink"],
  ["pipeline"],
  ["ops"],
  ["cli"],
];

/** The folders that may use each npm package (the others reach it through them). */
const OWNERS: Readonly<Record<string, readonly string[]>> = {
  "kafkajs": ["kafka"],
  "@platformatic/wasm-utils/bundled": ["kafka"],
  "avsc": ["avro"],
  "mysql2": ["mysql", "sink"],
  "mysql2/promise": ["mysql", "sink"],
  "commander": ["cli"],
  "@logtape/logtape": ["util"],
  "prom-client": ["ops"],
};

/** Folders used from outside only through their mod.ts (the one interface they offer). */
const ENTERED_BY_MOD: ReadonlySet<string> = new Set(["kafka"]);

const LIB = new URL(".", import.meta.url).pathname;

function layerOf(folder: string): number {
  return LAYERS.findIndex((layer) => layer.includes(folder));
}

/** Every .ts file under lib/, as a path relative to lib/. */
function* modules(dir = ""): Generator<string> {
  for (const entry of Deno.readDirSync(LIB + dir)) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory) yield* modules(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

/** The specifiers a module imports (static and dynamic imports, re-exports). */
function imports(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?from\s+"([^"]+)"/g)) {
    found.push(m[1]);
  }
  for (const m of source.matchAll(/import\(\s*"([^"]+)"\s*\)/g)) found.push(m[1]);
  return found;
}

/** What is wrong with `module` importing `specifier`, or undefined. */
function violation(module: string, specifier: string): string | undefined {
  const folder = module.split("/")[0];
  if (specifier.startsWith(".")) {
    const target = new URL(specifier, `file://${LIB}${module}`).pathname;
    if (!target.startsWith(LIB)) return `${module} imports ${specifier}, outside lib/`;
    if (target.endsWith("/testing.ts") && !module.endsWith("_test.ts")) {
      return `${module} imports ${specifier}: test fixtures are for tests only`;
    }
    const targetFolder = target.slice(LIB.length).split("/")[0];
    if (targetFolder === folder) return undefined;
    if (ENTERED_BY_MOD.has(targetFolder) && !target.endsWith(`/${targetFolder}/mod.ts`)) {
      return `${module} imports ${specifier}: lib/${targetFolder} is used through its mod.ts`;
    }
    const [from, to] = [layerOf(folder), layerOf(targetFolder)];
    if (to < 0) return `${module} imports ${specifier}: lib/${targetFolder} is in no layer`;
    if (to === from) return `${module} imports sideways from lib/${targetFolder}`;
    if (to > from) return `${module} imports up from lib/${targetFolder}`;
    return undefined;
  }
  if (specifier.endsWith("/testing.ts") && !module.endsWith("_test.ts")) {
    return `${module} imports ${specifier}: test fixtures are for tests only`;
  }
  const owners = OWNERS[specifier];
  if (owners && !owners.includes(folder) && !module.endsWith("_test.ts")) {
    return `${module} imports ${specifier}, which only lib/${owners.join(", lib/")} may use`;
  }
  return undefined;
}

Deno.test("lib/: every folder is in a layer; imports go down, never sideways or up", () => {
  const folders = [...Deno.readDirSync(LIB)].filter((e) => e.isDirectory).map((e) => e.name);
  assert.deepEqual(folders.filter((f) => layerOf(f) < 0), [], "folders in no layer");
  const problems: string[] = [];
  let seen = 0;
  for (const module of modules()) {
    if (!module.includes("/")) continue; // this test itself
    for (const specifier of imports(Deno.readTextFileSync(LIB + module))) {
      seen++;
      const problem = violation(module, specifier);
      if (problem) problems.push(problem);
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(seen > 300, `only ${seen} imports seen: is every module read?`);
});

Deno.test("lib/ architecture check: it finds an upward, a sideways and a foreign import", () => {
  assert.match(violation("kafka/consumer.ts", "../pipeline/resume.ts")!, /imports up/);
  assert.match(violation("avro/decoder.ts", "../kafka/mod.ts")!, /imports sideways/);
  assert.match(violation("sink/batch.ts", "../../tests/fixtures/x.ts")!, /outside lib/);
  assert.match(violation("ops/http_server.ts", "commander")!, /only lib\/cli may use/);
  assert.match(violation("sink/batch.ts", "./testing.ts")!, /for tests only/);
  assert.match(violation("sink/batch.ts", "../kafka/positions.ts")!, /through its mod\.ts/);
  assert.equal(violation("sink/batch.ts", "../kafka/mod.ts"), undefined);
  assert.equal(violation("sink/modes/mirror.ts", "../../mysql/dialect.ts"), undefined);
  assert.equal(violation("sink/modes/mirror.ts", "../batch.ts"), undefined);
});
