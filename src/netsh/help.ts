/**
 * netsh's help at the levels above a context's own: `netsh ?` (the contexts), `netsh ipsec
 * ?` (its sub-contexts), as Windows prints them; and the word expansion each context's
 * per-command help uses, so `sh ?` or `help sh port` find `show portopening`.
 */
import { matchPrefix } from "./args.js";

export const HELP_WORDS: ReadonlySet<string> = new Set(["help", "?", "/?", "-?", "-h", "--help"]);

export const isHelpWord = (w: string): boolean => HELP_WORDS.has(w.toLowerCase());

/**
 * The command words `words` abbreviate among `commands` ("show portopening", "reset"),
 * joined by one blank; a word that matches nothing is kept as typed (the caller then finds
 * no command and says so).
 */
export function expandWords(words: readonly string[], commands: readonly string[]): string {
  const out: string[] = [];
  for (const w of words) {
    const prefix = out.length === 0 ? "" : `${out.join(" ")} `;
    const next = [
      ...new Set(
        commands
          .filter((c) => c.startsWith(prefix))
          .map((c) => c.slice(prefix.length).split(" ")[0] as string),
      ),
    ];
    const m = matchPrefix(w, next);
    out.push(m.kind === "match" ? m.word : w.toLowerCase());
  }
  return out.join(" ");
}

/**
 * The help of a level that only holds contexts: `path` is [] (netsh itself) or ["ipsec"];
 * `below` the sub-context names.
 */
export function levelHelp(path: readonly string[], below: readonly string[]): string {
  const usage =
    path.length === 0
      ? `Usage: postern netsh [CONTEXT ...] COMMAND [tag=]value ... | postern netsh -f SCRIPT

`
      : "";
  return `${usage}The following commands are available:

Commands in this context:
?              - Displays a list of commands.
help           - Displays a list of commands.
pushd          - Enters a context (in a script: pushd ipsec static).
popd           - Returns to the context before pushd (in a script).

The following sub-contexts are available:
 ${below.join(" ")}

To view help for a command, type the command, followed by a space, and then type ?.
`;
}
