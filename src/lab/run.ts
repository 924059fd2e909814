/**
 * Running things in the lab's namespaces: commands (bounded in time, their output
 * returned), postern itself as a command or as a daemon whose pid is recorded in the lab
 * state before it is awaited, and the bounded wait for a daemon's "ready" line.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { CliEnv } from "../cmdline/env.js";
import { PosternError } from "../errors.js";
import { type LabState, saveLabState } from "./state.js";

export interface RunResult {
  code: number;
  out: string;
  err: string;
}

/** dist/src/cli/main.js, found from this module (not argv[1], which may be a symlink). */
export const MAIN_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../cli/main.js");

/**
 * The node options on main.js's `#!/usr/bin/env -S node ...` line, which the installed
 * `postern` command runs with; [] when the line has none.
 */
export function shebangNodeOptions(file: string = MAIN_JS): string[] {
  const first = fs.readFileSync(file, "utf8").split("\n", 1)[0] ?? "";
  const m = /^#!\S*env -S node((?: --[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  return m?.[1] ? m[1].trim().split(/\s+/) : [];
}

let mainOptions: string[] | undefined;

/** The postern binary this process runs: node with main.js's options, then main.js. */
export function posternArgv(): string[] {
  mainOptions ??= shebangNodeOptions();
  return [process.execPath, ...mainOptions, MAIN_JS];
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
 * until the log matches `ready` (or the process ends, or `timeoutMs` passes: errors);
 * `ready` null: returns once started, for a daemon that says nothing (samba: the caller
 * waits for its ports).
 */
export async function startDaemon(
  state: LabState,
  home: string,
  d: { name: string; ns: string; argv: string[]; ready: RegExp | null; timeoutMs: number },
): Promise<number> {
  const log = path.join(state.dir, `${d.name}.log`);
  const fd = fs.openSync(log, "a", 0o600);
  // a restarted daemon appends: only what this one writes says it is ready
  const from = fs.fstatSync(fd).size;
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
  if (d.ready === null) return pid;
  const ready = d.ready;
  const deadline = Date.now() + d.timeoutMs;
  while (Date.now() < deadline) {
    const text = fs.readFileSync(log, "utf8").slice(from);
    if (ready.test(text)) return pid;
    if (exited !== undefined) {
      const last = text.trim().split("\n").slice(-1)[0] ?? "";
      throw new PosternError("lab", `${d.name} exited (${exited}) before it was ready: ${last}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new PosternError("lab", `${d.name} not ready within ${d.timeoutMs} ms (see ${log})`);
}

/**
 * `postern --home HOME ARGS` in this process (host namespace): no node start-up per
 * command. For what needs no other namespace: the DC's admin socket, netsh on a host's
 * home (the firewall's rules go to POSTERN_NETNS), klist on a machine's cache.
 */
export async function posternHere(
  env: CliEnv,
  home: string,
  args: readonly string[],
  vars: Record<string, string> = {},
): Promise<string> {
  const COMMANDS = env.commands ?? [];
  const json = args[0] === "--json";
  const [name, ...rest] = json ? args.slice(1) : args;
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) throw new PosternError("lab", `no postern command '${name}'`);
  let out = "";
  let err = "";
  let code: number;
  try {
    code = await cmd.run(rest, {
      home,
      json,
      out: (t) => {
        out += t.endsWith("\n") ? t : `${t}\n`;
      },
      err: (t) => {
        err += t.endsWith("\n") ? t : `${t}\n`;
      },
      vars: { ...env.vars, ...vars },
      isRoot: env.isRoot,
      cwd: env.cwd,
      commands: COMMANDS,
    });
  } catch (e) {
    err += (e as Error).message;
    code = 1;
  }
  if (code !== 0) {
    const line = (err.trim() || out.trim()).split("\n")[0] ?? "";
    throw new PosternError("lab", `postern ${args.join(" ")} failed (exit ${code}): ${line}`);
  }
  return out;
}

/** Like must, without blocking this process: several namespaces' commands at once. */
export function mustAsync(ns: string | null, argv: readonly string[], timeoutMs = 30_000) {
  const full = inNs(ns, argv);
  return new Promise<string>((resolve, reject) => {
    const p = spawn(full[0] as string, full.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve(out);
      const line = (err.trim() || out.trim()).split("\n")[0] ?? "";
      reject(
        new PosternError(
          "lab",
          `${argv.slice(2).join(" ")}${ns ? ` (in ${ns})` : ""} failed (exit ${code}): ${line}`,
        ),
      );
    });
  });
}
