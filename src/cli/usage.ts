/**
 * The global help (`postern --help`) and the version, for main.ts and the man page.
 */
import * as fs from "node:fs";
import type { Command } from "../cmdline/env.js";

/** postern's version, from package.json (two folders above dist/src/cli/). */
export function packageVersion(): string {
  const file = new URL("../../../package.json", import.meta.url);
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
}

export function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `postern - authenticated IPsec bypass for Linux (Windows Server 2003 semantics)

USAGE
  postern [--home DIR] [--json] COMMAND [ARGS...]
  postern COMMAND [SUBCOMMAND...] --help
  postern --version

COMMANDS
${lines.join("\n")}

GLOBAL OPTIONS
  --home DIR   state directory (default: $POSTERN_HOME, else /var/lib/postern)
  --json       machine-readable output; errors as {"error":{"code","message"}} on stderr
  -h, --help   this help, or a command's help (at every level: postern dc init --help)
  --version    print postern's version

EXIT STATUS
  0 success, 1 a command failed (the message says why), 2 usage error, 70 internal error

SEE ALSO
  postern completion bash (bash completion), postern man (this manual in roff)
`;
}
