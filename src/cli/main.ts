#!/usr/bin/env -S node --max-semi-space-size=32
/**
 * postern's entry point: the only place that reads process.env and process.argv.
 * The node options on the line above are the daemons' (src/lab/run.ts `posternArgv` and
 * bench/kdc.ts start node with the same ones): a young generation of up to 32 MiB per
 * semi-space instead of 16 (docs/kdc.md, Performance).
 * 1. global options (--home, --json, --help, --version) are taken from anywhere on the line;
 * 2. the command is looked up in COMMANDS (a typo gets "did you mean") and run with a
 *    CliEnv; its grammar (cmdline/grammar.ts) handles --help at every level;
 * 3. a PosternError prints one line and exits 1 (2 for usage); anything else is a bug and
 *    prints "internal error", exit 70 (with the stack only when POSTERN_DEBUG is set). With
 *    --json the line is {"error":{"code","message"}} (docs/cli.md).
 */
import { journaldStream } from "../platform/log.js";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { isPosternError, UsageError } from "../errors.js";
import { resolveHome } from "../platform/home.js";
import { COMMANDS } from "./commands.js";
import type { CliEnv } from "../cmdline/env.js";
import { suggest } from "../cmdline/grammar.js";
import { packageVersion, usage } from "./usage.js";

/** The exit statuses (docs/cli.md). */
export const EXIT = { ok: 0, failed: 1, usage: 2, internal: 70 } as const;

export interface GlobalOptions {
  home: string | undefined;
  json: boolean;
  help: boolean;
  version: boolean;
  rest: string[];
}

/** Takes the global options out of argv; the rest keeps its order. */
export function splitGlobalOptions(argv: readonly string[]): GlobalOptions {
  const rest: string[] = [];
  let home: string | undefined;
  let json = false;
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--home") {
      home = argv[++i];
      if (home === undefined) throw new UsageError("--home needs a directory");
    } else if (a.startsWith("--home=")) {
      home = a.slice("--home=".length);
    } else if (a === "--json") {
      json = true;
    } else if (a === "--version" && rest.length === 0) {
      version = true;
    } else if ((a === "--help" || a === "-h") && rest.length === 0) {
      help = true;
    } else {
      rest.push(a);
    }
  }
  return { home, json, help, version, rest };
}

function unknownCommand(name: string): UsageError {
  const hint = suggest(
    name,
    COMMANDS.map((c) => c.name),
  );
  return new UsageError(
    `unknown command '${name}' (${hint ? `did you mean \`${hint}\`? ` : ""}see postern --help)`,
  );
}

/** One line on stderr: `postern: message`, or with --json the error envelope. */
function reportError(
  env: Pick<CliEnv, "err" | "vars">,
  json: boolean,
  code: string,
  message: string,
): void {
  // Under systemd a daemon's fatal line is an error for journald (`journalctl -p err`).
  const priority = journaldStream(env.vars) ? "<3>" : "";
  env.err(
    `${priority}${json ? JSON.stringify({ error: { code, message } }) : `postern: ${message}`}`,
  );
}

export async function main(
  argv: readonly string[],
  env: Omit<CliEnv, "home" | "json">,
): Promise<number> {
  const json = argv.includes("--json");
  try {
    const g = splitGlobalOptions(argv);
    const [name, ...args] = g.rest;
    if (g.version) {
      env.out(`postern ${packageVersion()}`);
      return EXIT.ok;
    }
    if (name === undefined) {
      env.out(usage(COMMANDS));
      return g.help ? EXIT.ok : EXIT.usage;
    }
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) throw unknownCommand(name);
    const full: CliEnv = {
      ...env,
      home: resolveHome(g.home, env.vars.POSTERN_HOME),
      json: g.json,
      commands: COMMANDS,
    };
    if (g.help) {
      full.out(cmd.help);
      return EXIT.ok;
    }
    return await cmd.run(args, full);
  } catch (e) {
    if (isPosternError(e)) {
      reportError(env, json, e.code, e.message);
      return e.exitCode;
    }
    reportError(env, json, "internal", `internal error: ${(e as Error)?.message ?? String(e)}`);
    if (env.vars.POSTERN_DEBUG) env.err(String((e as Error)?.stack));
    return EXIT.internal;
  }
}

function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return fs.realpathSync(arg) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

const isEntry = isEntryPoint();
if (isEntry) {
  const code = await main(process.argv.slice(2), {
    out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
    vars: process.env,
    isRoot: process.getuid?.() === 0,
    cwd: process.cwd(),
  });
  process.exitCode = code;
}
