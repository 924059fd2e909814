/**
 * `postern gpupdate` on an Active Directory member: the computer half of a Windows
 * Server 2003 policy refresh, for the two extensions postern has.
 *   1. the scope (ad-gpo.ts: which GPOs apply, in order), read as the machine;
 *   2. IPsec: the policy assigned by the last applied GPO that assigns one (its
 *      CN=ipsec,...,CN=Machine link object, [MS-GPIPSEC] 2.2.2) wins, read from the IP
 *      Security container; none: the local store applies again;
 *   3. firewall: each applied GPO's Machine\Registry.pol from SYSVOL over SMB (machine's
 *      ticket), in order, so the last GPO to configure a value wins; the result is the GPO
 *      layer, kept beside the local settings (firewall/gpo-layer.ts): what the GPOs leave
 *      alone, or stop configuring, is the local value;
 *   4. the result goes through the same applier as postern's own domain (apply-policy.ts)
 *      and the running agent is asked to reload. A result identical to the last one applied
 *      (a digest of it, in <home>/agent/ad-policy.json) is not applied again unless /force.
 *      That record also keeps which GPO set each value (gpresult's winning source).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import { hash } from "../crypto/primitives.js";
import { type FirewallPolicy, overlayPolicy, policySettings } from "../firewall/gpo-layer.js";
import { ldapDirectory } from "../gpipsec/ldap.js";
import { assignedPolicyDn, type GpoInfo } from "../gpipsec/gpo.js";
import { readIpsecEntries } from "../gpipsec/directory.js";
import { storeFromEntries } from "../gpipsec/objects.js";
import { firewallPolicyFromPol } from "../gpipsec/firewall-pol.js";
import { parseRegistryPol } from "../gpipsec/registrypol.js";
import { gpoFolder, readSysvolFile, SysvolError } from "../gpipsec/sysvol.js";
import { domainToDn } from "../ldap/client.js";
import { atomicWriteFile } from "../platform/home.js";
import type { PolicyStore } from "../policy/model.js";
import { readMemberScope, machineLdap, type MemberScope } from "./ad-gpo.js";
import { applyFetchedPolicy, type FetchedPolicy } from "./apply-policy.js";
import { type MachineIdentity, machineCcachePath } from "./machine-keys.js";

export const adPolicyPath = (home: string) => path.join(home, "agent", "ad-policy.json");

/** A GPO as gpresult names it. */
export interface GpoRef {
  name: string;
  guid: string;
}

/** Which GPO set what, at the last gpupdate that applied (gpresult shows it). */
export interface WinningSources {
  ipsec: GpoRef | null;
  /** By setting name (firewall/gpo-layer.ts policySettings); absent: the local value. */
  firewall: Record<string, GpoRef>;
}

/** What `<home>/agent/ad-policy.json` holds. */
export interface AppliedRecord {
  digest: string;
  at: string;
  applied: MemberScope["applied"];
  filtered: MemberScope["filtered"];
  sources: WinningSources;
}

export function readAppliedRecord(home: string): AppliedRecord | null {
  try {
    return JSON.parse(fs.readFileSync(adPolicyPath(home), "utf8")) as AppliedRecord;
  } catch {
    return null;
  }
}

interface Gathered {
  scope: MemberScope;
  fetched: FetchedPolicy;
  sources: WinningSources;
  /** Per applied GPO, what it brought: "ipsec", "firewall". */
  notes: string[];
}

async function gather(env: CliEnv, id: MachineIdentity): Promise<Gathered> {
  const conn = await machineLdap(env.home, id);
  const notes: string[] = [];
  let scope: MemberScope;
  let ipsec: PolicyStore | null = null;
  let ipsecFrom: GpoRef | null = null;
  try {
    scope = await readMemberScope(conn, id);
    const dir = ldapDirectory(conn);
    let assigned: { dn: string; gpo: GpoRef } | null = null;
    for (const a of scope.applied) {
      const g = scope.gpos.get(a.guid);
      if (!g) continue;
      const dn = await assignedPolicyDn(dir, { dn: g.dn } as GpoInfo);
      if (dn) assigned = { dn, gpo: { name: a.name, guid: a.guid } };
    }
    if (assigned) {
      const entries = await readIpsecEntries(dir, domainToDn(id.domain));
      const wanted = entries.find((e) => e.dn.toLowerCase() === assigned?.dn.toLowerCase());
      const { store } = storeFromEntries(entries);
      const policy = wanted && store.policies.find((p) => p.guid === wanted.id);
      if (!policy) {
        notes.push(
          `GPO '${assigned.gpo.name}' assigns ${assigned.dn}, which the machine cannot read among the ${entries.length} objects of the IP Security container: IPsec policy not applied`,
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
  // the GPOs' firewall settings as one layer, each value from the last GPO configuring it
  let layer: FirewallPolicy | null = null;
  const firewallSources: Record<string, GpoRef> = {};
  const sysvol = {
    dcAddress: id.dc.host,
    dcName: id.dc.hostName ?? id.dc.host,
    realm: id.realm,
    kdc: { host: id.dc.host, port: id.dc.kdcPort ?? 88 },
    ccache: machineCcachePath(env.home),
  };
  let firewallFrom: string | null = null;
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
    const set = policySettings(gp);
    if (set.length === 0) continue;
    for (const x of set) firewallSources[x.setting] = { name: a.name, guid: a.guid };
    layer = overlayPolicy(layer ?? { profiles: {} }, gp);
    firewallFrom = a.name;
  }
  return {
    scope,
    fetched: {
      version: 0,
      ipsec,
      ipsecFrom: ipsecFrom?.name ?? null,
      firewall: null,
      firewallFrom,
      gpoFirewall: layer,
    },
    sources: { ipsec: ipsecFrom, firewall: firewallSources },
    notes,
  };
}

export async function adGpupdate(
  env: CliEnv,
  id: MachineIdentity,
  force: boolean,
): Promise<{ changed: boolean }> {
  const { scope, fetched, sources, notes } = await gather(env, id);
  const digest = hash("sha256", Buffer.from(JSON.stringify([scope.applied, fetched]))).toString(
    "hex",
  );
  fetched.version = Number.parseInt(digest.slice(0, 12), 16);
  const held = readAppliedRecord(env.home)?.digest;
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
  const record: AppliedRecord = {
    digest,
    at: new Date().toISOString(),
    applied: scope.applied,
    filtered: scope.filtered,
    sources,
  };
  atomicWriteFile(adPolicyPath(env.home), `${JSON.stringify(record, null, 2)}\n`, 0o600);
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
