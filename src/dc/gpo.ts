/**
 * Policy objects (Group Policy): a GPO has a GUID, a name, a version that goes up with every
 * edit (as AD's versionNumber does), an IPsec PolicyStore (src/policy/model.ts) and a
 * firewall-settings JSON document (opaque here; the firewall subsystem defines it).
 *
 * Links: to the domain (applies to every computer) or to a group (applies to the group's
 * effective members: security filtering by group). effectivePolicy(computer):
 *   1. the GPOs linked to the domain, in link order, then those linked to any of the
 *      computer's effective groups, in link order (each GPO once, at its first place);
 *   2. later GPOs win, as a GPO linked closer to the computer wins in AD: the IPsec store is
 *      the last applied GPO's store that holds an assigned policy; the firewall settings are
 *      the last applied non-empty document;
 *      A GPO with a domain policy assigned (`ipsec_policy`, see ipsec-domain.ts) gives that
 *      policy of the domain's IPsec container instead of its own store;
 *   3. `version` is a number computed from the applied GPOs' GUIDs and versions, so a
 *      member sends it back and gets "unchanged" until a GPO, a link or its groups change.
 */
import { hash } from "../crypto/primitives.js";
import { emptyStore, type PolicyStore } from "../policy/model.js";
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import { effectiveGroupsByRid } from "./groups.js";
import { assignedDomainStore, loadDomainIpsec } from "./ipsec-domain.js";
import { getObject } from "./objects.js";

export interface GpoInfo {
  guid: string;
  name: string;
  version: number;
  links: string[];
  policies: number;
  assigned: string | null;
  firewall: unknown;
  createdAt: string;
  changedAt: string;
}

export interface EffectivePolicy {
  computer: string;
  version: number;
  applied: { guid: string; name: string; version: number; via: string }[];
  ipsec: PolicyStore | null;
  ipsecFrom: string | null;
  firewall: unknown;
  firewallFrom: string | null;
}

interface GpoRow {
  guid: string;
  name: string;
  version: number;
  ipsec_store: string;
  firewall: string;
  created_at: string;
  changed_at: string;
  ipsec_policy: string | null;
}

const DOMAIN_TARGET = 0;

function newGuid(random: (n: number) => Uint8Array): string {
  const b = Buffer.from(random(16));
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function gpoName(input: string): string {
  if (
    input.length < 1 ||
    input.length > 128 ||
    /[\u0000-\u001f]/.test(input) ||
    input.trim() !== input
  ) {
    throw new DirectoryError(
      "dc.invalid-name",
      `policy object name '${input}': use 1-128 printable characters without leading or trailing blanks`,
    );
  }
  return input;
}

function getGpo(dir: Directory, nameOrGuid: string): GpoRow {
  const row = dir
    .stmt("SELECT * FROM gpos WHERE name = ? OR guid = lower(?)")
    .get(nameOrGuid, nameOrGuid.replace(/[{}]/g, "")) as GpoRow | undefined;
  if (!row) throw new DirectoryError("dc.not-found", `no policy object named '${nameOrGuid}'`);
  return row;
}

function targetRid(dir: Directory, target: string): { rid: number; label: string } {
  if (target.toLowerCase() === "domain") return { rid: DOMAIN_TARGET, label: "domain" };
  const g = getObject(dir, target, "group");
  return { rid: g.rid, label: g.sam };
}

export function createGpo(dir: Directory, actor: string, input: string): GpoInfo {
  const name = gpoName(input);
  return dir.change(actor, "gpo.create", name, () => {
    if (dir.stmt("SELECT 1 FROM gpos WHERE name = ?").get(name)) {
      throw new DirectoryError("dc.duplicate", `a policy object named '${name}' already exists`);
    }
    const now = dir.now();
    dir
      .stmt(
        "INSERT INTO gpos (guid, name, version, ipsec_store, firewall, created_at, changed_at) VALUES (?, ?, 1, ?, '{}', ?, ?)",
      )
      .run(newGuid(dir.deps.random), name, JSON.stringify(emptyStore()), now, now);
    return showGpo(dir, name);
  });
}

export function deleteGpo(dir: Directory, actor: string, name: string): void {
  const g = getGpo(dir, name);
  dir.change(
    actor,
    "gpo.delete",
    g.name,
    () => {
      dir.stmt("DELETE FROM gpos WHERE guid = ?").run(g.guid);
    },
    g.guid,
  );
}

export function linkGpo(dir: Directory, actor: string, name: string, target: string): void {
  const g = getGpo(dir, name);
  const t = targetRid(dir, target);
  dir.change(
    actor,
    "gpo.link",
    g.name,
    () => {
      if (
        dir.stmt("SELECT 1 FROM gpo_links WHERE gpo_guid = ? AND target_rid = ?").get(g.guid, t.rid)
      ) {
        throw new DirectoryError("dc.duplicate", `'${g.name}' is already linked to ${t.label}`);
      }
      const next = dir
        .stmt("SELECT COALESCE(MAX(link_order), 0) + 1 AS n FROM gpo_links")
        .get() as { n: number };
      dir.stmt("INSERT INTO gpo_links VALUES (?, ?, ?)").run(g.guid, t.rid, next.n);
    },
    t.label,
  );
}

export function unlinkGpo(dir: Directory, actor: string, name: string, target: string): void {
  const g = getGpo(dir, name);
  const t = targetRid(dir, target);
  dir.change(
    actor,
    "gpo.unlink",
    g.name,
    () => {
      const r = dir
        .stmt("DELETE FROM gpo_links WHERE gpo_guid = ? AND target_rid = ?")
        .run(g.guid, t.rid);
      if (r.changes === 0)
        throw new DirectoryError("dc.not-found", `'${g.name}' is not linked to ${t.label}`);
    },
    t.label,
  );
}

function parseStore(row: GpoRow): PolicyStore {
  return JSON.parse(row.ipsec_store) as PolicyStore;
}

export function showGpo(dir: Directory, name: string): GpoInfo {
  const g = getGpo(dir, name);
  const links = dir
    .stmt(
      "SELECT l.target_rid, o.sam FROM gpo_links l LEFT JOIN objects o ON o.rid = l.target_rid WHERE l.gpo_guid = ? ORDER BY l.link_order",
    )
    .all(g.guid) as { target_rid: number; sam: string | null }[];
  const store = parseStore(g);
  const domainAssigned =
    g.ipsec_policy === null
      ? null
      : (loadDomainIpsec(dir).store.policies.find((p) => p.guid === g.ipsec_policy)?.name ?? null);
  return {
    guid: g.guid,
    name: g.name,
    version: g.version,
    links: links.map((l) =>
      l.target_rid === DOMAIN_TARGET ? "domain" : (l.sam ?? `rid ${l.target_rid}`),
    ),
    policies: store.policies.length,
    assigned: domainAssigned ?? store.policies.find((p) => p.assigned)?.name ?? null,
    firewall: JSON.parse(g.firewall) as unknown,
    createdAt: g.created_at,
    changedAt: g.changed_at,
  };
}

export function listGpos(dir: Directory): GpoInfo[] {
  return (dir.stmt("SELECT name FROM gpos ORDER BY name").all() as { name: string }[]).map((r) =>
    showGpo(dir, r.name),
  );
}

function checkStore(store: unknown): PolicyStore {
  const s = store as Partial<PolicyStore> | null;
  if (
    typeof s !== "object" ||
    s === null ||
    s.version !== 1 ||
    !Array.isArray(s.filterLists) ||
    !Array.isArray(s.filterActions) ||
    !Array.isArray(s.policies)
  ) {
    throw new DirectoryError("dc.policy", "the IPsec store is not a version 1 postern PolicyStore");
  }
  return s as PolicyStore;
}

/** The IPsec store a GPO holds (for `netsh ipsec static set store location=domain`). */
export function loadDomainStore(dir: Directory, gpo: string): PolicyStore {
  return parseStore(getGpo(dir, gpo));
}

/** Replaces the GPO's IPsec store; the GPO's version goes up. */
export function saveDomainStore(
  dir: Directory,
  actor: string,
  gpo: string,
  store: PolicyStore,
): number {
  const g = getGpo(dir, gpo);
  const valid = checkStore(store);
  return dir.change(actor, "gpo.set-ipsec", g.name, () =>
    bump(dir, g.guid, "ipsec_store", JSON.stringify(valid)),
  );
}

/** Replaces the GPO's firewall settings (any JSON object); the version goes up. */
export function saveFirewallSettings(
  dir: Directory,
  actor: string,
  gpo: string,
  settings: unknown,
): number {
  const g = getGpo(dir, gpo);
  if (typeof settings !== "object" || settings === null || Array.isArray(settings)) {
    throw new DirectoryError("dc.policy", "firewall settings must be a JSON object");
  }
  return dir.change(actor, "gpo.set-firewall", g.name, () =>
    bump(dir, g.guid, "firewall", JSON.stringify(settings)),
  );
}

function bump(
  dir: Directory,
  guid: string,
  column: "ipsec_store" | "firewall",
  value: string,
): number {
  dir
    .stmt(`UPDATE gpos SET ${column} = ?, version = version + 1, changed_at = ? WHERE guid = ?`)
    .run(value, dir.now(), guid);
  return (dir.stmt("SELECT version FROM gpos WHERE guid = ?").get(guid) as { version: number })
    .version;
}

export function effectivePolicy(dir: Directory, computer: string): EffectivePolicy {
  const c = getObject(dir, computer.endsWith("$") ? computer : `${computer}$`, "computer");
  const groups = new Map(effectiveGroupsByRid(dir, c.rid).map((g) => [g.rid, g.name]));
  const links = dir
    .stmt(
      "SELECT l.target_rid, g.* FROM gpo_links l JOIN gpos g ON g.guid = l.gpo_guid ORDER BY (l.target_rid != 0), l.link_order",
    )
    .all() as (GpoRow & { target_rid: number })[];
  const applied: EffectivePolicy["applied"] = [];
  const rows: GpoRow[] = [];
  for (const l of links) {
    const via = l.target_rid === DOMAIN_TARGET ? "domain" : groups.get(l.target_rid);
    if (via === undefined || applied.some((a) => a.guid === l.guid)) continue;
    applied.push({ guid: l.guid, name: l.name, version: l.version, via });
    rows.push(l);
  }
  let ipsec: PolicyStore | null = null;
  let ipsecFrom: string | null = null;
  let firewall: unknown = null;
  let firewallFrom: string | null = null;
  const domain = rows.some((r) => r.ipsec_policy !== null) ? loadDomainIpsec(dir) : null;
  for (const r of rows) {
    const store =
      r.ipsec_policy !== null && domain
        ? assignedDomainStore(domain.store, r.ipsec_policy)
        : parseStore(r);
    if (store.policies.some((p) => p.assigned)) [ipsec, ipsecFrom] = [store, r.name];
    const fw = JSON.parse(r.firewall) as Record<string, unknown>;
    if (Object.keys(fw).length > 0) [firewall, firewallFrom] = [fw, r.name];
  }
  const digest = hash(
    "sha256",
    Buffer.from(
      applied
        .map((a, i) => {
          const dom = rows[i]?.ipsec_policy ? `:ipsec@${domain?.revision}` : "";
          return `${a.guid}:${a.version}${dom}`;
        })
        .join("|"),
    ),
  );
  const version = applied.length === 0 ? 0 : digest.readUIntBE(0, 6);
  return { computer: c.sam, version, applied, ipsec, ipsecFrom, firewall, firewallFrom };
}
