/**
 * `postern policy test [GPO]`: the expected access matrices the domain's GPOs carry (or
 * one GPO's), evaluated against the directory and policies as they are now:
 *   1. the DC's snapshot (dc/expect.ts, through the admin socket or the database);
 *   2. every cell through evaluate.ts (explain's trace on the server's side);
 *   3. the cells that differ, one line each; exit 1 when any does.
 */
import type { CliEnv } from "../cmdline/env.js";
import { defineCommand, type Parsed } from "../cmdline/grammar.js";
import { adminCall } from "../dc/admin/client.js";
import type { ExpectSnapshot } from "../dc/expect.js";
import { UsageError } from "../errors.js";
import { cellLine, testSnapshot } from "./evaluate.js";

/** Exit status when some cell differs from its expectation (as `lab check`'s differing cell). */
export const EXIT_DIFFERS = 1;

async function test(p: Parsed, env: CliEnv): Promise<number> {
  if (p.positionals.length > 1) throw new UsageError("policy test: at most one GPO");
  const gpo = p.positionals[0] ?? null;
  if (gpo !== null) await adminCall(env, "gpo.get-expect", { name: gpo }); // it exists
  const snapshot = (await adminCall(env, "expect.snapshot")).result as ExpectSnapshot;
  const result = testSnapshot(snapshot, gpo);
  if (env.json) env.out(JSON.stringify(result, null, 2));
  else {
    for (const c of result.differing) env.out(cellLine(c));
    const scope =
      gpo === null
        ? `${snapshot.matrices.length} GPO matri${snapshot.matrices.length === 1 ? "x" : "ces"}`
        : `GPO ${gpo}`;
    env.out(
      result.cells === 0
        ? `policy test: no expectations (${scope}); postern domain gpo set-expect GPO --file MATRIX`
        : `policy test: ${result.differing.length} of ${result.cells} cells differ (${scope})`,
    );
  }
  return result.differing.length > 0 ? EXIT_DIFFERS : 0;
}

export const policyCommand = defineCommand({
  name: "policy",
  summary: "policy tests: check the domain's expected access matrices",
  help: `postern policy - policy tests: who must and who must not reach which service

SYNOPSIS
  postern policy test [GPO] [--json]

DESCRIPTION
  A GPO can carry an expected access matrix (postern domain gpo set-expect GPO --file F):
  rows WHO SERVER SERVICE MUST, e.g. "trusted server1 tcp/80 reach". policy test expands
  each row to its computers (a group's, nesting expanded; a disabled computer gets no
  Kerberos ticket) and evaluates each cell against the directory and the policies the
  GPOs give now: the client's IPsec policy, the IKE SA the two would negotiate, the
  server's IPsec rule, bypass list (its ticket's PAC groups) and firewall exceptions, with
  the same trace as postern explain. It prints only the cells that differ, one line each:
  who, what, expected, got, the layer that decides and why, and the change that would flip
  it; then a count. Run on the DC (its admin socket, or the database when it is stopped).

  The same evaluation guards changes: postern domain gpo set and netsh ipsec static on the
  domain store refuse a change that breaks a cell that held, naming each cell, unless
  --force (netsh: force=yes).

  It sees what the directory says: a member's local IPsec store (overridden by a GPO's
  assigned policy), tickets issued before a group change (until klist --machine purge),
  and addresses outside the zone's records are not part of it.

OPTIONS
  --json   one JSON document, schema "postern.policy-test/1" (docs/policy-test.md)

EXIT STATUS
  0 every cell as expected; 1 some cell differs (or cannot be evaluated: "unknown"), as
  lab check's differing cell; also 1 with one line on stderr for no DC here or no such
  GPO; 2 bad arguments.

EXAMPLES
  postern policy test
  postern policy test "Lab servers" --json

SEE ALSO
  postern explain, postern domain gpo, docs/policy-test.md
`,
  subcommands: [
    {
      name: "test",
      summary: "evaluate the expected access matrices; print the cells that differ",
      args: "[GPO]",
      run: test,
    },
  ],
});
