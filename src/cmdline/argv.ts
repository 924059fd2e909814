/**
 * A small GNU-style option parser for the domain and dc commands: `--name value`,
 * `--name=value`, boolean flags, positional arguments in order. Unknown options are usage
 * errors (exit 2).
 */
import { UsageError } from "../errors.js";

export interface ParsedArgs {
  positional: string[];
  values: Map<string, string>;
  flags: Set<string>;
}

export function parseArgs(
  argv: readonly string[],
  valued: readonly string[],
  flags: readonly string[],
  cmd: string,
): ParsedArgs {
  const out: ParsedArgs = { positional: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith("--") || a === "--") {
      out.positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (valued.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${cmd}: --${name} needs a value`);
      out.values.set(name, v);
    } else if (flags.includes(name) && eq < 0) {
      out.flags.add(name);
    } else {
      throw new UsageError(`${cmd}: unknown option --${name}`);
    }
  }
  return out;
}

export function intOption(
  p: ParsedArgs,
  name: string,
  dflt: number,
  min: number,
  max: number,
  cmd: string,
): number {
  const v = p.values.get(name);
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`${cmd}: --${name} must be a number from ${min} to ${max}`);
  return Number(v);
}

export function expectPositional(p: ParsedArgs, n: number, usage: string): string[] {
  if (p.positional.length !== n) throw new UsageError(`usage: ${usage}`);
  return p.positional;
}
