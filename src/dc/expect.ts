/**
 * Policy tests on the DC's side (issue 16 item 5): the expected access matrix a GPO carries
 * (expect-matrix.ts), and what the matrix is evaluated against, as data:
 *
 *   snapshot  every computer (enabled, SID, addresses, effective groups, effective IPsec
 *             store and firewall settings), every group with its computers (nesting
 *             expanded), the zone's host records, the matrices; `revision` is the last
 *             audit row's id, so it moves with every change of the directory;
 *   preview   the snapshot before a change and the one after it, the change made inside a
 *             transaction that is then rolled back: nothing is written;
 *   commit    the change, only if the directory's revision is still the one the preview
 *             saw (else dc.conflict: the caller previews again).
 *
 * The evaluation itself (explain's core: src/policytest/) runs in the administrator's
 * CLI, above this folder: `postern policy test`, and `domain gpo set` / `netsh ... store=
 * domain`, which preview, evaluate, and commit or refuse (src/policytest/guard.ts).
 */
import type { PolicyStore } from "../policy/model.js";
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import { checkMatrix, type Expectation } from "./expect-matrix.js";
import { effectivePolicy } from "./gpo.js";
import { effectiveGroupsByRid } from "./groups.js";

export interface SnapshotComputer {
  sam: string;
  sid: string;
  enabled: boolean;
  dnsHostName: string;
  /** Its A/AAAA records (owned, or under its DNS host name). */
  addresses: string[];
  /** Its effective groups (primary group first), as its ticket's PAC carries them. */
  groups: { sid: string; name: string }[];
  ipsec: PolicyStore | null;
  ipsecFrom: string | null;
  firewall: unknown;
  firewallFrom: string | null;
}

export interface ExpectSnapshot {
  revision: number;
  domain: { dnsName: string; netbios: string; realm: string; sid: string };
  computers: SnapshotComputer[];
  /** Every group with the computers in it, nesting expanded. */
  groups: { name: string; sid: string; computers: string[] }[];
  records: { name: string; value: string }[];
  matrices: { gpo: string; rows: Expectation[] }[];
}

export interface ExpectPreview {
  before: ExpectSnapshot;
  after: ExpectSnapshot;
}

/** The changes `domain gpo set` and `netsh ... store=domain` make: the ones a preview runs. */
export const GUARDED_OPS = ["gpo.set-ipsec", "gpo.set-firewall", "ipsec.set"] as const;
export type GuardedOp = (typeof GUARDED_OPS)[number];

export function guardedOp(op: unknown): GuardedOp {
  const found = GUARDED_OPS.find((o) => o === op);
  if (found === undefined)
    throw new DirectoryError(
      "dc.policy",
      `'${String(op)}' is not a change policy tests guard (${GUARDED_OPS.join(", ")})`,
    );
  return found;
}

function gpoGuid(dir: Directory, name: string): { guid: string; name: string } {
  const row = dir
    .stmt("SELECT guid, name FROM gpos WHERE name = ? OR guid = lower(?)")
    .get(name, name.replace(/[{}]/g, "")) as { guid: string; name: string } | undefined;
  if (!row) throw new DirectoryError("dc.not-found", `no policy object named '${name}'`);
  return row;
}

export function getExpectations(dir: Directory, gpo: string): Expectation[] {
  const g = gpoGuid(dir, gpo);
  const row = dir.stmt("SELECT expect FROM gpos WHERE guid = ?").get(g.guid) as { expect: string };
  return checkMatrix(JSON.parse(row.expect), `policy object ${g.name}'s matrix`);
}

/**
 * Replaces the GPO's matrix. Its version stays: members do not apply the matrix, so a new
 * one must not make every member fetch its policy again.
 */
export function setExpectations(
  dir: Directory,
  actor: string,
  gpo: string,
  matrix: unknown,
): { gpo: string; rows: number } {
  const g = gpoGuid(dir, gpo);
  const rows = checkMatrix(matrix, "the matrix");
  dir.change(
    actor,
    "gpo.set-expect",
    g.name,
    () => {
      dir
        .stmt("UPDATE gpos SET expect = ?, changed_at = ? WHERE guid = ?")
        .run(JSON.stringify(rows), dir.now(), g.guid);
    },
    `${rows.length} rows`,
  );
  return { gpo: g.name, rows: rows.length };
}

/** The directory's revision: the id of its last audit row (every change writes one). */
export function directoryRevision(dir: Directory): number {
  return (dir.stmt("SELECT COALESCE(MAX(id), 0) AS id FROM audit").get() as { id: number }).id;
}

export function expectSnapshot(dir: Directory): ExpectSnapshot {
  const d = dir.domain();
  const records = dir
    .stmt("SELECT name, value, owner_rid FROM dns_records ORDER BY name")
    .all() as {
    name: string;
    value: string;
    owner_rid: number | null;
  }[];
  const rows = dir
    .stmt(
      "SELECT o.rid, o.sam, o.enabled, c.dns_host_name FROM objects o JOIN computers c ON c.rid = o.rid ORDER BY o.sam",
    )
    .all() as { rid: number; sam: string; enabled: number; dns_host_name: string }[];
  const members = new Map<string, string[]>();
  const computers = rows.map((r): SnapshotComputer => {
    const groups = effectiveGroupsByRid(dir, r.rid).map((g) => ({ sid: g.sid, name: g.name }));
    for (const g of groups) members.set(g.sid, [...(members.get(g.sid) ?? []), r.sam]);
    const p = effectivePolicy(dir, r.sam);
    const host = r.dns_host_name.toLowerCase();
    return {
      sam: r.sam,
      sid: `${d.sid}-${r.rid}`,
      enabled: r.enabled === 1,
      dnsHostName: r.dns_host_name,
      addresses: records
        .filter((x) => x.owner_rid === r.rid || x.name.toLowerCase() === host)
        .map((x) => x.value)
        .filter((v, i, all) => all.indexOf(v) === i),
      groups,
      ipsec: p.ipsec,
      ipsecFrom: p.ipsecFrom,
      firewall: p.firewall,
      firewallFrom: p.firewallFrom,
    };
  });
  const groups = (
    dir
      .stmt("SELECT o.rid, o.sam FROM objects o JOIN groups g ON g.rid = o.rid ORDER BY o.sam")
      .all() as { rid: number; sam: string }[]
  ).map((g) => {
    const sid = `${d.sid}-${g.rid}`;
    return { name: g.sam, sid, computers: members.get(sid) ?? [] };
  });
  const matrices = (
    dir.stmt("SELECT name, expect FROM gpos WHERE expect != '[]' ORDER BY name").all() as {
      name: string;
      expect: string;
    }[]
  ).map((m) => ({ gpo: m.name, rows: checkMatrix(JSON.parse(m.expect), `${m.name}'s matrix`) }));
  return {
    revision: directoryRevision(dir),
    domain: { dnsName: d.dnsName, netbios: d.netbios, realm: d.dnsName.toUpperCase(), sid: d.sid },
    computers,
    groups,
    records: records.map((x) => ({ name: x.name, value: x.value })),
    matrices,
  };
}

/** Thrown inside the preview's transaction to roll it back. */
const ROLLBACK = Symbol("rollback");

/**
 * The snapshot before and after `change`, which runs in a transaction rolled back at the
 * end: nothing of it stays. A change that fails throws its own error.
 */
export function previewChange(dir: Directory, change: () => unknown): ExpectPreview {
  const before = expectSnapshot(dir);
  let after: ExpectSnapshot | undefined;
  try {
    dir.db.transaction(() => {
      change();
      after = expectSnapshot(dir);
      throw ROLLBACK;
    })();
  } catch (e) {
    if (e !== ROLLBACK) throw e;
  }
  if (after === undefined) throw new Error("preview: the change left no snapshot");
  return { before, after: { ...after, revision: before.revision } };
}

/** `change`, in one transaction, only if the directory is still at `revision`. */
export function commitChecked<R>(dir: Directory, revision: unknown, change: () => R): R {
  if (typeof revision !== "number" || !Number.isSafeInteger(revision))
    throw new DirectoryError("dc.policy", "expect.commit: revision must be a whole number");
  return dir.db.transaction(() => {
    const now = directoryRevision(dir);
    if (now !== revision)
      throw new DirectoryError(
        "dc.conflict",
        `the directory changed since the policy tests ran (revision ${revision}, now ${now}): run the command again`,
      );
    return change();
  })();
}
