/**
 * One command-line grammar for every postern command but netsh (and `net`, which keeps
 * Windows' /switches): a tree of CommandSpecs, each with its summary, options (typed, with
 * their help), positional arguments and handler. The same tree gives `--help` at every
 * level, "did you mean" on typos, bash completion (completion.ts) and the man page
 * (man.ts).
 *
 * A command line is read as:
 * 1. leading words that name subcommands walk down the tree (`domain computer add`);
 * 2. `--help` or `-h` anywhere before `--` prints the help of the node reached, exit 0;
 * 3. the rest is parsed with node:util parseArgs against the node's options (long
 *    `--name value`, `--name=value`; one-letter names are short options as in MIT's tools,
 *    `-k -t FILE`, grouped `-ef`); an unknown option, a missing value, an option given twice
 *    (unless `multiple`) or the wrong number of arguments is a UsageError (exit 2);
 * 4. the handler runs with the parsed values.
 */
import { parseArgs } from "node:util";
import { PosternError, UsageError } from "../errors.js";
import type { CliEnv, Command } from "./env.js";

export interface OptionSpec {
  /** Long name (`--name`); a one-letter name is a short option only (`-k`), as MIT's tools. */
  name: string;
  /** A one-letter alias (`-h` style) for a long option. */
  short?: string;
  type: "string" | "boolean";
  /** The value's name in help texts: FILE, N, ADDR. */
  value?: string;
  /** May be given several times (the values are kept in order). */
  multiple?: boolean;
  /** Missing: "CMD: --name VALUE is required". */
  required?: boolean;
  help: string;
  /** For completion: file names, or one of these words. */
  complete?: "file" | readonly string[];
}

export interface Parsed {
  /** The command's path below `postern`: "domain computer add". */
  path: string;
  positionals: string[];
  /** The (last) value of a string option. */
  str(name: string): string | undefined;
  /** Every value of a string option, in order. */
  list(name: string): string[];
  flag(name: string): boolean;
  /** An integer option in [min, max], else dflt when absent; out of range is a UsageError. */
  int(name: string, dflt: number, min: number, max: number): number;
}

export type Handler = (a: Parsed, env: CliEnv) => Promise<number> | number;

export interface CommandSpec {
  name: string;
  /** One line, for the parent's help and for completion. */
  summary: string;
  /** Full help text; generated from the rest when absent. */
  help?: string;
  options?: readonly OptionSpec[];
  /** Positional arguments as the synopsis writes them: "NAME", "[PRINCIPAL]", "KEYTAB...". */
  args?: string;
  subcommands?: readonly CommandSpec[];
  /** Runs when no subcommand word is given (a node may have both). */
  run?: Handler;
  /** The handler reads argv itself (netsh's and net's grammars); only a leading --help/-h
   * is taken before it. */
  raw?: (argv: string[], env: CliEnv) => Promise<number> | number;
  /** Rewrites argv before parsing (klist's Windows spelling `-li 0x3e7`). */
  preparse?: (argv: string[]) => string[];
}

const isHelp = (a: string) => a === "--help" || a === "-h";

/** What a Windows `/switch` means: the words it stands for, or a refusal (exit 1). */
export type SwitchMeaning = readonly string[] | { refuse: string };

/**
 * A `preparse` for a command that also takes its Windows spelling (`gpupdate /force`):
 * each word starting with `/` (before `--`) is looked up, case-insensitively, in `map`
 * (keys lower case, `/force`, `/target:computer`) and replaced by the words it stands for,
 * so the rest of the line still goes through the grammar's rules. An unknown `/word` is a
 * UsageError naming the switches taken. Only for commands with no positional argument
 * that may start with `/` (an absolute path).
 */
export function windowsSwitches(
  command: string,
  map: Readonly<Record<string, SwitchMeaning>>,
): (argv: string[]) => string[] {
  return (argv) => {
    const out: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const w = argv[i] as string;
      if (w === "--") return [...out, ...argv.slice(i)];
      if (!w.startsWith("/") || w === "/") {
        out.push(w);
        continue;
      }
      const meaning = map[w.toLowerCase()];
      if (meaning === undefined)
        throw new UsageError(
          `${command}: unknown switch ${w} (Windows switches taken: ${Object.keys(map).join(", ")})`,
        );
      if ("refuse" in meaning) throw new PosternError("unsupported", meaning.refuse);
      out.push(...meaning);
    }
    return out;
  };
}

/** "a, b or c". */
export function orList(words: readonly string[]): string {
  return words.length < 2
    ? (words[0] ?? "")
    : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/** Edit distance with adjacent transpositions (optimal string alignment), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

/** The closest candidate: 1 edit for words up to 3 letters, 2 up to 6, else 3. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let bestD = limit + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** The synopsis of positional arguments as min/max counts. */
export function arity(args: string | undefined): { min: number; max: number } {
  const words = (args ?? "").split(/\s+/).filter((w) => w !== "");
  let min = 0;
  let max = 0;
  for (const w of words) {
    if (w.endsWith("...")) max = Number.POSITIVE_INFINITY;
    else max++;
    if (!w.startsWith("[")) min++;
  }
  return { min, max };
}

export function optionText(o: OptionSpec): string {
  const flag = o.name.length === 1 ? `-${o.name}` : `--${o.name}`;
  const short = o.short ? `-${o.short}, ` : "";
  return `${short}${flag}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
}

/** "postern domain computer add NAME [--join-token] ...": the node's usage line. */
export function synopsis(node: CommandSpec, path: string): string {
  const opts = (node.options ?? []).map((o) => {
    const t = optionText(o).replace(/^-., /, "");
    const r = o.multiple ? `${t}...` : t;
    return o.required ? r : `[${r}]`;
  });
  return ["postern", path, node.args ?? "", ...opts].filter((s) => s !== "").join(" ");
}

/** The help of a node: its own text, else one made from its spec. */
export function helpText(node: CommandSpec, path: string): string {
  if (node.help) return node.help;
  const lines = [`postern ${path} - ${node.summary}`, "", "SYNOPSIS"];
  if (node.run) lines.push(`  ${synopsis(node, path)}`);
  for (const s of node.subcommands ?? [])
    lines.push(
      s.subcommands ? `  postern ${path} ${s.name} ...` : `  ${synopsis(s, `${path} ${s.name}`)}`,
    );
  if (node.subcommands?.length) {
    lines.push("", "COMMANDS");
    const w = Math.max(...node.subcommands.map((s) => s.name.length));
    for (const s of node.subcommands) lines.push(`  ${s.name.padEnd(w)}  ${s.summary}`);
  }
  if (node.options?.length) {
    lines.push("", "OPTIONS");
    const w = Math.max(...node.options.map((o) => optionText(o).length));
    for (const o of node.options) lines.push(`  ${optionText(o).padEnd(w)}  ${o.help}`);
  }
  const top = path.split(" ")[0];
  if (top !== path) lines.push("", `See also: postern ${top} --help`);
  return `${lines.join("\n")}\n`;
}

/** Parses the options and arguments of one node (steps 3 of the header). */
export function parseLine(node: CommandSpec, path: string, argv: readonly string[]): Parsed {
  const specs = node.options ?? [];
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple: true }> =
    {};
  for (const o of specs)
    options[o.name] = { type: o.type, multiple: true, ...(o.short ? { short: o.short } : {}) };
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  const see = `(see postern ${path} --help)`;
  for (const t of tokens) {
    if (t.kind === "positional") positionals.push(t.value);
    if (t.kind !== "option") continue;
    const spec = specs.find((o) => o.name === t.name);
    if (!spec) {
      // Long options only: every one-letter option is one edit from any other.
      const longs = specs.filter((o) => o.name.length > 1).map((o) => `--${o.name}`);
      const hint = t.rawName.startsWith("--") ? suggest(t.rawName, longs) : undefined;
      throw new UsageError(
        `${path}: unknown option ${t.rawName} ${hint ? `(did you mean ${hint}?)` : see}`,
      );
    }
    if (spec.type === "boolean") {
      if (t.value !== undefined) throw new UsageError(`${path}: ${t.rawName} takes no value`);
      flags.add(spec.name);
      continue;
    }
    if (t.value === undefined) throw new UsageError(`${path}: ${t.rawName} needs a value`);
    const prev = values.get(spec.name) ?? [];
    if (prev.length > 0 && !spec.multiple)
      throw new UsageError(`${path}: ${t.rawName} given twice`);
    values.set(spec.name, [...prev, t.value]);
  }
  for (const o of specs) {
    if (o.required && !values.has(o.name))
      throw new UsageError(`${path}: ${optionText(o)} is required`);
  }
  const { min, max } = arity(node.args);
  if (positionals.length < min || positionals.length > max)
    throw new UsageError(`usage: ${synopsis(node, path)}`);
  return {
    path,
    positionals,
    str: (n) => values.get(n)?.at(-1),
    list: (n) => values.get(n) ?? [],
    flag: (n) => flags.has(n),
    int(n, dflt, lo, hi) {
      const v = values.get(n)?.at(-1);
      if (v === undefined) return dflt;
      if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi)
        throw new UsageError(`${path}: --${n} must be a number from ${lo} to ${hi}`);
      return Number(v);
    },
  };
}

/** An argument list parsed against a spec, or one parsed already (exported functions that
 * other modules call with argv, such as gpupdate, take either). */
export function asParsed(spec: CommandSpec, argv: readonly string[] | Parsed): Parsed {
  return isParsed(argv) ? argv : parseLine(spec, spec.name, argv);
}

function isParsed(x: readonly string[] | Parsed): x is Parsed {
  return !Array.isArray(x);
}

/** Walks the leading subcommand words: the node reached, its path and the words left. */
export function resolve(
  root: CommandSpec,
  argv: readonly string[],
): { node: CommandSpec; path: string; rest: string[] } {
  let node = root;
  let path = root.name;
  let i = 0;
  while (node.subcommands && i < argv.length) {
    const next = node.subcommands.find((s) => s.name === argv[i]);
    if (!next) break;
    node = next;
    path = `${path} ${next.name}`;
    i++;
  }
  return { node, path, rest: argv.slice(i) };
}

function unknownSubcommand(node: CommandSpec, path: string, word: string | undefined): never {
  const names = (node.subcommands ?? []).map((s) => s.name);
  const expected = `${path}: expected ${orList(names)}`;
  if (word === undefined) throw new UsageError(`${expected} (see postern ${path} --help)`);
  const hint = suggest(word, names);
  throw new UsageError(
    `${expected}, got ${word}${hint ? ` (did you mean \`${path} ${hint}\`?)` : ` (see postern ${path} --help)`}`,
  );
}

/** Runs one command line against a tree (the whole flow of the header). */
export async function runSpec(
  root: CommandSpec,
  argv: readonly string[],
  env: CliEnv,
): Promise<number> {
  const { node, path, rest } = resolve(root, argv);
  const end = rest.indexOf("--");
  // An own grammar (netsh) gives its own help for `--help` after its words.
  const words = node.raw ? rest.slice(0, 1) : end < 0 ? rest : rest.slice(0, end);
  if (words.some(isHelp)) {
    env.out(helpText(node, path));
    return 0;
  }
  if (node.raw) return node.raw(rest, env);
  if (!node.run) unknownSubcommand(node, path, rest[0]);
  const line = node.preparse ? node.preparse(rest) : rest;
  if (node.subcommands && line[0] !== undefined && !line[0].startsWith("-") && !node.args)
    unknownSubcommand(node, path, line[0]);
  return node.run(parseLine(node, path, line), env);
}

/** A top-level command from its spec: `run(argv, env)` goes through the grammar. */
export function defineCommand(spec: CommandSpec): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    help: helpText(spec, spec.name),
    spec,
    run: (argv, env) => runSpec(spec, argv, env),
  };
}

/** Every node of a tree with its path, parents first (help walk, completion, man page). */
export function walk(root: CommandSpec): { node: CommandSpec; path: string }[] {
  const out: { node: CommandSpec; path: string }[] = [];
  const visit = (node: CommandSpec, path: string) => {
    out.push({ node, path });
    for (const s of node.subcommands ?? []) visit(s, `${path} ${s.name}`);
  };
  visit(root, root.name);
  return out;
}
