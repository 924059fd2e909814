/** Helpers of the domain-store suites: netsh on a home, a snapshot of the DC's policy state. */
import assert from "node:assert/strict";
import * as path from "node:path";
import { type CliResult, cli } from "../helpers/cli.js";

export const EXAMPLES = path.resolve(process.cwd(), "examples");
export const SERVER_SCRIPT = path.join(EXAMPLES, "article-server.netsh");
export const POLICY = "Secure website (server1)";

export function ips(home: string, ...args: string[]): Promise<CliResult> {
  return cli(home, "netsh", "ipsec", "static", ...args);
}

export async function ok(home: string, ...args: string[]): Promise<CliResult> {
  const r = await cli(home, ...args);
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.err}`);
  return r;
}

export async function okJson(home: string, ...args: string[]): Promise<unknown> {
  return JSON.parse((await ok(home, "--json", ...args)).out);
}

/** What a refused command must leave alone: the domain store, the GPOs, the audit log. */
export async function dcSnapshot(home: string): Promise<string> {
  const store = await okJson(home, "netsh", "ipsec", "static", "show", "all");
  const gpos = await okJson(home, "domain", "gpo", "list");
  const audit = await okJson(home, "domain", "audit");
  return JSON.stringify({ store, gpos, audit });
}

/** One line naming what is wrong, the given exit code, nothing changed on the DC. */
export async function refusedOnDc(
  home: string,
  args: string[],
  pattern: RegExp,
  code = 1,
): Promise<void> {
  const before = await dcSnapshot(home);
  const r = await ips(home, ...args);
  assert.equal(r.code, code, `${args.join(" ")}: ${r.err}`);
  const lines = r.err
    .trim()
    .split("\n")
    .filter((l) => !/^(warning|note)/.test(l) && !/: note: /.test(l));
  assert.equal(lines.length, 1, `one line expected, got: ${r.err}`);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.err, /\n\s+at /);
  assert.equal(await dcSnapshot(home), before, `${args.join(" ")} changed the DC`);
}
