#!/usr/bin/env -S node --max-semi-space-size=32
/**
 * postern's entry point: the only place that reads process.env and process.argv.
 * The node options on the line above are the daemons' (src/lab/run.ts `posternArgv` and
 * bench/kdc.ts start node with the same ones): a young generation of up to 32 MiB per
 * semi-space instead of 16 (docs/kdc.md, Performance).
 * 1. global options (--home, --json, --help) are taken from anywhere on the line;
 * 2. the command is looked up in COMMANDS and run with a CliEnv;
 * 3. a PosternError prints one line and exits 1 (2 for usage); anything else is a bug and
 *    prints "internal error" (with the stack only when POSTERN_DEBUG is set).
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { isPosternError, UsageError } from "../errors.js";
import { resolveHome } from "../platform/home.js";
import { COMMANDS } from "./commands.js";
import type { CliEnv } from "../cmdline/env.js";

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `postern - authenticated IPsec bypass for Linux (Windows Server 2003 semantics)

USAGE
  postern [--home DIR] [--json] COMMAND [ARGS...]
  postern COMMAND --help

COMMANDS
${lines.join("\n")}

GLOBAL OPTIONS
  --home DIR   state directory (default: $POSTERN_HOME, else /var/lib/postern)
  --json       machine-readable output for show commands
  -h, --help   this help, or a command's help

EXIT STATUS
  0 success, 1 a command failed (the message says why), 2 usage error, 70 internal error
`;
}

export interface GlobalOptions {
  home: string | undefined;
  json: boolean;
  help: boolean;
  rest: string[];
}

/** Takes the global options out of argv; the rest keeps its order. */
export function splitGlobalOptions(argv: readonly string[]): GlobalOptions {
  const rest: string[] = [];
  let home: string | undefined;
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--home") {
      home = argv[++i];
      if (home === undefined) throw new UsageError("--home needs a directory");
    } else if (a.startsWith("--home=")) {
      home = a.slice("--home=".length);
    } else if (a === "--json") {
      json = true;
    } else if ((a === "--help" || a === "-h") && rest.length === 0) {
      help = true;
    } else {
      rest.push(a);
    }
  }
  return { home, json, help, rest };
}

export async function main(
  argv: readonly string[],
  env: Omit<CliEnv, "home" | "json">,
): Promise<number> {
  try {
    const g = splitGlobalOptions(argv);
    const [name, ...args] = g.rest;
    if (name === undefined) {
      env.out(usage());
      return g.help ? 0 : 2;
    }
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) throw new UsageError(`unknown command '${name}' (see postern --help)`);
    const full: CliEnv = {
      ...env,
      home: resolveHome(g.home, env.vars.POSTERN_HOME),
      json: g.json,
      commands: COMMANDS,
    };
    if (g.help || args[0] === "--help" || args[0] === "-h") {
      full.out(cmd.help);
      return 0;
    }
    return await cmd.run(args, full);
  } catch (e) {
    if (isPosternError(e)) {
      env.err(`postern: ${e.message}`);
      return e.exitCode;
    }
    env.err(`postern: internal error: ${(e as Error)?.message ?? String(e)}`);
    if (env.vars.POSTERN_DEBUG) env.err(String((e as Error)?.stack));
    return 70;
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
