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
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PosternError } from "../errors.js";
import { atomicWriteFile } from "../platform/home.js";
import type { PolicyStore } from "./model.js";
import { loadLocalStore, loadPersistentStore } from "./store.js";
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
  /** "persistent": the persistent policy alone (nothing else assigned, or unreadable). */
  source: "domain" | "local" | "persistent";
  /** For source "domain": the GPO and domain it came from. */
  gpo: string | null;
  domain: string | null;
  /** The persistent policy's name when its rules lead the store's policy. */
  persistent: string | null;
  /** Why the persistent policy applies alone (the other store's error). */
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
    return { store: d.store, source: "domain", gpo: d.gpo, domain: d.domain, persistent: null };
  }
  return {
    store: loadLocalStore(home),
    source: "local",
    gpo: null,
    domain: null,
    persistent: null,
  };
}

/** The assigned store with the persistent policy first (see the header). */
export function loadEffectiveStore(home: string): EffectiveStore {
  const persistent = loadPersistentStore(home);
  const pp = persistent.policies.find((p) => p.assigned);
  if (pp === undefined) return loadAssigned(home);
  const alone = (note?: string): EffectiveStore => ({
    store: persistent,
    source: "persistent",
    gpo: null,
    domain: null,
    persistent: pp.name,
    ...(note ? { note } : {}),
  });
  let eff: EffectiveStore;
  try {
    eff = loadAssigned(home);
  } catch (e) {
    return alone(`${(e as Error).message}: the persistent policy applies alone`);
  }
  if (!eff.store.policies.some((p) => p.assigned)) return alone();
  return { ...eff, store: withPersistentFirst(persistent, pp, eff.store), persistent: pp.name };
}

/**
 * `store` whose assigned policy has the persistent policy's rules first (renumbered,
 * named `persistent: NAME`), with the filter lists and actions they use (a GUID both
 * stores hold is the same object, exported from one and imported into the other: the
 * assigned store's copy is kept).
 */
export function withPersistentFirst(
  persistent: PolicyStore,
  pp: PolicyStore["policies"][number],
  store: PolicyStore,
): PolicyStore {
  const out = structuredClone(store);
  const has = new Set([...out.filterLists, ...out.filterActions].map((x) => x.guid));
  const taken = new Set(
    [...out.filterLists, ...out.filterActions].map((x) => x.name.toLowerCase()),
  );
  const rename = <T extends { guid: string; name: string }>(x: T): T =>
    taken.has(x.name.toLowerCase()) ? { ...x, name: `persistent: ${x.name}` } : x;
  const used = new Set(pp.rules.flatMap((r) => [r.filterList, r.filterAction]));
  for (const f of persistent.filterLists)
    if (used.has(f.guid) && !has.has(f.guid)) out.filterLists.push(rename(structuredClone(f)));
  for (const a of persistent.filterActions)
    if (used.has(a.guid) && !has.has(a.guid)) out.filterActions.push(rename(structuredClone(a)));
  const policy = out.policies.find((p) => p.assigned);
  if (policy === undefined) return out;
  const first = pp.rules.map((r) => ({ ...structuredClone(r), name: `persistent: ${r.name}` }));
  policy.rules = [...first, ...policy.rules].map((r, i) => ({ ...r, id: i + 1 }));
  return out;
}
