/**
 * Group expansion for the KDC's path (one call per ticket): the group-in-group graph is
 * small (groups, not computers) and changes rarely, so its upward closure is kept in memory
 * and rebuilt when anything committed since (this handle's change counter, or SQLite's
 * `PRAGMA data_version` for commits by another connection, e.g. the CLI's direct path).
 * Per lookup: one indexed query for the principal's direct groups, then the union of the
 * cached closures of those groups and of its primary group. Same result as
 * effectiveGroupRids() in groups.ts (a test holds them equal).
 */
import type { Directory } from "./directory.js";

export interface GroupExpander {
  /** Primary group first, then every group reached, ascending RIDs, each once. */
  expand(rid: number, primaryGroupRid: number | null): number[];
}

export function createGroupExpander(dir: Directory): GroupExpander {
  const dataVersion = dir.stmt("PRAGMA data_version");
  const edges = dir.stmt(
    "SELECT m.member_rid AS child, m.group_rid AS parent FROM members m JOIN groups g ON g.rid = m.member_rid",
  );
  const direct = dir.stmt("SELECT group_rid AS g FROM members WHERE member_rid = ?");
  let key = "";
  let parents = new Map<number, number[]>();
  let closures = new Map<number, number[]>();

  function refresh(): void {
    const v = `${(dataVersion.get() as { data_version: number }).data_version}:${dir.changeCount()}`;
    if (v === key) return;
    key = v;
    parents = new Map();
    closures = new Map();
    for (const e of edges.all() as { child: number; parent: number }[]) {
      parents.set(e.child, [...(parents.get(e.child) ?? []), e.parent]);
    }
  }

  /** The group and every group above it (the graph has no cycles: groups.ts refuses them). */
  function closure(group: number): number[] {
    const hit = closures.get(group);
    if (hit) return hit;
    const seen = new Set<number>([group]);
    const stack = [group];
    while (stack.length > 0) {
      for (const p of parents.get(stack.pop() as number) ?? []) {
        if (!seen.has(p)) {
          seen.add(p);
          stack.push(p);
        }
      }
    }
    const out = [...seen];
    closures.set(group, out);
    return out;
  }

  return {
    expand(rid, primaryGroupRid) {
      refresh();
      const all = new Set<number>();
      const seeds = (direct.all(rid) as { g: number }[]).map((r) => r.g);
      if (primaryGroupRid !== null) seeds.push(primaryGroupRid);
      for (const g of seeds) for (const a of closure(g)) all.add(a);
      const sorted = [...all].sort((a, b) => a - b);
      return primaryGroupRid === null
        ? sorted
        : [primaryGroupRid, ...sorted.filter((g) => g !== primaryGroupRid)];
    },
  };
}
