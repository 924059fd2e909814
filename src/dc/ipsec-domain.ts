/**
 * The domain's IPsec policy container: what `netsh ipsec static set store location=domain`
 * edits. As in AD (policies under CN=IP Security,CN=System,DC=...; a GPO's IPsec extension
 * points at one of them), the domain holds ONE PolicyStore of policies, filter lists and
 * filter actions, and each GPO may have one of those policies assigned
 * (`set policy name=X assign=yes gponame=G`). A policy becomes effective on a member only
 * through a GPO assignment; the `assigned` flag inside the domain store carries no meaning
 * and is kept false.
 *
 * Writes are whole-store replacements with a revision (optimistic concurrency: a writer
 * sends the revision it read; a stale one is refused), in one transaction with the GPO
 * assignments and one audit row. Every assignment must name a policy that the new store
 * still holds, so a policy assigned to a GPO cannot be deleted until it is unassigned.
 */
import { emptyStore, type PolicyStore } from "../policy/model.js";
import { validateStore } from "../policy/validate.js";
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";

export interface DomainIpsec {
  store: PolicyStore;
  /** Goes up by one with every save. */
  revision: number;
}

/** A GPO's assignment: `policy` null when no domain policy is assigned to it. */
export interface GpoAssignment {
  gpo: string;
  guid: string;
  policy: { guid: string; name: string } | null;
}

/** One assignment to make with a save: policy GUID, or null to unassign. */
export interface AssignChange {
  gpo: string;
  policy: string | null;
}

interface GpoRef {
  guid: string;
  name: string;
  ipsec_policy: string | null;
}

export function loadDomainIpsec(dir: Directory): DomainIpsec {
  const row = dir.stmt("SELECT store, revision FROM ipsec_domain WHERE id = 1").get() as
    | { store: string; revision: number }
    | undefined;
  if (!row) return { store: emptyStore(), revision: 0 };
  return { store: JSON.parse(row.store) as PolicyStore, revision: row.revision };
}

/** The store a GPO with domain policy `guid` assigned hands to its members. */
export function assignedDomainStore(domain: PolicyStore, guid: string): PolicyStore {
  const s = structuredClone(domain);
  s.policies = s.policies.filter((p) => p.guid === guid).map((p) => ({ ...p, assigned: true }));
  return s;
}

function gpoRef(dir: Directory, nameOrGuid: string): GpoRef {
  const row = dir
    .stmt("SELECT guid, name, ipsec_policy FROM gpos WHERE name = ? OR guid = lower(?)")
    .get(nameOrGuid, nameOrGuid.replace(/[{}]/g, "")) as GpoRef | undefined;
  if (!row) throw new DirectoryError("dc.not-found", `no policy object named '${nameOrGuid}'`);
  return row;
}

function assignmentOf(g: GpoRef, store: PolicyStore): GpoAssignment {
  const p =
    g.ipsec_policy === null ? undefined : store.policies.find((x) => x.guid === g.ipsec_policy);
  return { gpo: g.name, guid: g.guid, policy: p ? { guid: p.guid, name: p.name } : null };
}

/** The assignment of one GPO, or of every GPO (by name). */
export function gpoAssignments(dir: Directory, gpo?: string): GpoAssignment[] {
  const { store } = loadDomainIpsec(dir);
  const rows =
    gpo === undefined
      ? (dir.stmt("SELECT guid, name, ipsec_policy FROM gpos ORDER BY name").all() as GpoRef[])
      : [gpoRef(dir, gpo)];
  return rows.map((g) => assignmentOf(g, store));
}

function checkAssignments(dir: Directory, old: PolicyStore, next: PolicyStore): void {
  const rows = dir
    .stmt("SELECT guid, name, ipsec_policy FROM gpos WHERE ipsec_policy IS NOT NULL")
    .all() as GpoRef[];
  for (const g of rows) {
    if (next.policies.some((p) => p.guid === g.ipsec_policy)) continue;
    const name = old.policies.find((p) => p.guid === g.ipsec_policy)?.name ?? g.ipsec_policy;
    throw new DirectoryError(
      "dc.policy",
      `policy '${name}' is assigned to policy object '${g.name}': unassign it first (set policy name="${name}" assign=no gponame="${g.name}")`,
    );
  }
}

/**
 * Replaces the domain store (validated deeply) and applies `assign`, in one transaction
 * with one audit row. `revision`: the revision the caller read; a different current one is
 * refused ("dc.conflict"). Returns the new revision.
 */
export function saveDomainIpsec(
  dir: Directory,
  actor: string,
  input: unknown,
  opts: { revision?: number; assign?: AssignChange[] } = {},
): DomainIpsec {
  let store: PolicyStore;
  try {
    store = validateStore(input, "the domain IPsec store");
  } catch (e) {
    throw new DirectoryError("dc.policy", (e as Error).message);
  }
  for (const p of store.policies) p.assigned = false;
  const assign = opts.assign ?? [];
  const detail = assign
    .map((a) => `${a.gpo} <- ${a.policy === null ? "(none)" : a.policy}`)
    .join("; ");
  return dir.change(
    actor,
    "ipsec.set-domain",
    "domain IPsec store",
    () => {
      const cur = loadDomainIpsec(dir);
      if (opts.revision !== undefined && opts.revision !== cur.revision) {
        throw new DirectoryError(
          "dc.conflict",
          `the domain IPsec store changed since it was read (revision ${opts.revision}, now ${cur.revision}): run the command again`,
        );
      }
      for (const a of assign) assignOne(dir, store, a);
      checkAssignments(dir, cur.store, store);
      const revision = cur.revision + 1;
      dir
        .stmt("UPDATE ipsec_domain SET store = ?, revision = ?, changed_at = ? WHERE id = 1")
        .run(JSON.stringify(store), revision, dir.now());
      return { store, revision };
    },
    detail,
  );
}

function assignOne(dir: Directory, store: PolicyStore, a: AssignChange): void {
  const g = gpoRef(dir, a.gpo);
  if (a.policy !== null && !store.policies.some((p) => p.guid === a.policy)) {
    throw new DirectoryError("dc.not-found", `no domain IPsec policy with GUID ${a.policy}`);
  }
  if (a.policy === null && g.ipsec_policy === null) return;
  dir
    .stmt("UPDATE gpos SET ipsec_policy = ?, version = version + 1, changed_at = ? WHERE guid = ?")
    .run(a.policy, dir.now(), g.guid);
}
