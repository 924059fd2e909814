/**
 * netsh's command-line rules, shared by every netsh context (ipsec static, ipsec dynamic,
 * firewall):
 * - a line splits on blanks; double quotes group (`name="Secure web"`), anywhere in a token;
 * - keywords and tags are case-insensitive;
 * - `tag=value`, where tag may be any unambiguous prefix of the real tag (`srca=`, `mir=`);
 *   an exact tag wins over a longer one it prefixes;
 * - a value without a tag takes the next tag in the command's order ("tags may be omitted
 *   when values come in order"); after a tagged value the order continues from that tag.
 */
import { UsageError } from "../errors.js";

/** Quotes a word processor or web page puts in place of `"` and `'`; netsh takes none. */
const TYPOGRAPHIC_QUOTES = /[\u201c\u201d\u2018\u2019\u201e\u201a\u00ab\u00bb]/;

/**
 * Refuses a token with a typographic quote (“ ” ‘ ’ „ ‚ « »), as copied from a formatted
 * page: netsh would keep it as part of the name, so `name=“Secure web”` would store a
 * different name than the one typed later with straight quotes.
 */
export function refuseTypographicQuotes(tokens: readonly string[]): void {
  for (const tok of tokens) {
    const m = TYPOGRAPHIC_QUOTES.exec(tok);
    if (m)
      throw new UsageError(
        `netsh: typographic quote ${m[0]} in '${tok}': retype it as a straight quote (") - it was probably copied from a formatted page`,
      );
  }
}

/** Splits one netsh line into tokens, removing the quotes. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '"') {
      quoted = !quoted;
      inToken = true;
    } else if (!quoted && (c === " " || c === "\t" || c === "\r" || c === "\n")) {
      if (inToken) out.push(cur);
      cur = "";
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (quoted) throw new UsageError(`unterminated quote in: ${line.trim()}`);
  if (inToken) out.push(cur);
  return out;
}

export interface TagSpec {
  /** The full tag as netsh's help spells it, lower case: `srcaddr`. */
  tag: string;
  required?: boolean;
  /** May be given several times (rootca). */
  repeatable?: boolean;
}

/** Values by full tag, in the order given. Tags given several times keep every value. */
export type TaggedArgs = Map<string, string[]>;

/** What a word abbreviates among netsh's keywords (lower case). */
export type PrefixMatch =
  | { kind: "match"; word: string }
  | { kind: "none" }
  | { kind: "ambiguous"; hits: string[] };

/**
 * netsh's one abbreviation rule, for tags, verbs, objects and keywords alike: case does not
 * matter; an exact word wins over a longer one it prefixes; else the one word it prefixes.
 */
export function matchPrefix(word: string, options: readonly string[]): PrefixMatch {
  const w = word.toLowerCase();
  if (options.includes(w)) return { kind: "match", word: w };
  const hits = options.filter((o) => o.startsWith(w));
  if (hits.length === 1) return { kind: "match", word: hits[0] as string };
  return hits.length === 0 ? { kind: "none" } : { kind: "ambiguous", hits };
}

/** Resolves a tag prefix against the specs: exact match, else the one tag it prefixes. */
export function resolveTag(prefix: string, specs: readonly TagSpec[], command: string): string {
  const tags = specs.map((s) => s.tag);
  const m = matchPrefix(prefix, tags);
  if (m.kind === "match") return m.word;
  if (m.kind === "none")
    throw new UsageError(`${command}: unknown tag '${prefix}' (tags: ${tags.join(", ")})`);
  throw new UsageError(`${command}: ambiguous tag '${prefix}' (could be ${m.hits.join(", ")})`);
}

/** Matches the argument tokens of one command against its tag list. */
export function parseTagged(
  tokens: readonly string[],
  specs: readonly TagSpec[],
  command: string,
): TaggedArgs {
  const out: TaggedArgs = new Map();
  let cursor = 0;
  for (const tok of tokens) {
    const eq = tok.indexOf("=");
    let tag: string;
    let value: string;
    if (eq > 0) {
      tag = resolveTag(tok.slice(0, eq), specs, command);
      value = tok.slice(eq + 1);
      cursor = specs.findIndex((s) => s.tag === tag) + 1;
    } else {
      const spec = specs[cursor];
      if (!spec) throw new UsageError(`${command}: unexpected value '${tok}' (no tag left for it)`);
      tag = spec.tag;
      value = eq === 0 ? tok.slice(1) : tok;
      cursor++;
    }
    const spec = specs.find((s) => s.tag === tag) as TagSpec;
    const prev = out.get(tag);
    if (prev && !spec.repeatable) throw new UsageError(`${command}: tag '${tag}' given twice`);
    if (prev) prev.push(value);
    else out.set(tag, [value]);
  }
  for (const s of specs) {
    if (s.required && !out.has(s.tag)) {
      throw new UsageError(`${command}: missing required tag '${s.tag}='`);
    }
  }
  return out;
}

/** The single value of a tag, or undefined. */
export function one(args: TaggedArgs, tag: string): string | undefined {
  return args.get(tag)?.[0];
}

const YES = new Set(["yes", "y", "true", "enable", "enabled", "on", "1"]);
const NO = new Set(["no", "n", "false", "disable", "disabled", "off", "0"]);

/** netsh booleans: yes|no (examples also use y/n); firewall uses enable|disable. */
export function parseBool(value: string, tag: string): boolean {
  const v = value.toLowerCase();
  if (YES.has(v)) return true;
  if (NO.has(v)) return false;
  throw new UsageError(`${tag}: expected yes or no, got '${value}'`);
}

/** A case-insensitive keyword out of a fixed list; returns it lower-cased. */
export function parseKeyword<T extends string>(
  value: string,
  allowed: readonly T[],
  tag: string,
): T {
  const v = value.toLowerCase();
  const hit = allowed.find((a) => a === v);
  if (hit === undefined) {
    throw new UsageError(`${tag}: expected one of ${allowed.join("|")}, got '${value}'`);
  }
  return hit;
}

export function parseIntIn(value: string, min: number, max: number, tag: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${tag}: expected a number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${tag}: ${n} is out of range ${min}-${max}`);
  return n;
}
