/**
 * The admin operations as the network API serves them (POST /v1/admin/<op>), stricter than
 * the local admin socket:
 *   1. the operation must exist (a Map lookup in ops.ts: `__proto__`, `constructor` are 404);
 *   2. `dump` (every key, krbtgt's included) is refused: only the root-only admin socket
 *      serves it;
 *   3. `backup` writes a new file (not an existing one, not through a link) only under the
 *      DC's home or the configured backup directory, and the file is left 0600;
 *   4. every call, served or refused, is one audit row `api.admin <op>` naming the caller
 *      and the outcome (the changes an operation makes have their own rows as well).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isPosternError } from "../../errors.js";
import { auditCall } from "../audit.js";
import type { Directory } from "../directory.js";
import { isOp, type Params, runOp } from "../ops.js";

/** Operations the network API never serves. */
const LOCAL_ONLY: ReadonlyMap<string, string> = new Map([
  [
    "dump",
    "'dump' (every key of the domain) is served only on the DC's local admin socket, to root",
  ],
]);

export class AdminRefusal extends Error {
  constructor(
    readonly status: 403 | 404 | 400,
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface AdminPolicy {
  /** The DC's home: backups may go under it. */
  home: string;
  /** A further directory backups may go to (`dc start --backup-dir`). */
  backupDir?: string | undefined;
}

function under(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The backup file as an absolute path in an allowed directory, else a refusal. */
export function allowedBackupFile(policy: AdminPolicy, file: unknown): string {
  if (typeof file !== "string" || file === "")
    throw new AdminRefusal(400, "backup needs 'file'", "dc.backup");
  if (!path.isAbsolute(file))
    throw new AdminRefusal(400, `backup file must be an absolute path, not ${file}`, "dc.backup");
  const resolved = path.join(realOrSelf(path.dirname(file)), path.basename(file));
  if (fs.existsSync(resolved) || isLink(resolved))
    throw new AdminRefusal(400, `backup to ${file} refused: it already exists`, "dc.backup");
  const roots = [policy.home, policy.backupDir].filter((r): r is string => !!r).map(realOrSelf);
  if (!roots.some((r) => under(r, resolved)))
    throw new AdminRefusal(
      403,
      `backup to ${file} refused: backups go under ${roots.join(" or ")}`,
      "dc.backup",
    );
  return resolved;
}

async function runChecked(
  dir: Directory,
  policy: AdminPolicy,
  actor: string,
  op: string,
  params: Params,
): Promise<unknown> {
  if (!isOp(op)) throw new AdminRefusal(404, `no such admin operation: ${op}`, "dc.not-found");
  const local = LOCAL_ONLY.get(op);
  if (local) throw new AdminRefusal(403, local, "dc.local-only");
  if (op !== "backup") return await runOp(dir, actor, op, params);
  const file = allowedBackupFile(policy, params.file);
  const r = await runOp(dir, actor, op, { ...params, file });
  fs.chmodSync(file, 0o600);
  return r;
}

/** One admin call from the network, audited whatever its outcome. */
export async function runNetworkAdminOp(
  dir: Directory,
  policy: AdminPolicy,
  actor: string,
  op: string,
  params: Params,
): Promise<unknown> {
  const target = op.slice(0, 64);
  try {
    const r = await runChecked(dir, policy, actor, op, params);
    auditCall(dir, actor, "api.admin", target, "served");
    return r;
  } catch (e) {
    const why =
      e instanceof AdminRefusal || isPosternError(e)
        ? `refused: ${(e as Error).message}`
        : "failed: internal error";
    auditCall(dir, actor, "api.admin", target, why.slice(0, 300));
    throw e;
  }
}
