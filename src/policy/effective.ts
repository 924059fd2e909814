/**
 * The host's effective IPsec policy store. On a domain member `postern gpupdate` keeps the
 * IPsec part of the effective domain policy in `<home>/ipsec/domain-assigned.json`
 * ({domain, gpo, version, store}); as on Windows, a policy assigned through Group Policy
 * overrides the locally assigned one (the local store is kept, and applies again when the
 * domain assigns nothing or the host leaves). Without that file the local store applies.
 *
 * The persistent store (`<home>/ipsec/persistent-store.json`, `netsh ipsec static set store
 * location=persistent`) is Windows Server 2003's persistent policy: the IPsec service
 * applies it first, and it stays in force whatever the local or domain policy does. Here:
 * the rules of its assigned policy come first in the effective policy, ahead of the local
 * or domain policy's rules (which keep their main-mode settings and default response
 * rule); with no other policy assigned, or when the local or domain store cannot be read,
 * it applies alone. So the agent applies it at start and keeps it on every reload.
 *
 * The dynamic store (`<home>/ipsec/dynamic-store.json`, ipseccmd without -w) is XP's
 * dynamic policy, put straight into the running IPsec service: its rules come first of
 * all, ahead of the persistent ones (the same merge), or alone when nothing else is
 * assigned. The agent deletes it when it starts (store.ts), so it lasts one agent run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PosternError } from "../errors.js";
import { atomicWriteFile } from "../platform/home.js";
import type { PolicyStore } from "./model.js";
import { loadDynamicStore, loadLocalStore, loadPersistentStore } from "./store.js";
import { validateStore } from "./validate.js";

export interface DomainAssigned {
  domain: string;
  /** The GPO whose policy is assigned. */
  gpo: string;
  version: number;
  store: PolicyStore;
}

export interface EffectiveStore {
  store: PolicyStore;
  /**
   * "persistent" / "dynamic": that policy alone (nothing else assigned, or unreadable);
   * "dynamic" wins when both would apply alone (its rules lead the persistent ones).
   */
  source: "domain" | "local" | "persistent" | "dynamic";
  /** For source "domain": the GPO and domain it came from. */
  gpo: string | null;
  domain: string | null;
  /** The persistent policy's name when its rules lead the store's policy. */
  persistent: string | null;
  /** How many dynamic (ipseccmd, no -w) rules lead the policy; 0 when none. */
  dynamic: number;
  /** Why the persistent or dynamic policy applies alone (the other store's error). */
  note?: string;
}

export function domainAssignedPath(home: string): string {
  return path.join(home, "ipsec", "domain-assigned.json");
}

/** Keeps (or, with null, removes) the domain-assigned store. */
export function saveDomainAssigned(home: string, rec: DomainAssigned | null): void {
  if (rec === null) {
    fs.rmSync(domainAssignedPath(home), { force: true });
    return;
  }
  validateStore(rec.store, "the domain-assigned IPsec store");
  atomicWriteFile(domainAssignedPath(home), `${JSON.stringify(rec, null, 2)}\n`, 0o600);
}

export function loadDomainAssigned(home: string): DomainAssigned | null {
  const file = domainAssignedPath(home);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new PosternError("store", `cannot read ${file}: ${(e as Error).message}`);
  }
  let data: Partial<DomainAssigned>;
  try {
    data = JSON.parse(text) as Partial<DomainAssigned>;
  } catch {
    throw new PosternError("store", `${file}: not valid JSON`);
  }
  if (typeof data.gpo !== "string" || typeof data.domain !== "string")
    throw new PosternError("store", `${file}: gpo and domain: expected strings`);
  return {
    domain: data.domain,
    gpo: data.gpo,
    version: Number(data.version ?? 0),
    store: validateStore(data.store, file),
  };
}

/** The domain-assigned store when it assigns a policy, else the local store. */
function loadAssigned(home: string): EffectiveStore {
  const d = loadDomainAssigned(home);
  if (d?.store.policies.some((p) => p.assigned)) {
    return {
      store: d.store,
      source: "domain",
      gpo: d.gpo,
      domain: d.domain,
      persistent: null,
      dynamic: 0,
    };
  }
  return {
    store: loadLocalStore(home),
    source: "local",
    gpo: null,
    domain: null,
    persistent: null,
    dynamic: 0,
  };
}

/** The assigned store with the dynamic, then the persistent policy first (see the header). */
export function loadEffectiveStore(home: string): EffectiveStore {
  return layerFirst("dynamic", loadDynamicStore(home), () => loadWithPersistent(home));
}

/** The assigned store with the persistent policy first (see the header). */
function loadWithPersistent(home: string): EffectiveStore {
  return layerFirst("persistent", loadPersistentStore(home), () => loadAssigned(home));
}

/**
 * `top`'s assigned policy ahead of what `below` gives: its rules first when `below` has an
 * assigned policy, alone when it has none or cannot be read (the note says why); `below`
 * itself when `top` assigns nothing.
 */
function layerFirst(
  label: "persistent" | "dynamic",
  top: PolicyStore,
  below: () => EffectiveStore,
): EffectiveStore {
  const tp = top.policies.find((p) => p.assigned);
  if (tp === undefined) return below();
  const mark = label === "persistent" ? { persistent: tp.name } : { dynamic: tp.rules.length };
  const alone = (note?: string): EffectiveStore => ({
    store: top,
    source: label,
    gpo: null,
    domain: null,
    persistent: null,
    dynamic: 0,
    ...mark,
    ...(note ? { note } : {}),
  });
  let eff: EffectiveStore;
  try {
    eff = below();
  } catch (e) {
    return alone(`${(e as Error).message}: the ${label} policy applies alone`);
  }
  if (!eff.store.policies.some((p) => p.assigned)) return alone();
  return { ...eff, store: withRulesFirst(label, top, tp, eff.store), ...mark };
}

/**
 * `store` whose assigned policy has `pp`'s rules first (renumbered, named `LABEL: NAME`),
 * with the filter lists and actions they use from `from` (a GUID both stores hold is the
 * same object, exported from one and imported into the other: the assigned store's copy
 * is kept). LABEL is "persistent" or "dynamic", the store the rules came from.
 */
export function withRulesFirst(
  label: "persistent" | "dynamic",
  from: PolicyStore,
  pp: PolicyStore["policies"][number],
  store: PolicyStore,
): PolicyStore {
  const out = structuredClone(store);
  const has = new Set([...out.filterLists, ...out.filterActions].map((x) => x.guid));
  const taken = new Set(
    [...out.filterLists, ...out.filterActions].map((x) => x.name.toLowerCase()),
  );
  const rename = <T extends { guid: string; name: string }>(x: T): T =>
    taken.has(x.name.toLowerCase()) ? { ...x, name: `${label}: ${x.name}` } : x;
  const used = new Set(pp.rules.flatMap((r) => [r.filterList, r.filterAction]));
  for (const f of from.filterLists)
    if (used.has(f.guid) && !has.has(f.guid)) out.filterLists.push(rename(structuredClone(f)));
  for (const a of from.filterActions)
    if (used.has(a.guid) && !has.has(a.guid)) out.filterActions.push(rename(structuredClone(a)));
  const policy = out.policies.find((p) => p.assigned);
  if (policy === undefined) return out;
  const first = pp.rules.map((r) => ({ ...structuredClone(r), name: `${label}: ${r.name}` }));
  policy.rules = [...first, ...policy.rules].map((r, i) => ({ ...r, id: i + 1 }));
  return out;
}
