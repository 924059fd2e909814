/**
 * The host's effective IPsec policy store. On a domain member `postern gpupdate` keeps the
 * IPsec part of the effective domain policy in `<home>/ipsec/domain-assigned.json`
 * ({domain, gpo, version, store}); as on Windows, a policy assigned through Group Policy
 * overrides the locally assigned one (the local store is kept, and applies again when the
 * domain assigns nothing or the host leaves). Without that file the local store applies.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PosternError } from "../errors.js";
import { atomicWriteFile } from "../platform/home.js";
import type { PolicyStore } from "./model.js";
import { loadLocalStore } from "./store.js";
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
  source: "domain" | "local";
  /** For source "domain": the GPO and domain it came from. */
  gpo: string | null;
  domain: string | null;
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
export function loadEffectiveStore(home: string): EffectiveStore {
  const d = loadDomainAssigned(home);
  if (d?.store.policies.some((p) => p.assigned)) {
    return { store: d.store, source: "domain", gpo: d.gpo, domain: d.domain };
  }
  return { store: loadLocalStore(home), source: "local", gpo: null, domain: null };
}
