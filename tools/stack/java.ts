/**
 * Picks the JDKs the stack runs on.
 *
 * Kafka and Kafka Connect (with Debezium) run on Java 17 or newer; Apicurio Registry
 * 3.3 needs Java 21 or newer. Candidates: `$CDC_STACK_JAVA_HOME` /
 * `$CDC_STACK_REGISTRY_JAVA_HOME` (forced), `$JAVA_HOME`, every JDK under
 * /usr/lib/jvm, and the `java` on PATH.
 *
 * @module
 */

import { exists, which } from "./proc.ts";

/** An installed JDK. */
export interface Jdk {
  home: string;
  java: string;
  /** Feature release, e.g. 17 or 25. */
  major: number;
  /** Full version as its `release` file or `java -version` says. */
  version: string;
}

let cached: Jdk[] | undefined;

function parseMajor(version: string): number {
  const parts = version.split(/[.+_-]/);
  const first = Number(parts[0]);
  return first === 1 ? Number(parts[1]) : first;
}

async function describe(home: string): Promise<Jdk | undefined> {
  const java = `${home}/bin/java`;
  if (!exists(java)) return undefined;
  let version: string | undefined;
  try {
    const release = Deno.readTextFileSync(`${home}/release`);
    version = /^JAVA_VERSION="([^"]+)"/m.exec(release)?.[1];
  } catch {
    // no release file: ask java itself
  }
  if (!version) {
    const out = await new Deno.Command(java, {
      args: ["-version"],
      stdout: "null",
      stderr: "piped",
    })
      .output();
    version = /version "([^"]+)"/.exec(new TextDecoder().decode(out.stderr))?.[1];
  }
  if (!version) return undefined;
  return { home, java, major: parseMajor(version), version };
}

/** Every JDK found, without duplicates (symlinked homes count once). */
async function installedJdks(): Promise<Jdk[]> {
  if (cached) return cached;
  const homes: string[] = [];
  const javaHome = Deno.env.get("JAVA_HOME");
  if (javaHome) homes.push(javaHome);
  try {
    for (const entry of Deno.readDirSync("/usr/lib/jvm")) homes.push(`/usr/lib/jvm/${entry.name}`);
  } catch {
    // no /usr/lib/jvm
  }
  const onPath = which("java");
  if (onPath) {
    try {
      homes.push(Deno.realPathSync(onPath).replace(/\/bin\/java$/, ""));
    } catch {
      // dangling link
    }
  }
  const seen = new Set<string>();
  const jdks: Jdk[] = [];
  for (const home of homes) {
    let real: string;
    try {
      real = Deno.realPathSync(home);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const jdk = await describe(real);
    if (jdk) jdks.push(jdk);
  }
  cached = jdks.sort((a, b) => a.major - b.major);
  return cached;
}

async function forced(variable: string): Promise<Jdk | undefined> {
  const home = Deno.env.get(variable);
  if (!home) return undefined;
  const jdk = await describe(home);
  if (!jdk) throw new Error(`${variable}=${home} is not a JDK (no bin/java or no version)`);
  return jdk;
}

/**
 * The JDK for Kafka and Kafka Connect: `$CDC_STACK_JAVA_HOME`, else the oldest JDK
 * that is 17 or newer (17 is what Kafka 4.1 and Debezium 3.5 are built for).
 */
export async function kafkaJdk(): Promise<Jdk> {
  const jdk = await forced("CDC_STACK_JAVA_HOME") ??
    (await installedJdks()).find((j) => j.major >= 17);
  if (!jdk) {
    throw new Error(
      "Kafka 4 needs Java 17 or newer and none was found (looked at $JAVA_HOME, " +
        "/usr/lib/jvm/*, java on PATH). Install one, e.g. `apt-get install -y openjdk-17-jdk-headless`, " +
        "or point CDC_STACK_JAVA_HOME at a JDK.",
    );
  }
  return jdk;
}

/**
 * The JDK for the registry and the registry version that runs on it:
 * `$CDC_STACK_REGISTRY_JAVA_HOME` or the oldest JDK that is 21 or newer runs the pinned
 * Apicurio Registry; without one, the fallback registry (Java 17) runs on the Kafka JDK.
 */
export async function registryJdk(): Promise<{ jdk: Jdk; fallback: boolean }> {
  const jdk = await forced("CDC_STACK_REGISTRY_JAVA_HOME") ??
    (await installedJdks()).find((j) => j.major >= 21);
  if (jdk) return { jdk, fallback: jdk.major < 21 };
  return { jdk: await kafkaJdk(), fallback: true };
}
