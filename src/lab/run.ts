/**
 * Running things in the lab's namespaces: commands (bounded in time, their output
 * returned), postern itself as a command or as a daemon whose pid is recorded in the lab
 * state before it is awaited, and the bounded wait for a daemon's "ready" line.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PosternError } from "../errors.js";
import { type LabState, saveLabState } from "./state.js";

export interface RunResult {
  code: number;
  out: string;
  err: string;
}

/** The postern binary this process runs (node + dist/src/cli/main.js). */
export function posternArgv(): string[] {
  return [process.execPath, process.argv[1] as string];
}

function inNs(ns: string | null, argv: readonly string[]): string[] {
  return ns === null ? [...argv] : ["ip", "netns", "exec", ns, ...argv];
}

export function run(
  ns: string | null,
  argv: readonly string[],
  opts: { timeoutMs?: number; input?: string; env?: Record<string, string> } = {},
): RunResult {
  const full = inNs(ns, argv);
  const r = spawnSync(full[0] as string, full.slice(1), {
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 30_000,
    input: opts.input,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status ?? -1, out: r.stdout ?? "", err: r.stderr ?? "" };
}

/** Like run, but a failure is an error naming the command and its first error line. */
export function must(
  ns: string | null,
  argv: readonly string[],
  opts: Parameters<typeof run>[2] = {},
): string {
  const r = run(ns, argv, opts);
  if (r.code !== 0) {
    const line = (r.err.trim() || r.out.trim()).split("\n")[0] ?? "";
    throw new PosternError(
      "lab",
      `${argv.join(" ")}${ns ? ` (in ${ns})` : ""} failed (exit ${r.code}): ${line}`,
    );
  }
  return r.out;
}

/** `postern --home HOME ARGS` in `ns`. */
export function postern(ns: string | null, home: string, args: readonly string[], opts = {}) {
  return must(ns, [...posternArgv(), "--home", home, ...args], opts);
}

/**
 * Starts `argv` in `ns` with its output in `<dir>/<name>.log`, records its pid, and waits
 * until the log matches `ready` (or the process ends, or `timeoutMs` passes: errors).
 */
export async function startDaemon(
  state: LabState,
  home: string,
  d: { name: string; ns: string; argv: string[]; ready: RegExp; timeoutMs: number },
): Promise<number> {
  const log = path.join(state.dir, `${d.name}.log`);
  const fd = fs.openSync(log, "a", 0o600);
  const full = inNs(d.ns, d.argv);
  const child = spawn(full[0] as string, full.slice(1), {
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  fs.closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new PosternError("lab", `cannot start ${d.name}`);
  state.processes.push({ name: d.name, pid, ns: d.ns });
  saveLabState(home, state);
  let exited: number | null | undefined;
  child.once("exit", (code) => {
    exited = code;
  });
  child.unref();
  const deadline = Date.now() + d.timeoutMs;
  while (Date.now() < deadline) {
    const text = fs.readFileSync(log, "utf8");
    if (d.ready.test(text)) return pid;
    if (exited !== undefined) {
      const last = text.trim().split("\n").slice(-1)[0] ?? "";
      throw new PosternError("lab", `${d.name} exited (${exited}) before it was ready: ${last}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new PosternError("lab", `${d.name} not ready within ${d.timeoutMs} ms (see ${log})`);
}
