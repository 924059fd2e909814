/** Helpers for the ipsec static suites: run commands, read the store's bytes, check refusals. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { localStorePath } from "../../src/policy/store.js";
import { type CliResult, cli } from "../helpers/cli.js";

/** `postern --home HOME netsh ipsec static ARGS...` in-process. */
export function ips(home: string, ...args: string[]): Promise<CliResult> {
  return cli(home, "netsh", "ipsec", "static", ...args);
}

/** `--json` variant, parsed. */
export async function ipsJson(home: string, ...args: string[]): Promise<unknown> {
  const r = await cli(home, "--json", "netsh", "ipsec", "static", ...args);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

/** Runs commands that must all succeed. */
export async function run(home: string, ...lines: string[][]): Promise<void> {
  for (const l of lines) {
    const r = await ips(home, ...l);
    assert.equal(r.code, 0, `${l.join(" ")}: ${r.err}`);
  }
}

export function storeBytes(home: string): Buffer | null {
  try {
    return fs.readFileSync(localStorePath(home));
  } catch {
    return null;
  }
}

/** The command fails with one line matching `pattern`, exit `code`, store byte-identical. */
export async function refused(
  home: string,
  args: string[],
  pattern: RegExp,
  code?: number,
): Promise<void> {
  const before = storeBytes(home);
  const r = await ips(home, ...args);
  const lines = r.err
    .trim()
    .split("\n")
    .filter((l) => !l.startsWith("warning:"));
  assert.notEqual(r.code, 0, `${args.join(" ")} should fail`);
  if (code !== undefined) assert.equal(r.code, code, `${args.join(" ")}: ${r.err}`);
  assert.equal(lines.length, 1, `one line expected, got: ${r.err}`);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.err, /\n\s+at /);
  const after = storeBytes(home);
  assert.ok(
    before === null ? after === null : after !== null && before.equals(after),
    "store changed",
  );
}

/** The article's server policy as commands (for suites that need a populated store). */
export const SERVER_SETUP: string[][] = [
  ["add", "filterlist", "name=Web", "description=web clients"],
  [
    "add",
    "filter",
    "filterlist=Web",
    "srcaddr=any",
    "dstaddr=me",
    "protocol=TCP",
    "dstport=80",
    "mirrored=yes",
  ],
  [
    "add",
    "filteraction",
    "name=sign",
    "action=negotiate",
    "qmsecmethods=AH[SHA256] ESP[None,SHA256]",
  ],
  ["add", "policy", "name=Secure web"],
  [
    "add",
    "rule",
    "name=Web",
    "policy=Secure web",
    "filterlist=Web",
    "filteraction=sign",
    "kerberos=yes",
  ],
];
