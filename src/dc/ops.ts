/**
 * Every administrative operation by name, with its parameters as JSON. The admin CLI sends
 * `{op, params}` over the admin socket when the DC runs, or runs the same function against
 * the database itself when it does not: one code path for both.
 */
import type { PolicyStore } from "../policy/model.js";
import type { OpName } from "./api/protocol.js";
import { setAdminPassword } from "./admin-account.js";
import { listAudit } from "./audit.js";
import { backupDatabase } from "./backup.js";
import {
  addComputer,
  deleteComputer,
  listComputers,
  resetComputerKey,
  setComputerEnctypes,
  setComputerEnabled,
  showComputer,
} from "./computers.js";
import { setDelegation, showDelegation } from "./delegation.js";
import { type Directory, dumpDirectory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import {
  commitChecked,
  expectSnapshot,
  getExpectations,
  guardedOp,
  previewChange,
  setExpectations,
} from "./expect.js";
import {
  createGpo,
  deleteGpo,
  effectivePolicy,
  linkGpo,
  listGpos,
  loadDomainStore,
  saveDomainStore,
  saveFirewallSettings,
  showGpo,
  unlinkGpo,
} from "./gpo.js";
import {
  addGroup,
  addMember,
  deleteGroup,
  effectiveGroups,
  groupMembers,
  listGroups,
  parseScope,
  removeMember,
  showGroup,
} from "./groups.js";
import {
  type AssignChange,
  gpoAssignments,
  loadDomainIpsec,
  saveDomainIpsec,
} from "./ipsec-domain.js";
import { addRecord, deleteRecord, listRecords } from "./records.js";
import { issueJoinToken } from "./tokens.js";

export type Params = Record<string, unknown>;
export type Op = (dir: Directory, actor: string, p: Params) => unknown;

function str(p: Params, key: string): string {
  const v = p[key];
  if (typeof v !== "string")
    throw new DirectoryError("dc.invalid-name", `missing parameter '${key}'`);
  return v;
}

function optStr(p: Params, key: string): string | undefined {
  const v = p[key];
  return typeof v === "string" ? v : undefined;
}

const MAX_TOKEN_TTL_MS = 365 * 24 * 3600 * 1000;

/**
 * `tokenTtlMs`, checked before the operation changes anything: a whole number of ms up to a
 * year (1e20 made an invalid Date after the key was already reset: a 500).
 */
function tokenTtl(p: Params): number | undefined {
  const v = p.tokenTtlMs;
  if (v === undefined || p.joinToken !== true) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1 || v > MAX_TOKEN_TTL_MS)
    throw new DirectoryError(
      "dc.invalid-name",
      `tokenTtlMs must be a whole number of ms from 1 to ${MAX_TOKEN_TTL_MS} (a year), got ${JSON.stringify(v)}`,
    );
  return v;
}

function withToken(
  dir: Directory,
  actor: string,
  p: Params,
  name: string,
  ttl: number | undefined,
) {
  if (p.joinToken !== true) return {};
  return issueJoinToken(dir, actor, name, ttl);
}

function assignList(v: unknown): AssignChange[] {
  if (v === undefined) return [];
  const ok = (a: unknown): a is AssignChange =>
    typeof a === "object" &&
    a !== null &&
    typeof (a as AssignChange).gpo === "string" &&
    (typeof (a as AssignChange).policy === "string" || (a as AssignChange).policy === null);
  if (!Array.isArray(v) || !v.every(ok))
    throw new DirectoryError("dc.policy", "assign: expected [{gpo, policy GUID or null}]");
  return v;
}

function objectParam(v: unknown): Params {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new DirectoryError("dc.policy", "params: expected the guarded change's parameters");
  return v as Params;
}

/** audit.list's `limit`: a whole number of rows (SQLite refuses 1.5 with "datatype mismatch"). */
function auditLimit(v: unknown): number {
  if (v === undefined) return 1000;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new DirectoryError(
      "dc.invalid-name",
      `audit.list: limit must be a whole number >= 0, got ${JSON.stringify(v)}`,
    );
  return v;
}

/** The DC's side of the admin protocol: one function per OpName (api/protocol.ts). */
export const OPS: Readonly<Record<OpName, Op>> = {
  "domain.show": (dir) => dir.domain(),
  "admin.set-password": (dir, actor, p) => setAdminPassword(dir, actor, str(p, "password")),
  "computer.add": (dir, actor, p) => {
    const ttl = tokenTtl(p);
    const c = addComputer(dir, actor, str(p, "name"), optStr(p, "description"));
    return { ...c, ...withToken(dir, actor, p, c.sam, ttl) };
  },
  "computer.delete": (dir, actor, p) => deleteComputer(dir, actor, str(p, "name")),
  "computer.list": (dir) => listComputers(dir),
  "computer.show": (dir, _a, p) => showComputer(dir, str(p, "name")),
  "computer.reset-key": (dir, actor, p) => {
    const ttl = tokenTtl(p);
    const kvno = resetComputerKey(dir, actor, str(p, "name"));
    return {
      ...showComputer(dir, str(p, "name")),
      kvno,
      ...withToken(dir, actor, p, str(p, "name"), ttl),
    };
  },
  "computer.set-enctypes": (dir, actor, p) => {
    const ttl = tokenTtl(p);
    const name = str(p, "name");
    const list = str(p, "enctypes")
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e !== "");
    const { rolled } = setComputerEnctypes(dir, actor, name, list);
    return {
      ...showComputer(dir, name),
      rolled,
      ...(rolled ? withToken(dir, actor, p, name, ttl) : {}),
    };
  },
  "computer.enable": (dir, actor, p) =>
    setComputerEnabled(dir, actor, str(p, "name"), p.enabled !== false),
  "account.delegation": (dir, actor, p) => {
    const to = p.allowedToDelegateTo;
    const trusted = p.trustedToAuthForDelegation;
    const act = p.allowedToActOnBehalfOf;
    const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === "string");
    if (to !== undefined && !strings(to))
      throw new DirectoryError("dc.invalid-name", "allowedToDelegateTo must be a list of SPNs");
    if (trusted !== undefined && typeof trusted !== "boolean")
      throw new DirectoryError(
        "dc.invalid-name",
        "trustedToAuthForDelegation must be true or false",
      );
    if (act !== undefined && !strings(act))
      throw new DirectoryError(
        "dc.invalid-name",
        "allowedToActOnBehalfOf must be a list of account or group names or SIDs",
      );
    if (to === undefined && trusted === undefined && act === undefined)
      return showDelegation(dir, str(p, "name"));
    return setDelegation(dir, actor, str(p, "name"), {
      ...(to !== undefined ? { allowedToDelegateTo: to as string[] } : {}),
      ...(trusted !== undefined ? { trustedToAuthForDelegation: trusted } : {}),
      ...(act !== undefined ? { allowedToActOnBehalfOf: act as string[] } : {}),
    });
  },
  "group.add": (dir, actor, p) =>
    addGroup(
      dir,
      actor,
      str(p, "name"),
      parseScope(optStr(p, "scope") ?? "global"),
      optStr(p, "description"),
    ),
  "group.delete": (dir, actor, p) => deleteGroup(dir, actor, str(p, "name")),
  "group.list": (dir) => listGroups(dir),
  "group.show": (dir, _a, p) => showGroup(dir, str(p, "name")),
  "group.members": (dir, _a, p) => groupMembers(dir, str(p, "name")),
  "group.add-member": (dir, actor, p) => addMember(dir, actor, str(p, "group"), str(p, "member")),
  "group.remove-member": (dir, actor, p) =>
    removeMember(dir, actor, str(p, "group"), str(p, "member")),
  "effective-groups": (dir, _a, p) => effectiveGroups(dir, str(p, "name")),
  "audit.list": (dir, _a, p) => listAudit(dir, auditLimit(p.limit)),
  "dns.list": (dir) => listRecords(dir),
  "dns.add": (dir, actor, p) => addRecord(dir, actor, str(p, "name"), str(p, "address")),
  "dns.delete": (dir, actor, p) => deleteRecord(dir, actor, str(p, "name"), str(p, "address")),
  "gpo.create": (dir, actor, p) => createGpo(dir, actor, str(p, "name")),
  "gpo.delete": (dir, actor, p) => deleteGpo(dir, actor, str(p, "name")),
  "gpo.list": (dir) => listGpos(dir),
  "gpo.show": (dir, _a, p) => showGpo(dir, str(p, "name")),
  "gpo.link": (dir, actor, p) => linkGpo(dir, actor, str(p, "name"), str(p, "target")),
  "gpo.unlink": (dir, actor, p) => unlinkGpo(dir, actor, str(p, "name"), str(p, "target")),
  "gpo.get-ipsec": (dir, _a, p) => loadDomainStore(dir, str(p, "name")),
  "gpo.set-ipsec": (dir, actor, p) =>
    saveDomainStore(dir, actor, str(p, "name"), p.store as PolicyStore),
  "gpo.set-firewall": (dir, actor, p) =>
    saveFirewallSettings(dir, actor, str(p, "name"), p.settings),
  "ipsec.get": (dir) => loadDomainIpsec(dir),
  "ipsec.set": (dir, actor, p) =>
    saveDomainIpsec(dir, actor, p.store, {
      revision: typeof p.revision === "number" ? p.revision : undefined,
      assign: assignList(p.assign),
    }),
  "ipsec.assignments": (dir, _a, p) => gpoAssignments(dir, optStr(p, "name")),
  "gpo.effective": (dir, _a, p) => effectivePolicy(dir, str(p, "computer")),
  "gpo.get-expect": (dir, _a, p) => getExpectations(dir, str(p, "name")),
  "gpo.set-expect": (dir, actor, p) => setExpectations(dir, actor, str(p, "name"), p.matrix),
  "expect.snapshot": (dir) => expectSnapshot(dir),
  // a guarded change (expect.ts): made and rolled back, or made if nothing changed since
  "expect.preview": (dir, actor, p) => {
    const op = OPS[guardedOp(p.op)];
    return previewChange(dir, () => op(dir, actor, objectParam(p.params)));
  },
  "expect.commit": (dir, actor, p) => {
    const op = OPS[guardedOp(p.op)];
    return commitChecked(dir, p.revision, () => op(dir, actor, objectParam(p.params)));
  },
  dump: (dir) => dumpDirectory(dir),
  backup: async (dir, _a, p) => {
    const file = str(p, "file");
    try {
      await backupDatabase(dir.db, file);
    } catch (e) {
      throw new DirectoryError("dc.backup", `backup to ${file} failed: ${(e as Error).message}`);
    }
    return { file };
  },
};

/** The operations by name, in a Map: `__proto__` or `constructor` is no operation. */
const OP_TABLE: ReadonlyMap<string, Op> = new Map(Object.entries(OPS));

export function isOp(op: string): boolean {
  return OP_TABLE.has(op);
}

export async function runOp(
  dir: Directory,
  actor: string,
  op: string,
  params: Params,
): Promise<unknown> {
  const fn = OP_TABLE.get(op);
  if (!fn) throw new DirectoryError("dc.not-found", `unknown operation '${op}'`);
  return await fn(dir, actor, params);
}
