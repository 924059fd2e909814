/**
 * `postern man`: the manual page in roff (man(7)), made from the same help texts as
 * `--help`: the global usage, then each command's help and, for each subcommand without
 * its own text, the help generated from its spec. `postern man > postern.1` for packaging.
 */
import type { Command } from "../cmdline/env.js";
import { defineCommand, helpText, walk } from "../cmdline/grammar.js";

/** Text as roff: backslashes escaped, lines starting with . or ' protected. */
export function roffEscape(text: string): string {
  return text
    .replace(/\\/g, "\\e")
    .split("\n")
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join("\n");
}

const block = (text: string) => `.nf\n${roffEscape(text.trimEnd())}\n.fi`;

export function manPage(commands: readonly Command[], usage: string, version: string): string {
  const out = [
    `.TH POSTERN 1 "" "postern ${version}" "postern manual"`,
    ".SH NAME",
    "postern \\- Windows Server 2003 authenticated IPsec bypass on Linux",
    ".SH SYNOPSIS",
    block(usage),
    ".SH COMMANDS",
  ];
  for (const c of commands) {
    for (const { node, path } of walk(c.spec)) {
      if (path !== c.name && node.help === undefined && !node.run) continue;
      out.push(`.SS postern ${path}`, block(path === c.name ? c.help : helpText(node, path)));
    }
  }
  out.push(
    ".SH FILES",
    "<home> is \\-\\-home DIR, else $POSTERN_HOME, else /var/lib/postern.",
    ".SH SEE ALSO",
    "nft(8), ip(8), kinit(1), klist(1), docs/cli.md",
  );
  return `${out.join("\n")}\n`;
}

/** The `man` command; `all`, `usage` and `version` are read when it runs. */
export function manCommand(
  all: () => readonly Command[],
  usage: () => string,
  version: () => string,
): Command {
  return defineCommand({
    name: "man",
    summary: "print postern's manual page (roff): postern man > postern.1",
    run(_p, env) {
      env.out(manPage(all(), usage(), version()));
      return 0;
    },
  });
}
