/**
 * netsh's tag rules (../args.ts) plus what ipsec static needs on top: the order in which
 * tags arrived (authentication methods are preferred in the order written), and typed
 * getters that name the tag in every error.
 */
import { UsageError } from "../../errors.js";
import {
  one,
  parseBool,
  parseIntIn,
  parseKeyword,
  parseTagged,
  resolveTag,
  type TaggedArgs,
  type TagSpec,
} from "../args.js";

export interface Parsed {
  args: TaggedArgs;
  /** Every (tag, value) in the order given on the line. */
  order: [string, string][];
  command: string;
}

/** Like parseTagged, also recording the order of the values. */
export function parseArgs(
  tokens: readonly string[],
  specs: readonly TagSpec[],
  command: string,
): Parsed {
  const args = parseTagged(tokens, specs, command);
  const order: [string, string][] = [];
  let cursor = 0;
  for (const tok of tokens) {
    const eq = tok.indexOf("=");
    if (eq > 0) {
      const tag = resolveTag(tok.slice(0, eq), specs, command);
      order.push([tag, tok.slice(eq + 1)]);
      cursor = specs.findIndex((s) => s.tag === tag) + 1;
    } else {
      const spec = specs[cursor] as TagSpec;
      order.push([spec.tag, eq === 0 ? tok.slice(1) : tok]);
      cursor++;
    }
  }
  return { args, order, command };
}

export function str(p: Parsed, tag: string): string | undefined {
  return one(p.args, tag);
}

export function bool(p: Parsed, tag: string): boolean | undefined {
  const v = one(p.args, tag);
  return v === undefined ? undefined : parseBool(v, `${p.command}: ${tag}`);
}

export function int(p: Parsed, tag: string, min: number, max: number): number | undefined {
  const v = one(p.args, tag);
  return v === undefined ? undefined : parseIntIn(v, min, max, `${p.command}: ${tag}`);
}

export function keyword<T extends string>(
  p: Parsed,
  tag: string,
  allowed: readonly T[],
): T | undefined {
  const v = one(p.args, tag);
  return v === undefined ? undefined : parseKeyword(v, allowed, `${p.command}: ${tag}`);
}

/** Exactly one of the given tags (name= or guid=, name= or id=). */
export function exactlyOne(p: Parsed, tags: readonly string[]): void {
  const given = tags.filter((t) => p.args.has(t));
  if (given.length !== 1) {
    throw new UsageError(
      `${p.command}: give exactly one of ${tags.map((t) => `${t}=`).join(" or ")}`,
    );
  }
}

/** A tag that must not be empty when given. */
export function nonEmpty(p: Parsed, tag: string): string | undefined {
  const v = one(p.args, tag);
  if (v !== undefined && v.trim() === "")
    throw new UsageError(`${p.command}: ${tag}= must not be empty`);
  return v;
}
