/**
 * Downloads and unpacks the stack's JVM components from Maven Central, cached by
 * version: Maven's own cache (~/.m2) holds the downloaded files and
 * `~/.cache/cdc-stack/<component>-<version>-<hash>` the assembled directories.
 *
 * @module
 */

import {
  CACHE_DIR,
  KAFKA_VERSION,
  LOG_DIR,
  logFile,
  MAVEN_CENTRAL,
  STACK_SRC_DIR,
  VERSIONS,
} from "./config.ts";
import { exists, run, runChecked, which } from "./proc.ts";

/** Receives progress lines. */
export type Say = (line: string) => void;

const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function dirSize(path: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of Deno.readDirSync(path)) {
    const child = `${path}/${entry.name}`;
    if (entry.isDirectory) {
      const sub = dirSize(child);
      files += sub.files;
      bytes += sub.bytes;
    } else if (entry.isFile) {
      files++;
      bytes += Deno.statSync(child).size;
    }
  }
  return { files, bytes };
}

/**
 * Returns `CACHE_DIR/key`, building it first with `build` when it is not complete.
 * Building happens in a scratch directory renamed into place at the end, so an
 * interrupted download never leaves a half-filled cache entry behind.
 */
async function cachedDir(
  key: string,
  what: string,
  say: Say,
  build: (dir: string) => Promise<void>,
): Promise<string> {
  const dir = `${CACHE_DIR}/${key}`;
  if (exists(`${dir}/.complete`)) return dir;
  say(`downloading ${what} ...`);
  const started = performance.now();
  const scratch = `${dir}.partial-${Deno.pid}`;
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
  await Deno.mkdir(scratch, { recursive: true });
  try {
    await build(scratch);
  } catch (error) {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
    throw error;
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(scratch, dir);
  await Deno.writeTextFile(`${dir}/.complete`, `${new Date().toISOString()}\n`);
  const size = dirSize(dir);
  say(
    `${what}: ${size.files} files, ${(size.bytes / 1048576).toFixed(0)} MB in ${dir} ` +
      `(${((performance.now() - started) / 1000).toFixed(1)}s)`,
  );
  return dir;
}

function mvnBinary(): string {
  const mvn = Deno.env.get("CDC_STACK_MVN") ?? which("mvn");
  if (!mvn) {
    throw new Error("Maven (mvn) is needed to download the stack: apt-get install -y maven");
  }
  return mvn;
}

/** Runs Maven in batch mode, its output appended to .stack/logs/maven.log. */
async function mvn(args: string[]): Promise<void> {
  const result = await run(mvnBinary(), ["-B", "--no-transfer-progress", ...args]);
  const log = logFile("maven");
  await Deno.mkdir(LOG_DIR, { recursive: true });
  await Deno.writeTextFile(
    log,
    `\n=== ${new Date().toISOString()} mvn ${args.join(" ")}\n${result.stdout}${result.stderr}`,
    { append: true },
  );
  if (result.code !== 0) {
    const errors = (result.stdout + result.stderr).split("\n").filter((l) => l.includes("ERROR"));
    throw new Error(
      `mvn ${args.slice(0, 3).join(" ")} failed (exit ${result.code}); see ${log}\n` +
        errors.slice(0, 5).join("\n"),
    );
  }
}

/** Copies the runtime dependencies of one of tools/stack/maven/*.pom.xml into `dir`. */
async function copyDependencies(pom: string, dir: string, properties: Record<string, string>) {
  await mvn([
    "-f",
    `${STACK_SRC_DIR}/maven/${pom}`,
    `${DEPENDENCY_PLUGIN}:copy-dependencies`,
    "-DincludeScope=runtime",
    `-DoutputDirectory=${dir}`,
    ...Object.entries(properties).map(([k, v]) => `-D${k}=${v}`),
  ]);
}

/** Copies one artifact (groupId:artifactId:version[:type[:classifier]]) into `dir`. */
async function copyArtifact(coordinates: string, dir: string): Promise<string> {
  await mvn([
    "-f",
    `${STACK_SRC_DIR}/maven/kafka.pom.xml`,
    `${DEPENDENCY_PLUGIN}:copy`,
    `-Dartifact=${coordinates}`,
    `-DoutputDirectory=${dir}`,
  ]);
  const [, artifact, version, type = "jar", classifier] = coordinates.split(":");
  return `${dir}/${artifact}-${version}${classifier ? `-${classifier}` : ""}.${type}`;
}

/**
 * Downloads one file of Maven Central by its exact URL and checks it against the
 * `.sha1` published beside it. For the few artifacts Maven cannot resolve because a
 * parent POM is missing from Central.
 */
async function fetchVerified(path: string, dest: string): Promise<string> {
  const url = `${MAVEN_CENTRAL}/${path}`;
  const sumResponse = await fetch(`${url}.sha1`);
  if (!sumResponse.ok) throw new Error(`GET ${url}.sha1: HTTP ${sumResponse.status}`);
  const expected = (await sumResponse.text()).trim().slice(0, 40).toLowerCase();
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const digest = await crypto.subtle.digest("SHA-1", bytes);
  const actual = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  if (actual !== expected) throw new Error(`${url}: SHA-1 ${actual}, expected ${expected}`);
  await Deno.writeFile(dest, bytes);
  return dest;
}

async function untar(archive: string, dir: string): Promise<void> {
  await runChecked("tar", ["-xzf", archive, "-C", dir]);
}

/**
 * Directory of jars forming the classpath of the Kafka Connect worker, of the broker when it
 * runs the pinned version, and of Kafka's admin tools (ConfigCommand, ReassignPartitionsCommand,
 * LeaderElectionCommand), which talk to brokers of any version.
 */
export async function kafkaClasspath(say: Say): Promise<string> {
  const pom = await Deno.readTextFile(`${STACK_SRC_DIR}/maven/kafka.pom.xml`);
  const key = `kafka-${VERSIONS.kafka}-${(await sha256Hex(pom)).slice(0, 8)}`;
  return await cachedDir(
    key,
    `Apache Kafka ${VERSIONS.kafka} (broker + Connect classpath)`,
    say,
    (dir) => copyDependencies("kafka.pom.xml", `${dir}/lib`, { "kafka.version": VERSIONS.kafka }),
  ) +
    "/lib";
}

/**
 * Directory of jars the brokers run on: {@link kafkaClasspath} for the pinned version, else
 * the broker alone at {@link KAFKA_VERSION} (tools/stack/maven/kafka-broker.pom.xml).
 */
export async function brokerClasspath(say: Say): Promise<string> {
  if (KAFKA_VERSION === VERSIONS.kafka) return await kafkaClasspath(say);
  const pom = await Deno.readTextFile(`${STACK_SRC_DIR}/maven/kafka-broker.pom.xml`);
  return await cachedDir(
    `kafka-broker-${KAFKA_VERSION}-${(await sha256Hex(pom)).slice(0, 8)}`,
    `Apache Kafka ${KAFKA_VERSION} (broker classpath)`,
    say,
    (dir) =>
      copyDependencies("kafka-broker.pom.xml", `${dir}/lib`, { "kafka.version": KAFKA_VERSION }),
  ) + "/lib";
}

/**
 * Kafka Connect plugin directories: Debezium MariaDB and MySQL connectors, the Debezium JDBC sink
 * connector (the benchmark's contender, tests/bench), Apicurio converter.
 */
export async function connectPlugins(say: Say): Promise<string[]> {
  const debezium = await cachedDir(
    `debezium-${VERSIONS.debezium}`,
    `Debezium ${VERSIONS.debezium} MariaDB and MySQL connector plugins`,
    say,
    async (dir) => {
      for (const connector of ["mariadb", "mysql"]) {
        const archive = await copyArtifact(
          `io.debezium:debezium-connector-${connector}:${VERSIONS.debezium}:tar.gz:plugin`,
          `${dir}/download`,
        );
        await untar(archive, dir);
      }
      await Deno.remove(`${dir}/download`, { recursive: true });
    },
  );
  // a cache entry of its own, so adding it leaves the source connectors' entry valid
  const jdbc = await cachedDir(
    `debezium-jdbc-${VERSIONS.debezium}`,
    `Debezium ${VERSIONS.debezium} JDBC sink connector plugin`,
    say,
    async (dir) => {
      const archive = await copyArtifact(
        `io.debezium:debezium-connector-jdbc:${VERSIONS.debezium}:tar.gz:plugin`,
        `${dir}/download`,
      );
      await untar(archive, dir);
      await Deno.remove(`${dir}/download`, { recursive: true });
    },
  );
  const pom = await Deno.readTextFile(`${STACK_SRC_DIR}/maven/converter.pom.xml`);
  const converter = await cachedDir(
    `apicurio-converter-${VERSIONS.converter}-serde-${VERSIONS.converterSerde}-${
      (await sha256Hex(pom)).slice(0, 8)
    }`,
    `Apicurio Registry converter ${VERSIONS.converter} (serdes ${VERSIONS.converterSerde})`,
    say,
    async (dir) => {
      const plugin = `${dir}/apicurio-avro-converter`;
      await copyDependencies("converter.pom.xml", plugin, {
        "apicurio.serde.version": VERSIONS.converterSerde,
      });
      const name = `apicurio-registry-utils-converter-${VERSIONS.converter}.jar`;
      await fetchVerified(
        `io/apicurio/apicurio-registry-utils-converter/${VERSIONS.converter}/${name}`,
        `${plugin}/${name}`,
      );
    },
  );
  return [
    `${debezium}/debezium-connector-mariadb`,
    `${debezium}/debezium-connector-mysql`,
    `${jdbc}/debezium-connector-jdbc`,
    `${converter}/apicurio-avro-converter`,
  ];
}

/** An unpacked Apicurio Registry (a Quarkus application). */
export interface RegistryDistribution {
  version: string;
  home: string;
  /** The jar to run with `java -jar`. */
  jar: string;
}

/**
 * The Apicurio Registry distribution: the pinned version, or with `fallback` the
 * older one that runs on Java 17 (whose parent POM is missing from Central, so it is
 * fetched by URL).
 */
export async function registryDistribution(
  say: Say,
  fallback: boolean,
): Promise<RegistryDistribution> {
  const version = fallback ? VERSIONS.registryFallback : VERSIONS.registry;
  const home = await cachedDir(
    `apicurio-registry-${version}`,
    `Apicurio Registry ${version}`,
    say,
    async (dir) => {
      const name = `apicurio-registry-app-${version}-all.tar.gz`;
      const archive = fallback
        ? await fetchVerified(
          `io/apicurio/apicurio-registry-app/${version}/${name}`,
          `${dir}/${name}`,
        )
        : await copyArtifact(`io.apicurio:apicurio-registry-app:${version}:tar.gz:all`, dir);
      await untar(archive, dir);
      await Deno.remove(archive);
    },
  );
  const candidates = [...Deno.readDirSync(home)].map((e) => e.name);
  const jar = candidates.find((n) => n === "quarkus-run.jar") ??
    candidates.find((n) => n.endsWith("-runner.jar"));
  if (!jar) throw new Error(`no quarkus-run.jar or *-runner.jar in ${home}`);
  return { version, home, jar: `${home}/${jar}` };
}
