/**
 * `postern gpresult` on an Active Directory member: which GPOs apply to this computer and
 * which were filtered out, and why, read from the DC as the machine (ad-gpo.ts).
 */
import type { CliEnv } from "../cmdline/env.js";
import { defineCommand } from "../cmdline/grammar.js";
import { PosternError } from "../errors.js";
import { readMemberScope, machineLdap, type MemberScope } from "./ad-gpo.js";
import { keytabWriter } from "./machine-keys.js";

function print(env: CliEnv, s: MemberScope): void {
  if (env.json) {
    env.out(
      JSON.stringify(
        {
          computer: s.computerDn,
          securityGroups: s.token,
          applied: s.applied,
          filtered: s.filtered,
        },
        null,
        2,
      ),
    );
    return;
  }
  env.out(`Computer: ${s.computerDn}`);
  env.out("");
  env.out("Applied Group Policy Objects (in the order applied: the last one wins)");
  env.out("-----------------------------");
  if (s.applied.length === 0) env.out("    N/A");
  for (const g of s.applied)
    env.out(`    ${g.name}${g.enforced ? "  (enforced)" : ""}    linked at ${g.som}`);
  env.out("");
  env.out("The following GPOs were not applied because they were filtered out");
  env.out("-------------------------------------------------------------------");
  if (s.filtered.length === 0) env.out("    N/A");
  for (const g of s.filtered) {
    env.out(`    ${g.name}    linked at ${g.som}`);
    env.out(`        Filtering:  ${g.reason}${g.detail ? ` (${g.detail})` : ""}`);
  }
  env.out("");
  env.out("The computer is a part of the following security groups");
  env.out("-------------------------------------------------------");
  for (const sid of s.token) env.out(`    ${sid}`);
}

export const gpresultCommand = defineCommand({
  name: "gpresult",
  summary: "the GPOs that apply to this Active Directory member, and those filtered out",
  options: [],
  help: `postern gpresult [--json]

On a host joined to Active Directory (postern join --ad), reads from the DC, as the machine
itself (its keytab's TGT, LDAP sealed with Kerberos), the computer object and its tokenGroups,
the gPLink and gPOptions of the domain and of every OU above the computer, and each GPO's
flags and security descriptor; then prints, as Windows Server 2003 computes them:
  - the applied GPOs in the order they apply (domain first, then OUs from the top down, link
    order within a container, enforced links last; the last one wins a conflict);
  - the GPOs filtered out, each with the reason: link disabled, blocked by inheritance,
    computer settings disabled, not readable, denied by security filtering (no Apply Group
    Policy for the computer or its groups, or a deny ACE naming one of them), not found;
  - the SIDs of the computer and its groups, nested, as the security filtering saw them.
--json prints the same as one JSON document. Sites and the local GPO are not read.
See docs/group-policy.md.
`,
  run: async (_p, env) => {
    const id = keytabWriter.read(env.home);
    if (id?.kind !== "ad")
      throw new PosternError(
        "gpo",
        "gpresult: this host is not an Active Directory member (postern join --ad)",
      );
    const conn = await machineLdap(env.home, id);
    try {
      print(env, await readMemberScope(conn, id));
    } finally {
      await conn.close();
    }
    return 0;
  },
});
