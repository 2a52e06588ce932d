/**
 * compose.yaml, the Dockerfile and schemas/inventory-connector.json, checked without a
 * Docker engine: the Compose specification's JSON schema (vendored in tests/compose/),
 * then the rules the schema cannot express. Every rule is a function returning the
 * problems it finds; each is also run on a broken copy, so none can pass vacuously.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parseDocument } from "yaml";
import {
  avroConverterConfig,
  CONNECTOR_CLASSES,
  debeziumConnectorConfig,
} from "../lib/debezium/connector_config.ts";
import { VERSIONS } from "../tools/stack/config.ts";

const ROOT = new URL("..", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));

/** A JSON value as parsed from YAML. */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
/** A compose service, loosely typed: the schema has already vetted its shape. */
type Service = Record<string, Json>;
/** The parts of a compose file these checks read. */
interface ComposeFile {
  services: Record<string, Service>;
  [key: string]: Json;
}

/** Parses YAML strictly (duplicate keys, bad aliases are errors), aliases resolved. */
function parseYaml(text: string): ComposeFile {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length) throw new Error(document.errors.map(String).join("\n"));
  return document.toJS({ maxAliasCount: 100 }) as ComposeFile;
}

const isObject = (value: unknown): value is Record<string, Json> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Validation errors of `compose` against the vendored Compose specification schema. */
async function schemaProblems(compose: unknown): Promise<string[]> {
  const schema = JSON.parse(await read("tests/compose/compose-spec.json"));
  // strict: false because the schema uses annotations (e.g. `deprecated`) ajv's strict mode
  // rejects as unknown; they do not affect validation
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  if (validate(compose)) return [];
  return (validate.errors ?? []).map((e) =>
    `${e.instancePath || "/"} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`
  );
}

/** `name:tag` or `@sha256:` present, and the tag is not `latest`. */
function imageProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    const image = service.image;
    if (typeof image !== "string") {
      if (!service.build) problems.push(`${name}: neither image nor build`);
      continue;
    }
    const lastPart = image.split("/").pop()!;
    const digest = image.includes("@sha256:");
    const tag = lastPart.includes(":") ? lastPart.split("@")[0].split(":")[1] : undefined;
    if (!digest && !tag) problems.push(`${name}: image ${image} has no tag`);
    if (tag === "latest") problems.push(`${name}: image ${image} is not pinned (latest)`);
  }
  return problems;
}

/**
 * The images run the versions the local stack pins (tools/stack/config.ts), so that the
 * tests against the stack speak for the Docker demo: Kafka, Debezium (connect and its
 * example MySQL) and Apicurio Registry.
 */
function versionProblems(compose: ComposeFile): string[] {
  const pinned: [RegExp, string][] = [
    [/^apache\/kafka:/, VERSIONS.kafka],
    [/^quay\.io\/debezium\//, VERSIONS.debezium],
    [/^apicurio\/apicurio-registry:/, VERSIONS.registry],
  ];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [name, service] of Object.entries(compose.services)) {
    if (typeof service.image !== "string") continue;
    for (const [pattern, version] of pinned) {
      if (!pattern.test(service.image)) continue;
      seen.add(version);
      const tag = service.image.split(":").pop();
      if (tag !== version) {
        problems.push(`${name}: ${service.image}, but the local stack pins ${version}`);
      }
    }
  }
  for (const [pattern, version] of pinned) {
    if (!seen.has(version)) problems.push(`no image matches ${pattern} (${version})`);
  }
  return problems;
}

/** depends_on as a map of target → condition, whichever form the file uses. */
function dependencies(service: Service): Record<string, string> {
  const deps = service.depends_on;
  if (Array.isArray(deps)) {
    return Object.fromEntries(deps.map((d) => [String(d), "service_started"]));
  }
  if (!isObject(deps)) return {};
  return Object.fromEntries(
    Object.entries(deps).map((
      [target, spec],
    ) => [
      target,
      isObject(spec) ? String(spec.condition ?? "service_started") : "service_started",
    ]),
  );
}

const hasHealthcheck = (service: Service | undefined): boolean =>
  isObject(service?.healthcheck) && service.healthcheck.disable !== true &&
  Array.isArray(service.healthcheck.test) && service.healthcheck.test[0] !== "NONE";

/** Services other services wait for to finish: the one-shots. */
function oneShots(compose: ComposeFile): Set<string> {
  return new Set(
    Object.values(compose.services).flatMap((s) =>
      Object.entries(dependencies(s))
        .filter(([, condition]) => condition === "service_completed_successfully")
        .map(([target]) => target)
    ),
  );
}

/**
 * depends_on targets exist; `service_healthy` targets have a healthcheck; one-shot
 * targets do not restart; every long-running service has a healthcheck; no dependency
 * is a bare `service_started` (it orders containers, it does not wait for readiness).
 */
function dependencyProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const shots = oneShots(compose);
  for (const [name, service] of Object.entries(compose.services)) {
    for (const [target, condition] of Object.entries(dependencies(service))) {
      const dep = compose.services[target];
      if (!dep) {
        problems.push(`${name}: depends on unknown service ${target}`);
        continue;
      }
      if (condition === "service_healthy" && !hasHealthcheck(dep)) {
        problems.push(`${name}: waits for ${target} to be healthy, which has no healthcheck`);
      }
      if (condition === "service_started") {
        problems.push(`${name}: depends on ${target} without a readiness condition`);
      }
      if (
        condition === "service_completed_successfully" && ![undefined, "no"].includes(
          dep.restart as string | undefined,
        )
      ) {
        problems.push(`${name}: waits for ${target} to complete, but it restarts`);
      }
    }
    if (!shots.has(name) && !hasHealthcheck(service)) {
      problems.push(`${name}: long-running service without a healthcheck`);
    }
  }
  return problems;
}

/** Words of a command (string or exec form). */
const words = (value: Json | undefined): string[] =>
  Array.isArray(value) ? value.map(String) : typeof value === "string" ? value.split(/\s+/) : [];

/** No `sleep` anywhere a service runs something: readiness is what healthchecks are for. */
function sleepProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    const health = isObject(service.healthcheck) ? service.healthcheck.test : undefined;
    for (
      const [field, value] of [
        ["command", service.command],
        ["entrypoint", service.entrypoint],
        ["healthcheck", health],
      ] as const
    ) {
      // `sleep` as a command (exec form word, or inside a shell string), not `--sleep-x`
      if (/(^|[\s;&|(])sleep(\s|$)/.test(words(value).join(" "))) {
        problems.push(`${name}: ${field} sleeps`);
      }
    }
  }
  return problems;
}

/** The `cdc --help` text of a subcommand path, or undefined if the subcommand does not exist. */
export type HelpFor = (path: string[]) => Promise<string | undefined>;

/** A subcommand invocation: its path (`connector register`) and the flags given. */
function invocation(args: string[]): { path: string[]; flags: string[] } {
  const first = args.findIndex((a) => a.startsWith("-"));
  const path = first === -1 ? args : args.slice(0, first);
  const flags = args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]);
  return { path, flags };
}

/** Services running the image built from this repository's Dockerfile. */
const cdcServices = (compose: ComposeFile) =>
  Object.entries(compose.services).filter(([, s]) =>
    s.build === "." || (isObject(s.build) && s.build.context === ".")
  );

/** Environment as a map, whichever form (map or `KEY=value` list) the file uses. */
function environment(service: Service): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => {
      const [key, ...rest] = String(e).split("=");
      return [key, rest.join("=")];
    }));
  }
  return isObject(env)
    ? Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]))
    : {};
}

/** One thing a cdc service runs that `--help` must document. */
interface CdcUse {
  service: string;
  path: string[];
  flags: string[];
  env: string[];
}

/**
 * What each cdc service runs: its command (with the CDC_* variables it sets) and its
 * healthcheck (flags only: it inherits the same environment). The image has no shell,
 * so a healthcheck must be exec form running the binary.
 */
function cdcUses(compose: ComposeFile): { uses: CdcUse[]; problems: string[] } {
  const uses: CdcUse[] = [];
  const problems: string[] = [];
  for (const [name, service] of cdcServices(compose)) {
    const env = Object.keys(environment(service)).filter((k) => k.startsWith("CDC_"));
    uses.push({ service: name, ...invocation(words(service.command)), env });
    if (isObject(service.healthcheck)) {
      const test = words(service.healthcheck.test);
      if (test[0] !== "CMD" || test[1] !== "/cdc") {
        problems.push(`${name}: healthcheck must be ["CMD", "/cdc", ...] (no shell in the image)`);
      } else {
        uses.push({ service: `${name} healthcheck`, ...invocation(test.slice(2)), env: [] });
      }
    }
  }
  return { uses, problems };
}

/**
 * Every CDC_* variable and flag a cdc service uses appears in the `--help` of the
 * subcommand it runs, and that subcommand exists.
 */
async function cdcHelpProblems(
  compose: ComposeFile,
  helpFor: HelpFor,
): Promise<{ problems: string[] }> {
  const { uses, problems } = cdcUses(compose);
  for (const use of uses) {
    if (!use.path.length) {
      problems.push(`${use.service}: runs no subcommand`);
      continue;
    }
    const help = await helpFor(use.path);
    if (help === undefined) {
      problems.push(`${use.service}: cdc has no subcommand "${use.path.join(" ")}"`);
      continue;
    }
    for (const name of [...use.env, ...use.flags]) {
      const pattern = new RegExp(`(^|[^A-Za-z0-9_-])${name}([^A-Za-z0-9_-]|$)`, "m");
      if (!pattern.test(help)) {
        problems.push(`${use.service}: ${name} is not in \`cdc ${use.path.join(" ")} --help\``);
      }
    }
  }
  return { problems };
}

/** Runs `main.ts <path> --help`; undefined unless that exact subcommand printed its usage. */
const helpCache = new Map<string, string | undefined>();
const mainHelp: HelpFor = async (path) => {
  const key = path.join(" ");
  if (helpCache.has(key)) return helpCache.get(key);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("main.ts", ROOT).pathname, ...path, "--help"],
    env: { NO_COLOR: "1", COLUMNS: "200" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  // commander answers `cdc unknown --help` with the root's help: check whose usage it is
  const exists = out.code === 0 && text.startsWith(`Usage: cdc ${key} `);
  const help = exists ? text : undefined;
  helpCache.set(key, help);
  return help;
};

/** The port of a `host:port` listen address, or undefined. */
const listenPort = (value: string | undefined) => value?.match(/:(\d+)$/)?.[1];

/** The Prometheus configuration given inline to the `prometheus` service (`configs`). */
function prometheusConfig(compose: ComposeFile): string | undefined {
  const service = compose.services.prometheus;
  const configs = isObject(compose.configs) ? compose.configs : {};
  const mount = Array.isArray(service?.configs) ? service.configs.find(isObject) : undefined;
  const config = mount && configs[String(mount.source)];
  return isObject(config) && typeof config.content === "string" ? config.content : undefined;
}

/**
 * Every `cdc stream` service serves its endpoint (CDC_HTTP_LISTEN on 0.0.0.0), its
 * healthcheck asks that port's /readyz, and Prometheus scrapes it there.
 */
function monitoringProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const scrape = prometheusConfig(compose);
  if (scrape === undefined) problems.push("prometheus: no inline configuration");
  for (const [name, service] of cdcServices(compose)) {
    if (words(service.command)[0] !== "stream") continue;
    const listen = environment(service).CDC_HTTP_LISTEN;
    const port = listenPort(listen);
    if (!listen?.startsWith("0.0.0.0:") || !port) {
      problems.push(`${name}: CDC_HTTP_LISTEN must be 0.0.0.0:<port>, is ${listen}`);
      continue;
    }
    const test = isObject(service.healthcheck) ? words(service.healthcheck.test) : [];
    const url = test[test.indexOf("--http-url") + 1];
    if (!test.includes("http") || url !== `http://127.0.0.1:${port}/readyz`) {
      problems.push(`${name}: the healthcheck does not ask /readyz on port ${port}`);
    }
    if (scrape !== undefined && !scrape.includes(`"${name}:${port}"`)) {
      problems.push(`${name}: Prometheus does not scrape ${name}:${port}`);
    }
  }
  return problems;
}

/** Instructions of a Dockerfile (continuation lines joined, comments dropped). */
function dockerInstructions(text: string): { op: string; args: string }[] {
  return text.replace(/\\\r?\n/g, " ").split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

/**
 * The final stage: a pinned base, only the compiled binary copied in (from the build
 * stage), a non-root user, the binary as exec-form entrypoint, nothing run. The build
 * stage compiles with `deno task compile` on a pinned 2.9.x Deno.
 */
function dockerfileProblems(text: string): string[] {
  const problems: string[] = [];
  const all = dockerInstructions(text);
  const starts = all.flatMap((ins, i) => ins.op === "FROM" ? [i] : []);
  if (starts.length < 2) return ["Dockerfile: not a multi-stage build"];
  for (const i of starts) {
    const image = all[i].args.split(/\s+/)[0];
    const last = image.split("/").pop()!;
    const tag = last.includes(":") ? last.split("@")[0].split(":")[1] : undefined;
    if ((!tag && !image.includes("@sha256:")) || tag === "latest") {
      problems.push(`Dockerfile: base image ${image} is not pinned`);
    }
  }
  const build = all.slice(starts[0], starts[1]);
  if (!/^denoland\/deno:2\.9\.\d+\b/.test(build[0].args)) {
    problems.push("Dockerfile: the build stage is not denoland/deno:2.9.x");
  }
  if (!build.some((i) => i.op === "RUN" && /\bdeno task compile\b/.test(i.args))) {
    problems.push("Dockerfile: the build stage does not run `deno task compile`");
  }
  const final = all.slice(starts[starts.length - 1] + 1);
  const users = final.filter((i) => i.op === "USER").map((i) => i.args.split(":")[0]);
  const user = users.pop();
  if (user === undefined || ["root", "0"].includes(user)) {
    problems.push(`Dockerfile: the final stage runs as ${user ?? "the base image's user"}`);
  }
  const copies = final.filter((i) => i.op === "COPY" || i.op === "ADD");
  const binary = copies.length === 1 && copies[0].op === "COPY" &&
    /^--from=\S+\s+\S*\/cdc\s+\/cdc$/.test(copies[0].args);
  if (!binary) problems.push("Dockerfile: the final stage must copy only the binary to /cdc");
  if (final.some((i) => i.op === "RUN")) problems.push("Dockerfile: the final stage runs commands");
  const entrypoint = final.filter((i) => i.op === "ENTRYPOINT").pop();
  if (!entrypoint || entrypoint.args.replace(/\s/g, "") !== '["/cdc"]') {
    problems.push('Dockerfile: ENTRYPOINT must be ["/cdc"]');
  }
  return problems;
}

/** The connector registration file: shape, converter settings, hosts on the compose network. */
function connectorProblems(
  registration: { name?: unknown; config?: Record<string, string> },
  compose: ComposeFile,
): string[] {
  const problems: string[] = [];
  const config = registration.config;
  if (typeof registration.name !== "string" || !isObject(config)) {
    return ['connector file: expected { "name": ..., "config": { ... } }'];
  }
  const services = new Set(Object.keys(compose.services));
  const host = (url: string) => new URL(url.includes("://") ? url : `tcp://${url}`).hostname;
  if (!services.has(config["database.hostname"])) {
    problems.push(`connector: database.hostname ${config["database.hostname"]} is no service`);
  }
  const bootstrap = config["schema.history.internal.kafka.bootstrap.servers"] ?? "";
  if (!bootstrap.split(",").every((b) => services.has(host(b)))) {
    problems.push(`connector: history bootstrap ${bootstrap} is not the compose Kafka`);
  }
  for (const side of ["key.converter", "value.converter"] as const) {
    const url = config[`${side}.apicurio.registry.url`] ?? "";
    if (!services.has(host(url)) || !url.endsWith("/apis/registry/v3")) {
      problems.push(`connector: ${side} registry URL ${url} is not the compose registry's v3 API`);
      continue;
    }
    // the settings `cdc connector register` sends, which the stack's smoke test proves
    for (const [key, value] of Object.entries(avroConverterConfig(side, "apicurio", url))) {
      if (config[key] !== value) {
        problems.push(`connector: ${key} is ${config[key]}, the stack uses ${value}`);
      }
    }
  }
  if (!(config["table.exclude.list"] ?? "").split(",").includes("inventory\\..*_cdc")) {
    problems.push("connector: table.exclude.list does not exclude inventory's _cdc tables");
  }
  // everything else as `cdc connector register` would send it for these endpoints
  const registered = debeziumConnectorConfig({
    name: registration.name,
    flavour: config["connector.class"] === CONNECTOR_CLASSES.mariadb ? "mariadb" : "mysql",
    hostname: config["database.hostname"],
    port: Number(config["database.port"]),
    user: config["database.user"],
    password: config["database.password"],
    serverId: Number(config["database.server.id"]),
    topicPrefix: config["topic.prefix"],
    databases: [config["database.include.list"]],
    bootstrapServers: bootstrap,
    historyTopic: config["schema.history.internal.kafka.topic"],
    converter: "apicurio",
    converterRegistryUrl: config["value.converter.apicurio.registry.url"],
    snapshotMode: config["snapshot.mode"],
  });
  for (const key of new Set([...Object.keys(registered), ...Object.keys(config)])) {
    // the file names the connector beside its config, as POST /connectors takes it
    if (key !== "name" && registered[key] !== config[key]) {
      problems.push(
        `connector: ${key} is ${config[key]}, cdc connector register sends ${registered[key]}`,
      );
    }
  }
  return problems;
}

// --- the real files --------------------------------------------------------------------

const compose = parseYaml(await read("compose.yaml"));
const dockerfile = await read("Dockerfile");
const registration = JSON.parse(await read("schemas/inventory-connector.json"));

Deno.test("compose.yaml is valid against the Compose specification schema", async () => {
  assert.deepEqual(await schemaProblems(compose), []);
});

Deno.test("compose.yaml pins every image", () => {
  assert.deepEqual(imageProblems(compose), []);
});

Deno.test("compose.yaml runs the versions the local stack pins (Kafka, Debezium, registry)", () => {
  assert.deepEqual(versionProblems(compose), []);
});

Deno.test("compose.yaml waits on readiness: dependencies, healthchecks, one-shots", () => {
  assert.deepEqual(dependencyProblems(compose), []);
});

Deno.test("compose.yaml never sleeps", () => {
  assert.deepEqual(sleepProblems(compose), []);
});

Deno.test("compose.yaml uses only CDC_* variables and flags cdc documents", async () => {
  const { problems } = await cdcHelpProblems(compose, mainHelp);
  assert.deepEqual(problems, []);
  assert.ok(cdcServices(compose).length >= 3, "no cdc services found");
});

Deno.test("compose.yaml: Prometheus scrapes every stream, whose healthcheck asks /readyz", () => {
  assert.deepEqual(monitoringProblems(compose), []);
});

Deno.test("compose.yaml: the Prometheus configuration passes promtool check config", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cdc-promtool-" });
  try {
    await Deno.writeTextFile(`${dir}/prometheus.yml`, prometheusConfig(compose)!);
    const out = await new Deno.Command("promtool", {
      args: ["check", "config", `${dir}/prometheus.yml`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the Dockerfile builds with deno task compile and ships only the binary, non-root", () => {
  assert.deepEqual(dockerfileProblems(dockerfile), []);
});

Deno.test("schemas/inventory-connector.json fits the compose network and the stack's converter", () => {
  assert.deepEqual(connectorProblems(registration, compose), []);
  // and the compose file hands exactly this file to register-connector
  const register = Object.values(compose.services).find((s) =>
    words(s.command).slice(0, 2).join(" ") === "connector register"
  );
  assert.ok(register, "no service runs `cdc connector register`");
  const mounts = (Array.isArray(register.volumes) ? register.volumes : []).map(String);
  const target = words(register.command)[words(register.command).indexOf("--config-file") + 1];
  assert.ok(
    mounts.includes(`./schemas/inventory-connector.json:${target}:ro`),
    `register-connector does not mount the registration at ${target}`,
  );
});

// --- every check fails on a broken copy ------------------------------------------------

/** A deep copy of the compose file, changed by `edit`. */
function broken(edit: (c: ComposeFile) => void): ComposeFile {
  const copy = structuredClone(compose);
  edit(copy);
  return copy;
}

Deno.test("each compose check reports a broken file", async () => {
  const s = (c: ComposeFile, name: string) => c.services[name];
  assert.notDeepEqual(
    await schemaProblems(broken((c) => s(c, "kafka").ports = "29092")),
    [],
    "schema",
  );
  assert.notDeepEqual(
    await schemaProblems(broken((c) => s(c, "kafka").helthcheck = {})),
    [],
    "schema: unknown key",
  );
  assert.notDeepEqual(imageProblems(broken((c) => s(c, "kafka").image = "apache/kafka")), []);
  assert.notDeepEqual(
    imageProblems(broken((c) => s(c, "kafka").image = "apache/kafka:latest")),
    [],
  );
  assert.notDeepEqual(
    versionProblems(broken((c) => s(c, "connect").image = "quay.io/debezium/connect:3.6.1.Final")),
    [],
    "a Debezium other than the stack's",
  );
  assert.notDeepEqual(
    dependencyProblems(broken((c) => delete s(c, "registry").healthcheck)),
    [],
    "service_healthy target without healthcheck",
  );
  assert.notDeepEqual(
    dependencyProblems(broken((c) => s(c, "connect").depends_on = { kafkaa: {} })),
    [],
    "unknown target",
  );
  assert.notDeepEqual(
    dependencyProblems(broken((c) => s(c, "register-connector").restart = "on-failure")),
    [],
    "restarting one-shot",
  );
  assert.notDeepEqual(
    sleepProblems(broken((c) => s(c, "cdc-customers").command = ["sh", "-c", "sleep 30 && cdc"])),
    [],
  );
  assert.notDeepEqual(
    sleepProblems(broken((c) => s(c, "mysql").healthcheck = { test: ["CMD-SHELL", "sleep 5"] })),
    [],
  );
  assert.notDeepEqual(
    monitoringProblems(broken((c) => {
      const { CDC_HTTP_LISTEN: _, ...rest } = environment(s(c, "cdc-customers"));
      s(c, "cdc-customers").environment = rest;
    })),
    [],
    "a stream without its endpoint",
  );
  assert.notDeepEqual(
    monitoringProblems(broken((c) => s(c, "cdc-addresses").healthcheck = { test: ["NONE"] })),
    [],
    "a stream whose healthcheck does not ask /readyz",
  );
  assert.notDeepEqual(
    monitoringProblems(broken((c) => {
      const config = (c.configs as Record<string, Record<string, string>>).prometheus;
      config.content = config.content.replace('"cdc-addresses:9464"', "");
    })),
    [],
    "a stream Prometheus does not scrape",
  );
  const help = (text: string): HelpFor => (path) =>
    Promise.resolve(path[0] === "stream" ? text : undefined);
  const withUnknownVar = broken((c) => {
    s(c, "cdc-customers").environment = { ...environment(s(c, "cdc-customers")), CDC_NOPE: "1" };
  });
  const streamHelp = await mainHelp(["stream"]);
  assert.ok(streamHelp, "cdc stream --help");
  const undocumented = await cdcHelpProblems(withUnknownVar, help(streamHelp));
  assert.ok(undocumented.problems.some((p) => p.includes("CDC_NOPE")), "undocumented variable");
  const badFlag = broken((c) => s(c, "cdc-addresses").command = ["stream", "--tabel", "x"]);
  assert.ok(
    (await cdcHelpProblems(badFlag, help(streamHelp))).problems.some((p) => p.includes("--tabel")),
    "undocumented flag",
  );
  const unknownSubcommand = broken((c) =>
    s(c, "cdc-addresses").command = ["strem", "--table", "x"]
  );
  assert.ok(
    (await cdcHelpProblems(unknownSubcommand, help(streamHelp))).problems.some((p) =>
      p.includes('no subcommand "strem"')
    ),
    "unknown subcommand",
  );
  const shellHealth = broken((c) =>
    s(c, "cdc-customers").healthcheck = { test: ["CMD-SHELL", "/cdc wait"] }
  );
  assert.notDeepEqual(cdcUses(shellHealth).problems, [], "shell healthcheck in a shell-less image");
});

Deno.test("the Dockerfile check reports a broken Dockerfile", () => {
  const breakIt = (from: RegExp, to: string) => {
    const changed = dockerfile.replace(from, to);
    assert.notEqual(changed, dockerfile, `${from} did not match`);
    return dockerfileProblems(changed);
  };
  assert.notDeepEqual(breakIt(/^USER 65532:65532$/m, "USER root"), [], "root");
  assert.notDeepEqual(breakIt(/^USER .*$/m, ""), [], "no USER");
  assert.notDeepEqual(
    breakIt(/^COPY --from=build .*$/m, "COPY --from=build /src /app"),
    [],
    "whole tree",
  );
  assert.notDeepEqual(
    breakIt(/^ENTRYPOINT .*$/m, 'ENTRYPOINT ["/cdc"]\nCOPY --from=build /src/deno.json /'),
    [],
    "extra copy",
  );
  assert.notDeepEqual(
    breakIt(/^RUN deno task compile$/m, "RUN deno compile -A main.ts"),
    [],
    "-A compile",
  );
  assert.notDeepEqual(breakIt(/denoland\/deno:2\.9\.\d+/, "denoland/deno:latest"), [], "latest");
});

Deno.test("the connector check reports a broken registration", () => {
  const edit = (key: string, value: string | undefined) => {
    const config = { ...registration.config };
    if (value === undefined) delete config[key];
    else config[key] = value;
    return connectorProblems({ ...registration, config }, compose);
  };
  assert.notDeepEqual(edit("database.hostname", "localhost"), []);
  assert.notDeepEqual(edit("value.converter.apicurio.registry.use-id", "globalId"), []);
  assert.notDeepEqual(edit("key.converter.apicurio.registry.headers.enabled", undefined), []);
  assert.notDeepEqual(edit("table.exclude.list", undefined), []);
  assert.notDeepEqual(edit("key.converter.apicurio.registry.url", "http://registry:8080"), []);
});
