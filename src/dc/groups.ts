/**
 * Groups and nesting, with the membership rules of an AD domain at Windows 2000 native or
 * Windows Server 2003 functional level (one domain, so "from any domain" is this domain):
 *
 *   group scope   may contain
 *   global        users, computers, global groups
 *   universal     users, computers, global groups, universal groups
 *   domainlocal   users, computers, global, universal and domain local groups
 *
 * Where AD tolerates circular nesting, we refuse it: adding G to M is refused when M is
 * already (transitively) a member of G, or G = M. A primary group (Domain Computers for a
 * member, Domain Controllers for the DC, Domain Users for Administrator) is implicit, as in
 * AD: it is not a member row, it is listed with `primary: true`, and it cannot be removed.
 *
 * effectiveGroups(principal): the primary group and every group reached by following
 * membership upward (a recursive query), each once; this is what the KDC puts in the PAC.
 */
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import { groupName } from "./names.js";
import { getObject, type ObjectRow, objectByRid, sidOf } from "./objects.js";
import { FIRST_ALLOCATED_RID } from "./sids.js";

export type GroupScope = "global" | "domainlocal" | "universal";

export const SCOPES: readonly GroupScope[] = ["global", "domainlocal", "universal"];

export interface GroupInfo {
  name: string;
  sid: string;
  rid: number;
  scope: GroupScope;
  description: string;
  members: number;
}

export interface MemberInfo {
  name: string;
  kind: "user" | "computer" | "group" | "krbtgt";
  sid: string;
  primary: boolean;
}

export interface EffectiveGroup {
  name: string;
  sid: string;
  rid: number;
  scope: GroupScope;
}

const MAY_CONTAIN: Readonly<Record<GroupScope, readonly GroupScope[]>> = {
  global: ["global"],
  universal: ["global", "universal"],
  domainlocal: ["global", "universal", "domainlocal"],
};

export function parseScope(s: string): GroupScope {
  const v = s.toLowerCase().replace(/[\s_-]/g, "");
  if (v === "global" || v === "universal") return v;
  if (v === "domainlocal" || v === "local") return "domainlocal";
  throw new DirectoryError(
    "dc.invalid-name",
    `group scope '${s}': use global, domainlocal or universal`,
  );
}

function scopeOf(dir: Directory, rid: number): GroupScope {
  return (dir.stmt("SELECT scope FROM groups WHERE rid = ?").get(rid) as { scope: GroupScope })
    .scope;
}

export function addGroup(
  dir: Directory,
  actor: string,
  input: string,
  scope: GroupScope = "global",
  description = "",
): GroupInfo {
  const name = groupName(input);
  return dir.change(
    actor,
    "group.add",
    name,
    () => {
      if (dir.stmt("SELECT 1 FROM objects WHERE sam = ?").get(name)) {
        throw new DirectoryError(
          "dc.duplicate",
          `an account or group named '${name}' already exists`,
        );
      }
      const now = dir.now();
      const rid = dir.allocateRid();
      dir
        .stmt(
          "INSERT INTO objects (rid, kind, sam, description, enabled, created_at, changed_at) VALUES (?, 'group', ?, ?, 1, ?, ?)",
        )
        .run(rid, name, description, now, now);
      dir.stmt("INSERT INTO groups (rid, scope) VALUES (?, ?)").run(rid, scope);
      return showGroup(dir, name);
    },
    scope,
  );
}

export function deleteGroup(dir: Directory, actor: string, name: string): void {
  const g = getObject(dir, name, "group");
  if (g.rid < FIRST_ALLOCATED_RID) {
    throw new DirectoryError(
      "dc.protected",
      `'${g.sam}' is a built-in group and cannot be deleted`,
    );
  }
  dir.change(actor, "group.delete", g.sam, () => {
    dir.stmt("DELETE FROM gpo_links WHERE target_rid = ?").run(g.rid);
    dir.stmt("DELETE FROM objects WHERE rid = ?").run(g.rid);
  });
}

export function showGroup(dir: Directory, name: string): GroupInfo {
  const g = getObject(dir, name, "group");
  const n = dir.stmt("SELECT COUNT(*) AS n FROM members WHERE group_rid = ?").get(g.rid) as {
    n: number;
  };
  const p = dir
    .stmt("SELECT COUNT(*) AS n FROM objects WHERE primary_group_rid = ?")
    .get(g.rid) as { n: number };
  return {
    name: g.sam,
    sid: sidOf(dir, g.rid),
    rid: g.rid,
    scope: scopeOf(dir, g.rid),
    description: g.description,
    members: n.n + p.n,
  };
}

export function listGroups(dir: Directory): GroupInfo[] {
  const rows = dir.stmt("SELECT sam FROM objects WHERE kind = 'group' ORDER BY sam").all() as {
    sam: string;
  }[];
  return rows.map((r) => showGroup(dir, r.sam));
}

export function groupMembers(dir: Directory, name: string): MemberInfo[] {
  const g = getObject(dir, name, "group");
  const direct = dir
    .stmt(
      "SELECT o.* FROM members m JOIN objects o ON o.rid = m.member_rid WHERE m.group_rid = ? ORDER BY o.sam",
    )
    .all(g.rid) as ObjectRow[];
  const primary = dir
    .stmt("SELECT * FROM objects WHERE primary_group_rid = ? ORDER BY sam")
    .all(g.rid) as ObjectRow[];
  const info = (o: ObjectRow, isPrimary: boolean): MemberInfo => ({
    name: o.sam,
    kind: o.kind,
    sid: sidOf(dir, o.rid),
    primary: isPrimary,
  });
  return [...primary.map((o) => info(o, true)), ...direct.map((o) => info(o, false))];
}

/** RIDs of the groups `rid` belongs to, directly or through nesting (not the primary group). */
function ancestors(dir: Directory, rid: number): Set<number> {
  const rows = dir
    .stmt(
      `WITH RECURSIVE up(g) AS (
         SELECT group_rid FROM members WHERE member_rid = ?
         UNION SELECT m.group_rid FROM members m JOIN up ON m.member_rid = up.g)
       SELECT g FROM up`,
    )
    .all(rid) as { g: number }[];
  return new Set(rows.map((r) => r.g));
}

export function addMember(dir: Directory, actor: string, group: string, member: string): void {
  const g = getObject(dir, group, "group");
  const m = getObject(dir, member);
  dir.change(
    actor,
    "group.add-member",
    g.sam,
    () => {
      checkMayContain(dir, g, m);
      if (
        dir
          .stmt("SELECT 1 FROM members WHERE group_rid = ? AND member_rid = ?")
          .get(g.rid, m.rid) ||
        m.primary_group_rid === g.rid
      ) {
        throw new DirectoryError("dc.duplicate", `'${m.sam}' is already a member of '${g.sam}'`);
      }
      dir.stmt("INSERT INTO members VALUES (?, ?)").run(g.rid, m.rid);
      dir.stmt("UPDATE objects SET changed_at = ? WHERE rid = ?").run(dir.now(), g.rid);
    },
    m.sam,
  );
}

function checkMayContain(dir: Directory, g: ObjectRow, m: ObjectRow): void {
  if (m.kind === "krbtgt") {
    throw new DirectoryError("dc.membership", `'${m.sam}' cannot be a member of a group`);
  }
  if (m.kind !== "group") return;
  if (m.rid === g.rid || ancestors(dir, g.rid).has(m.rid)) {
    throw new DirectoryError(
      "dc.cycle",
      `adding '${m.sam}' to '${g.sam}' would make a nesting cycle ('${g.sam}' is already inside '${m.sam}')`,
    );
  }
  const gs = scopeOf(dir, g.rid);
  const ms = scopeOf(dir, m.rid);
  if (!MAY_CONTAIN[gs].includes(ms)) {
    throw new DirectoryError(
      "dc.membership",
      `a ${gs} group ('${g.sam}') cannot contain a ${ms} group ('${m.sam}'); allowed: ${MAY_CONTAIN[gs].join(", ")} groups`,
    );
  }
}

export function removeMember(dir: Directory, actor: string, group: string, member: string): void {
  const g = getObject(dir, group, "group");
  const m = getObject(dir, member);
  dir.change(
    actor,
    "group.remove-member",
    g.sam,
    () => {
      if (m.primary_group_rid === g.rid) {
        throw new DirectoryError(
          "dc.membership",
          `'${g.sam}' is the primary group of '${m.sam}' and cannot be removed`,
        );
      }
      const r = dir
        .stmt("DELETE FROM members WHERE group_rid = ? AND member_rid = ?")
        .run(g.rid, m.rid);
      if (r.changes === 0) {
        throw new DirectoryError("dc.not-found", `'${m.sam}' is not a member of '${g.sam}'`);
      }
      dir.stmt("UPDATE objects SET changed_at = ? WHERE rid = ?").run(dir.now(), g.rid);
    },
    m.sam,
  );
}

const EXPAND_SQL = `WITH RECURSIVE up(g) AS (
     SELECT group_rid FROM members WHERE member_rid = @rid
     UNION SELECT @pg WHERE @pg IS NOT NULL
     UNION SELECT m.group_rid FROM members m JOIN up ON m.member_rid = up.g)
   SELECT g FROM up`;

/**
 * The RIDs of every group a principal is in: its primary group first, then the groups
 * reached upward from its direct groups and its primary group, in ascending RID order,
 * each once: one recursive query on the (member_rid, group_rid) index. The KDC's path uses
 * the cached equivalent in expand.ts.
 */
export function effectiveGroupRids(
  dir: Directory,
  rid: number,
  primaryGroupRid: number | null,
): number[] {
  const found = (dir.stmt(EXPAND_SQL).all({ rid, pg: primaryGroupRid }) as { g: number }[]).map(
    (r) => r.g,
  );
  found.sort((a, b) => a - b);
  if (primaryGroupRid === null) return found;
  return [primaryGroupRid, ...found.filter((g) => g !== primaryGroupRid)];
}

/** The expanded group memberships of a principal (by RID), with names and scopes. */
export function effectiveGroupsByRid(dir: Directory, rid: number): EffectiveGroup[] {
  const o = objectByRid(dir, rid);
  const rids = effectiveGroupRids(dir, rid, o?.primary_group_rid ?? null);
  const sid = dir.domainSid();
  const info = dir.stmt(
    "SELECT o.sam, g.scope FROM objects o JOIN groups g ON g.rid = o.rid WHERE o.rid = ?",
  );
  return rids.map((r) => {
    const row = info.get(r) as { sam: string; scope: GroupScope };
    return { name: row.sam, rid: r, scope: row.scope, sid: `${sid}-${r}` };
  });
}

export function effectiveGroups(dir: Directory, name: string): EffectiveGroup[] {
  return effectiveGroupsByRid(dir, getObject(dir, name).rid);
}

export function objectName(dir: Directory, rid: number): string {
  return objectByRid(dir, rid)?.sam ?? `rid ${rid}`;
}
