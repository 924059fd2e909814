/**
 * `postern netsh`: netsh's contexts and scripts.
 * 1. A line is tokenized (args.ts) and its leading context words ("ipsec static",
 *    "firewall", ...) are matched against the registered contexts; without them the line
 *    runs in the current context (`pushd ipsec static` in a script).
 * 2. The context's handler gets the remaining tokens (verb, object, tagged values).
 * 3. A script (`-f FILE`) runs line by line: `#` comments and blank lines skipped,
 *    `pushd CONTEXT` / `popd`, and it stops at the first error, naming the line.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import { PosternError, UsageError } from "../errors.js";
import { refuseTypographicQuotes, tokenize } from "./args.js";
import { isHelpWord, levelHelp } from "./help.js";

export type NetshHandler = (tokens: string[], env: CliEnv) => Promise<void> | void;

export interface NetshContext {
  /** Context words, lower case: ["ipsec", "static"]. */
  words: string[];
  handler: NetshHandler;
  /**
   * The help for `CONTEXT [WORDS] help|?` and `CONTEXT help [WORDS]`, given WORDS (none:
   * the context's); absent: the handler answers help words itself.
   */
  help?: (words: string[]) => string;
}

export interface NetshShell {
  runTokens(tokens: string[], env: CliEnv, current?: string[]): Promise<void>;
  runScript(file: string, env: CliEnv): Promise<void>;
}

export function createNetshShell(contexts: readonly NetshContext[]): NetshShell {
  const byLength = [...contexts].sort((a, b) => b.words.length - a.words.length);

  function match(tokens: readonly string[]): { ctx: NetshContext; rest: string[] } | undefined {
    const lower = tokens.map((t) => t.toLowerCase());
    for (const ctx of byLength) {
      if (ctx.words.every((w, i) => lower[i] === w)) {
        return { ctx, rest: tokens.slice(ctx.words.length) };
      }
    }
    return undefined;
  }

  function find(words: readonly string[]): NetshContext | undefined {
    const key = words.join(" ").toLowerCase();
    return contexts.find((c) => c.words.join(" ") === key);
  }

  async function runTokens(tokens: string[], env: CliEnv, current: string[] = []): Promise<void> {
    const t = tokens[0]?.toLowerCase() === "netsh" ? tokens.slice(1) : tokens;
    if (t.length === 0) throw new UsageError("netsh: no command given");
    refuseTypographicQuotes(t);
    const direct = match(t);
    // In a script after `pushd CONTEXT`, a line without context words is that context's.
    const cur = direct ? undefined : find(current);
    const target = direct ?? (cur ? { ctx: cur, rest: t } : undefined);
    if (target?.ctx.help && target.rest.some(isHelpWord)) {
      env.out(target.ctx.help(target.rest.filter((w) => !isHelpWord(w))));
      return;
    }
    const level = target ? undefined : levelOf(t);
    if (level !== undefined) {
      env.out(level);
      return;
    }
    if (target) return target.ctx.handler(target.rest, env);
    const known = contexts.map((c) => c.words.join(" ")).join(", ");
    throw new UsageError(`netsh: unknown context or command '${t.join(" ")}' (contexts: ${known})`);
  }

  /**
   * `?` or `help` at a level above the contexts: `netsh ?`, `netsh ipsec help`, or in a
   * script's `pushd ipsec` ... The words before it must lead to a context.
   */
  function levelOf(t: readonly string[]): string | undefined {
    const at = t.findIndex(isHelpWord);
    if (at < 0 || at !== t.length - 1) return undefined;
    const path = t.slice(0, at).map((w) => w.toLowerCase());
    const below = [
      ...new Set(
        contexts
          .filter((c) => path.every((w, i) => c.words[i] === w) && c.words.length > path.length)
          .map((c) => c.words[path.length] as string),
      ),
    ];
    return below.length === 0 ? undefined : levelHelp(path, below);
  }

  async function runScript(file: string, env: CliEnv): Promise<void> {
    const full = path.resolve(env.cwd, file);
    let text: string;
    try {
      text = fs.readFileSync(full, "utf8");
    } catch (e) {
      throw new PosternError("io", `netsh -f: cannot read ${file}: ${(e as Error).message}`);
    }
    const stack: string[][] = [];
    let current: string[] = [];
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      if (line === "" || line.startsWith("#") || /^rem(\s|$)/i.test(line)) continue;
      try {
        const tokens = tokenize(line);
        const verb = tokens[0]?.toLowerCase();
        if (verb === "pushd") {
          const words = tokens.slice(1).map((w) => w.toLowerCase());
          if (!find(words)) throw new UsageError(`pushd: unknown context '${words.join(" ")}'`);
          stack.push(current);
          current = words;
        } else if (verb === "popd") {
          current = stack.pop() ?? [];
        } else {
          await runTokens(tokens, env, current);
        }
      } catch (e) {
        if (e instanceof PosternError) {
          throw new PosternError(e.code, `${file}:${i + 1}: ${e.message}`, e.exitCode);
        }
        throw e;
      }
    }
  }

  return { runTokens, runScript };
}
