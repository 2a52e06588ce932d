/**
 * Process and port helpers for the local stack (Linux, Deno APIs only).
 *
 * @module
 */

import { steadyBackoff, waitFor } from "../../lib/util/retry.ts";

/** Result of {@link run}. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link run}. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Text written to the command's standard input. */
  stdin?: string;
}

/** Runs a command to completion and captures its output. */
export async function run(
  cmd: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const command = new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs a command and throws with its output when it exits non-zero. */
export async function runChecked(
  cmd: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await run(cmd, args, options);
  if (result.code !== 0) {
    const output = (result.stdout + result.stderr).trim().split("\n").slice(-30).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} exited with ${result.code}:\n${output}`);
  }
  return result;
}

/**
 * Starts `argv` in a new session (setsid), detached from the caller, with stdout and
 * stderr appended to `log` and stdin from /dev/null, and returns its pid. The process
 * outlives the Deno process that started it.
 */
export async function spawnDetached(
  argv: string[],
  options: { cwd: string; log: string; env?: Record<string, string> },
): Promise<number> {
  // sh backgrounds setsid without job control, so setsid is no process-group leader,
  // calls setsid(2) itself and execs argv: the pid printed is the service's pid.
  const script = 'cd "$1" || exit 1; log="$2"; shift 2; setsid "$@" >>"$log" 2>&1 </dev/null & ' +
    "echo $!";
  const result = await runChecked("sh", ["-c", script, "sh", options.cwd, options.log, ...argv], {
    env: options.env,
  });
  const pid = Number(result.stdout.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`could not start ${argv[0]}`);
  return pid;
}

/** Whether a process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The command line of a process, or undefined when it is gone. */
export function commandLine(pid: number): string[] | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter((s) => s !== "");
  } catch {
    return undefined;
  }
}

/** Sends a signal, ignoring a process that is already gone. */
export function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Stops a process: SIGTERM, wait up to `graceMs` for it to exit, then SIGKILL and wait
 * again. With `kill`, sends SIGKILL at once (a crash, for tests).
 * Returns how it ended.
 */
export async function terminate(
  pid: number,
  graceMs: number,
  kill = false,
): Promise<"exited" | "killed" | "gone"> {
  if (!isAlive(pid)) return "gone";
  if (!kill) {
    signal(pid, "SIGTERM");
    try {
      await waitFor(`pid ${pid} to exit`, () => !isAlive(pid), graceMs, {
        backoff: { initialMs: 100, maxMs: 250, factor: 2 },
      });
      return "exited";
    } catch {
      // fall through to SIGKILL
    }
  }
  signal(pid, "SIGKILL");
  await waitFor(`pid ${pid} to die after SIGKILL`, () => !isAlive(pid), 15_000, {
    backoff: steadyBackoff(100),
  });
  return "killed";
}

/** Whether something accepts TCP connections on host:port. */
export async function portOpen(port: number, hostname = "127.0.0.1"): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Pids of the processes that listen on a TCP port (read from /proc). */
export function listenerPids(port: number): number[] {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = cols[1];
      if (cols[3] === "0A" && local.slice(local.lastIndexOf(":") + 1) === hexPort) {
        inodes.add(cols[9]);
      }
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      for (const fd of Deno.readDirSync(`/proc/${entry.name}/fd`)) {
        const target = Deno.readLinkSync(`/proc/${entry.name}/fd/${fd.name}`);
        const match = /^socket:\[(\d+)\]$/.exec(target);
        if (match && inodes.has(match[1])) {
          pids.push(Number(entry.name));
          break;
        }
      }
    } catch {
      // process gone or not ours to read
    }
  }
  return pids;
}

/** Resident set size of a process in bytes (VmRSS), or 0 when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Finds an executable on PATH or in the extra directories. */
export function which(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), ...extraDirs].filter((d) => d);
  for (const dir of dirs) {
    const path = `${dir}/${name}`;
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** Whether a path exists. */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
