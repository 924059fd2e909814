/**
 * `postern gpupdate` on an Active Directory member: the computer half of a Windows
 * Server 2003 policy refresh, for the two extensions postern has.
 *   1. the scope (ad-gpo.ts: which GPOs apply, in order), read as the machine;
 *   2. IPsec: the policy assigned by the last applied GPO that assigns one (its
 *      CN=ipsec,...,CN=Machine link object, [MS-GPIPSEC] 2.2.2) wins, read from the IP
 *      Security container; none: the local store applies again;
 *   3. firewall: each applied GPO's Machine\Registry.pol from SYSVOL over SMB (machine's
 *      ticket), in order, so the last GPO to configure a value wins; merged over the host's
 *      own settings (mergeFirewall: what the GPOs leave alone stays local);
 *   4. the result goes through the same applier as postern's own domain (apply-policy.ts)
 *      and the running agent is asked to reload. A result identical to the last one applied
 *      (a digest of it, in <home>/agent/ad-policy.json) is not applied again unless /force.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import { hash } from "../crypto/primitives.js";
import { loadSettings } from "../firewall/store.js";
import { ldapDirectory } from "../gpipsec/ldap.js";
import { assignedPolicyDn, type GpoInfo } from "../gpipsec/gpo.js";
import { readIpsecEntries } from "../gpipsec/directory.js";
import { storeFromEntries } from "../gpipsec/objects.js";
import { firewallPolicyFromPol, mergeFirewall } from "../gpipsec/firewall-pol.js";
import { parseRegistryPol } from "../gpipsec/registrypol.js";
import { gpoFolder, readSysvolFile, SysvolError } from "../gpipsec/sysvol.js";
import { domainToDn } from "../ldap/client.js";
import { atomicWriteFile } from "../platform/home.js";
import type { PolicyStore } from "../policy/model.js";
import { readMemberScope, machineLdap, type MemberScope } from "./ad-gpo.js";
import { applyFetchedPolicy, type FetchedPolicy } from "./apply-policy.js";
import { type MachineIdentity, machineCcachePath } from "./machine-keys.js";

export const adPolicyPath = (home: string) => path.join(home, "agent", "ad-policy.json");

interface Gathered {
  scope: MemberScope;
  fetched: FetchedPolicy;
  /** Per applied GPO, what it brought: "ipsec", "firewall". */
  notes: string[];
}

async function gather(env: CliEnv, id: MachineIdentity): Promise<Gathered> {
  const conn = await machineLdap(env.home, id);
  const notes: string[] = [];
  let scope: MemberScope;
  let ipsec: PolicyStore | null = null;
  let ipsecFrom: string | null = null;
  try {
    scope = await readMemberScope(conn, id);
    const dir = ldapDirectory(conn);
    let assigned: { dn: string; gpo: string } | null = null;
    for (const a of scope.applied) {
      const g = scope.gpos.get(a.guid);
      if (!g) continue;
      const dn = await assignedPolicyDn(dir, { dn: g.dn } as GpoInfo);
      if (dn) assigned = { dn, gpo: a.name };
    }
    if (assigned) {
      const entries = await readIpsecEntries(dir, domainToDn(id.domain));
      const wanted = entries.find((e) => e.dn.toLowerCase() === assigned?.dn.toLowerCase());
      const { store } = storeFromEntries(entries);
      const policy = wanted && store.policies.find((p) => p.guid === wanted.id);
      if (!policy) {
        notes.push(
          `GPO '${assigned.gpo}' assigns ${assigned.dn}, which the machine cannot read among the ${entries.length} objects of the IP Security container: IPsec policy not applied`,
        );
      } else {
        // Only what the assigned policy uses: the container also holds every other policy's
        // lists and actions (Windows' defaults offer DES, which postern refuses to run).
        const lists = new Set(policy.rules.map((r) => r.filterList));
        const actions = new Set(policy.rules.map((r) => r.filterAction));
        ipsec = {
          ...store,
          filterLists: store.filterLists.filter((f) => lists.has(f.guid)),
          filterActions: store.filterActions.filter((f) => actions.has(f.guid)),
          policies: [{ ...policy, assigned: true }],
        };
        ipsecFrom = assigned.gpo;
      }
    }
  } finally {
    await conn.close();
  }
  let firewall = null as ReturnType<typeof mergeFirewall> | null;
  let firewallFrom: string | null = null;
  const sysvol = {
    dcAddress: id.dc.host,
    dcName: id.dc.hostName ?? id.dc.host,
    realm: id.realm,
    kdc: { host: id.dc.host, port: id.dc.kdcPort ?? 88 },
    ccache: machineCcachePath(env.home),
  };
  for (const a of scope.applied) {
    const g = scope.gpos.get(a.guid);
    if (!g?.fileSysPath) continue;
    let pol: Buffer;
    try {
      pol = await readSysvolFile(sysvol, `${gpoFolder(g.fileSysPath)}\\Machine\\Registry.pol`);
    } catch (e) {
      if (e instanceof SysvolError && e.notFound) continue;
      throw e;
    }
    const gp = firewallPolicyFromPol(parseRegistryPol(pol));
    const configures =
      Object.keys(gp.profiles).length > 0 || gp.logging !== undefined || gp.bypass !== undefined;
    if (!configures) continue;
    firewall = mergeFirewall(firewall ?? loadSettings(env.home), gp);
    firewallFrom = a.name;
  }
  return { scope, fetched: { version: 0, ipsec, ipsecFrom, firewall, firewallFrom }, notes };
}

export async function adGpupdate(
  env: CliEnv,
  id: MachineIdentity,
  force: boolean,
): Promise<{ changed: boolean }> {
  const { scope, fetched, notes } = await gather(env, id);
  const digest = hash("sha256", Buffer.from(JSON.stringify([scope.applied, fetched]))).toString(
    "hex",
  );
  fetched.version = Number.parseInt(digest.slice(0, 12), 16);
  let held: string | undefined;
  try {
    held = (JSON.parse(fs.readFileSync(adPolicyPath(env.home), "utf8")) as { digest: string })
      .digest;
  } catch {
    held = undefined;
  }
  const applied = scope.applied.map((a) => a.name);
  for (const n of notes) env.err(`note: ${n}`);
  if (held === digest && !force) {
    env.out(
      env.json
        ? JSON.stringify({ changed: false, applied })
        : `policy unchanged (${applied.join(", ") || "no GPO"})`,
    );
    return { changed: false };
  }
  const done = await applyFetchedPolicy(env, id.domain, fetched);
  atomicWriteFile(
    adPolicyPath(env.home),
    `${JSON.stringify({ digest, applied: scope.applied, filtered: scope.filtered, ipsecFrom: fetched.ipsecFrom, firewallFrom: fetched.firewallFrom }, null, 2)}\n`,
    0o600,
  );
  for (const n of done.notes) env.err(`note: ${n}`);
  env.out(
    env.json
      ? JSON.stringify({
          changed: true,
          applied,
          filtered: scope.filtered,
          ipsec: done.ipsec,
          firewall: done.firewall,
          firewallFrom: fetched.firewallFrom,
        })
      : `applied ${applied.length ? applied.join(", ") : "no GPO"}; IPsec: ${done.ipsec ? `policy of GPO ${done.ipsec} (overrides the local store)` : "local store"}; firewall: ${fetched.firewallFrom ? `${done.firewall} (last set by GPO ${fetched.firewallFrom})` : "local settings"}`,
  );
  return { changed: true };
}
