/**
 * Test helpers: run the CLI in-process with a temporary home, run the built binary as a
 * child process, and gate privileged suites on root with a loud skip.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";

export const IS_ROOT = process.getuid?.() === 0;

/** `{ skip }` option for node:test: privileged suites say so loudly when not root. */
export function needsRoot(): { skip: string | false } {
  return { skip: IS_ROOT ? false : "skipped: needs root" };
}

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempHome(tag: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `postern-${tag}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A short unique name for namespaces and interfaces (<= 15 chars with the prefix). */
export function uniqueName(prefix: string): string {
  const id = `${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
  return `${prefix}${id}`.slice(0, 15);
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `postern ARGS` in-process with --home HOME. */
export function cli(home: string, ...args: string[]): Promise<CliResult> {
  return runMain(home, args, IS_ROOT, process.cwd());
}

/**
 * `cli` as a user who is not root, in HOME: netsh writes its stores and applies nothing to
 * the host's kernel (no nft), whoever runs the tests.
 */
export function cliAsUser(home: string, ...args: string[]): Promise<CliResult> {
  return runMain(home, args, false, home);
}

async function runMain(
  home: string,
  args: string[],
  isRoot: boolean,
  cwd: string,
): Promise<CliResult> {
  let out = "";
  let err = "";
  const code = await main(["--home", home, ...args], {
    out: (t) => {
      out += t.endsWith("\n") ? t : `${t}\n`;
    },
    err: (t) => {
      err += t.endsWith("\n") ? t : `${t}\n`;
    },
    vars: {},
    isRoot,
    cwd,
  });
  return { code, out, err };
}

/** The built binary, dist/src/cli/main.js. */
export const BIN = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../src/cli/main.js",
);

/** Runs the real binary as a child process (exit codes, stderr, no stack traces). */
export function runBin(
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: opts.input,
    env: { ...process.env, ...opts.env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
