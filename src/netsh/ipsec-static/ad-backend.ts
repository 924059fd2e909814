/**
 * The domain store of an Active Directory (Windows or Samba AD): the IPsec objects of
 * [MS-GPIPSEC] under `CN=IP Security,CN=System,<domain>`, read and written through a
 * Directory (src/gpipsec/directory.ts: LDAP to a DC, or Samba's ldb tools on its database).
 *
 * - load: every object of the container decoded into one PolicyStore (all or nothing).
 * - update: the change runs on a copy; only objects whose model changed are written (an
 *   object the change left alone keeps Windows' bytes, stray padding and all); references
 *   are set after the objects exist and removed objects deleted last (directory.ts).
 * - Validation: the changed store is validated as a whole, except the security methods of
 *   objects the change did not touch: Windows' own defaults offer DES, MD5 and DH group 1,
 *   which postern refuses to *write* but must not stop an administrator from adding a rule
 *   elsewhere. A changed object must pass in full.
 * - Assignment (`set policy ... assign=yes|no gponame=G`): the GPO's IPsec link object and
 *   its extension names (src/gpipsec/gpo.ts), after the objects are written; GPT.INI's
 *   version in SYSVOL raised with the directory's when the store can reach SYSVOL.
 */
import { type Directory, readIpsecEntries, writeIpsecEntries } from "../../gpipsec/directory.js";
import {
  assignedPolicyDn,
  assignInGpo,
  findGpo,
  type GpoInfo,
  listGpos,
} from "../../gpipsec/gpo.js";
import {
  entriesFromStore,
  entryDn,
  type IpsecEntry,
  storeFromEntries,
} from "../../gpipsec/objects.js";
import type { Guid, PolicyStore } from "../../policy/model.js";
import { defaultMmSecMethods, defaultQmSecMethods } from "../../policy/secmethods.js";
import { validateStore } from "../../policy/validate.js";
import type { GpoAssignment } from "../../dc/ipsec-domain.js";
import { PosternError } from "../../errors.js";
import type { StoreBackend } from "./backend.js";

export interface AdStoreOptions {
  /** Runs `f` on an open directory (an LDAP connection is opened and closed around it). */
  session: <T>(f: (dir: Directory) => Promise<T>) => Promise<T>;
  /** `DC=example,DC=com`. */
  domainDn: string;
  /** A fresh GUID (for the objects a new policy needs beyond its own). */
  guid: () => Guid;
  /** Raises the GPO's GPT.INI version in SYSVOL and returns it (absent: directory only). */
  bumpGpt?: (gpo: GpoInfo) => Promise<number>;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The store to validate: untouched objects' security methods replaced by valid ones. */
function forValidation(before: PolicyStore, after: PolicyStore): PolicyStore {
  const v = structuredClone(after);
  for (const fa of v.filterActions) {
    const old = before.filterActions.find((x) => x.guid === fa.guid);
    if (old && same(old, fa) && fa.action === "negotiate") fa.qmSecMethods = defaultQmSecMethods();
  }
  for (const p of v.policies) {
    const old = before.policies.find((x) => x.guid === p.guid);
    if (!old) continue;
    if (same(old.mmSecMethods, p.mmSecMethods)) p.mmSecMethods = defaultMmSecMethods();
    if (same(old.defaultRule.qmSecMethods, p.defaultRule.qmSecMethods))
      p.defaultRule.qmSecMethods = defaultQmSecMethods();
  }
  return v;
}

const key = (dn: string) => dn.replace(/\s*,\s*/g, ",").toLowerCase();

/**
 * The entries to write: `after` encoded, except that an object whose encoding did not change
 * between `before` and `after` keeps the directory's current attributes (references aside).
 */
function desiredEntries(
  o: AdStoreOptions,
  current: readonly IpsecEntry[],
  before: PolicyStore,
  after: PolicyStore,
  aux: ReturnType<typeof storeFromEntries>["aux"],
): IpsecEntry[] {
  const prev = new Map(
    entriesFromStore(before, o.domainDn, aux, o.guid).entries.map((e) => [key(e.dn), e]),
  );
  const cur = new Map(current.map((e) => [key(e.dn), e]));
  const { entries } = entriesFromStore(after, o.domainDn, aux, o.guid);
  for (const e of entries) {
    const p = prev.get(key(e.dn));
    const c = cur.get(key(e.dn));
    if (!p || !c) continue;
    if (p.data.equals(e.data) && p.name === e.name && p.description === e.description) {
      e.data = c.data;
      e.name = c.name;
      e.description = c.description;
      e.negType = c.negType;
      e.negAction = c.negAction;
    }
  }
  return entries;
}

export function adBackend(o: AdStoreOptions): StoreBackend {
  const assignmentOf = async (
    dir: Directory,
    g: GpoInfo,
    store: PolicyStore,
  ): Promise<GpoAssignment> => {
    const dn = await assignedPolicyDn(dir, g);
    const p = dn
      ? store.policies.find((x) => key(entryDn("ipsecPolicy", x.guid, o.domainDn)) === key(dn))
      : undefined;
    return { gpo: g.name, guid: g.guid, policy: p ? { guid: p.guid, name: p.name } : null };
  };
  const read = async (dir: Directory) =>
    storeFromEntries(await readIpsecEntries(dir, o.domainDn)).store;
  return {
    kind: "domain",
    load: () => o.session(read),
    update: (change) =>
      o.session(async (dir) => {
        const current = await readIpsecEntries(dir, o.domainDn);
        const { store: before, aux } = storeFromEntries(current);
        const after = structuredClone(before);
        const assigns: { gpo: string; policy: Guid | null }[] = [];
        const result = change(after, { assign: (gpo, policy) => assigns.push({ gpo, policy }) });
        validateStore(forValidation(before, after), "the changed store");
        // a policy a GPO assigns cannot go (as on postern's DC): unassign it first
        const gpoList = await listGpos(dir, o.domainDn);
        for (const gone of before.policies.filter(
          (x) => !after.policies.some((y) => y.guid === x.guid),
        )) {
          const pdn = key(entryDn("ipsecPolicy", gone.guid, o.domainDn));
          for (const g of gpoList) {
            const linked = await assignedPolicyDn(dir, g);
            const unassigned = assigns.some((a) => a.policy === null && key(a.gpo) === key(g.name));
            if (linked && key(linked) === pdn && !unassigned)
              throw new PosternError(
                "dc.assigned",
                `policy '${gone.name}' is assigned to policy object '${g.name}': unassign it first (set policy name="${gone.name}" assign=no gponame="${g.name}")`,
              );
          }
        }
        // resolve the GPOs before writing anything, so a wrong name changes nothing
        const gpos = await Promise.all(assigns.map((a) => findGpo(dir, o.domainDn, a.gpo)));
        await writeIpsecEntries(dir, current, desiredEntries(o, current, before, after, aux));
        for (const [i, a] of assigns.entries()) {
          const p = a.policy === null ? undefined : after.policies.find((x) => x.guid === a.policy);
          await assignInGpo(
            dir,
            gpos[i] as GpoInfo,
            p
              ? {
                  dn: entryDn("ipsecPolicy", p.guid, o.domainDn),
                  name: p.name,
                  description: p.description,
                }
              : null,
            o.bumpGpt,
          );
        }
        return result;
      }),
    assignments: (gpo) =>
      o.session(async (dir) => {
        const store = await read(dir);
        const list =
          gpo === undefined
            ? await listGpos(dir, o.domainDn)
            : [await findGpo(dir, o.domainDn, gpo)];
        return Promise.all(list.map((g) => assignmentOf(dir, g, store)));
      }),
  };
}
