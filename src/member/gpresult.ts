/**
 * `postern gpresult` on an Active Directory member: which GPOs apply to this computer and
 * which were filtered out, and why, read from the DC as the machine (ad-gpo.ts); then the
 * winning source of each setting postern takes from Group Policy, as the last gpupdate that
 * applied recorded it (Windows' gpresult also shows the last refresh's result, not a new
 * computation): the effective value, and the GPO that set it or "local".
 */
import type { CliEnv } from "../cmdline/env.js";
import { defineCommand } from "../cmdline/grammar.js";
import { PosternError } from "../errors.js";
import {
  loadEffectiveSettings,
  type NamedSetting,
  policySettings,
  settingsAsPolicy,
} from "../firewall/gpo-layer.js";
import type { PortOpening } from "../firewall/model.js";
import { formatPortEntry } from "../gpipsec/firewall-pol.js";
import { loadEffectiveStore } from "../policy/effective.js";
import { readMemberScope, machineLdap, type MemberScope } from "./ad-gpo.js";
import { type GpoRef, readAppliedRecord } from "./ad-gpupdate.js";
import { keytabWriter } from "./machine-keys.js";

/** One row of the winning settings: `gpo` is set when source is "gpo". */
interface Winning {
  setting: string;
  value: unknown;
  source: "gpo" | "local";
  gpo?: GpoRef;
}

interface Winners {
  /** When the last gpupdate applied (null: never on this host). */
  lastApplied: string | null;
  ipsec: { policy: string | null; source: "gpo" | "local"; gpo?: GpoRef };
  firewall: Winning[];
}

function winners(home: string): Winners {
  const record = readAppliedRecord(home);
  const from = (g: GpoRef | undefined) =>
    g ? { source: "gpo" as const, gpo: g } : { source: "local" as const };
  const eff = loadEffectiveStore(home);
  const policy = eff.store.policies.find((p) => p.assigned)?.name ?? null;
  const ipsecGpo = eff.source === "domain" ? (record?.sources.ipsec ?? undefined) : undefined;
  const fw = policySettings(settingsAsPolicy(loadEffectiveSettings(home)));
  return {
    lastApplied: record?.at ?? null,
    ipsec: { policy, ...from(ipsecGpo) },
    firewall: fw.map((x: NamedSetting) => ({ ...x, ...from(record?.sources.firewall[x.setting]) })),
  };
}

function shown(v: unknown): string {
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (v === null) return "(default)";
  if (Array.isArray(v)) return v.length === 0 ? "(none)" : v.join(", ");
  if (typeof v === "object") return formatPortEntry(v as PortOpening);
  return String(v);
}

function print(env: CliEnv, s: MemberScope, w: Winners): void {
  if (env.json) {
    env.out(
      JSON.stringify(
        {
          computer: s.computerDn,
          securityGroups: s.token,
          applied: s.applied,
          filtered: s.filtered,
          settings: w,
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
  env.out("");
  env.out(
    `Winning settings (${w.lastApplied ? `as of the last gpupdate, ${w.lastApplied}` : "no gpupdate has applied yet: local"})`,
  );
  env.out("-----------------");
  const src = (x: { source: string; gpo?: GpoRef }) =>
    x.gpo ? `GPO ${x.gpo.name} {${x.gpo.guid.toUpperCase()}}` : "local";
  const rows = [
    ["IPsec policy", w.ipsec.policy ?? "(none)", src(w.ipsec)],
    ...w.firewall.map((x) => [x.setting, shown(x.value), src(x)]),
  ];
  const width = [0, 1].map((i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const [a, b, c] of rows)
    env.out(`    ${(a ?? "").padEnd(width[0] ?? 0)}  ${(b ?? "").padEnd(width[1] ?? 0)}  ${c}`);
}

export const gpresultCommand = defineCommand({
  name: "gpresult",
  summary:
    "the GPOs that apply to this Active Directory member, those filtered out, and which set what",
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
  - the SIDs of the computer and its groups, nested, as the security filtering saw them;
  - the winning settings, as the last gpupdate that applied recorded them: the assigned
    IPsec policy and each firewall setting Group Policy can set, with its effective value
    and its source, the GPO (name and GUID) that set it last or "local" (no applied GPO
    configures it: the value netsh firewall / netsh ipsec static wrote on this host).
--json prints the same as one JSON document:
  {computer, securityGroups, applied: [{guid, name, som, enforced}],
   filtered: [{guid, name, som, reason, detail?}],
   settings: {lastApplied: ISO time | null,
              ipsec: {policy: name | null, source: "gpo" | "local", gpo?: {name, guid}},
              firewall: [{setting, value, source: "gpo" | "local", gpo?: {name, guid}}]}}
  where setting is PROFILE.enabled, PROFILE.exceptions, PROFILE.portopening.PROTO/PORT,
  PROFILE.icmp.TYPE (PROFILE: domain or standard), logging.file, logging.maxSizeKb,
  logging.droppedPackets, logging.connections or bypass (value: the SIDs).
Sites and the local GPO are not read.
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
      print(env, await readMemberScope(conn, id), winners(env.home));
    } finally {
      await conn.close();
    }
    return 0;
  },
});
