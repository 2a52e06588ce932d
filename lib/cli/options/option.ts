/**
 * How `cdc` declares an option: every option has an environment variable (12-factor),
 * `CDC_<NAME>`, and the seed's names (`BOOTSTRAP_SERVERS`, `MYSQL_HOST`, ...) where they
 * map. Precedence: flag, then `CDC_*`, then the seed's name, then the default. The option
 * groups beside this module (kafka.ts, mysql.ts, ...) each pair their flags with the
 * function that turns the parsed options into a connection.
 *
 * @module
 */
import { InvalidArgumentError, Option } from "commander";
import type { Listen } from "../../ops/http_server.ts";

/** How one option is spelled, documented and defaulted. */
export interface OptionSpec {
  /** Commander flags, e.g. `"--batch-size <n>"`. */
  flags: string;
  description: string;
  /** The primary environment variable. */
  env: string;
  /** Older names accepted too (the seed's), weaker than `env`. */
  aliases?: readonly string[];
  /**
   * As a user would write it (`"2m"`, `"5000"`), parsed by `parse` like a given value and
   * shown in help as written; `true`/`false` for a switch.
   */
  default?: string | boolean;
  /** A secret: its value never appears in help output or logs. */
  secret?: boolean;
  parse?: (value: string) => unknown;
  choices?: readonly string[];
}

/**
 * Builds a commander option from a spec: its environment variable, the seed's alias
 * variables (weaker), and its default, parsed by `spec.parse` as a given value is (commander
 * itself hands defaults over as they are).
 */
export function envOption(spec: OptionSpec): Option {
  const aliasSet = spec.aliases?.find((name) => Deno.env.get(name) !== undefined);
  const description = spec.aliases?.length
    ? `${spec.description} (also env ${spec.aliases.join(", ")})`
    : spec.description;
  const option = new Option(spec.flags, description).env(spec.env);
  if (spec.choices) option.choices(spec.choices);
  const parse = spec.parse;
  if (parse) option.argParser((value: string) => parse(value));
  const raw = aliasSet === undefined ? spec.default : Deno.env.get(aliasSet)!;
  if (raw !== undefined) {
    const value = parse && typeof raw === "string" ? parse(raw) : raw;
    const shown = parse || aliasSet ? String(raw) : undefined; // else commander shows the value
    option.default(value, spec.secret ? "(set)" : aliasSet ? `${shown} from ${aliasSet}` : shown);
  }
  return option;
}

/** Parses a whole number of at least `min`, or explains what was wrong. */
export function integer(min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number >= ${min}, got "${value}"`);
    }
    return n;
  };
}

/** Parses a duration: `500ms`, `30s`, `2m`, or plain milliseconds. */
export function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) {
    throw new InvalidArgumentError(`expected a duration like 500ms, 30s or 2m, got "${value}"`);
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "ms"]!;
  return Math.round(Number(match[1]) * unit);
}

/** Parses a size: `64MiB`, `1GiB`, `500kB`, or plain bytes. */
export function byteSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|kB|KiB|MB|MiB|GB|GiB)?$/.exec(value.trim());
  if (!match) {
    throw new InvalidArgumentError(`expected a size like 64MiB, 1GiB or 500kB, got "${value}"`);
  }
  const unit = {
    B: 1,
    kB: 1e3,
    KiB: 1024,
    MB: 1e6,
    MiB: 1024 ** 2,
    GB: 1e9,
    GiB: 1024 ** 3,
  }[match[2] ?? "B"]!;
  return Math.round(Number(match[1]) * unit);
}

/** Accumulates a repeatable option whose values (and env variable) may be comma-separated. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((v) => v.trim()).filter(Boolean)];
}

/**
 * A secret given directly (flag or env) or as a file (trailing newline removed);
 * the file wins. `what` names it in the error when the file cannot be read.
 */
export async function secret(
  value: string | undefined,
  file: string | undefined,
  what: string,
): Promise<string | undefined> {
  if (!file) return value;
  try {
    return (await Deno.readTextFile(file)).replace(/\r?\n$/, "");
  } catch (error) {
    throw new Error(`cannot read the ${what} file ${file}: ${(error as Error).message}`);
  }
}

/**
 * Parses `host:port` (`0.0.0.0:9464`, `[::]:9464`, `127.0.0.1:0` for any free
 * port); the host is required, so that listening on every interface is a choice.
 */
export function listenAddress(value: string): Listen {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new InvalidArgumentError(
      `expected host:port like 127.0.0.1:9464, 0.0.0.0:9464 or [::]:9464, got "${value}"`,
    );
  }
  return { hostname: match[1] ?? match[2], port };
}
