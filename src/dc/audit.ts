/**
 * The audit log: one row per change (who, what, when, on which object), written in the same
 * transaction as the change by Directory.change(). Rows are never updated or deleted.
 */
import type { Directory } from "./directory.js";

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

export function listAudit(dir: Directory, limit = 1000): AuditRow[] {
  const rows = dir.stmt("SELECT * FROM audit ORDER BY id DESC LIMIT ?").all(limit) as AuditRow[];
  return rows.reverse();
}

/** One audit row outside a change: a call through the network API, served or refused. */
export function auditCall(
  dir: Directory,
  actor: string,
  action: string,
  target: string,
  detail: string,
): void {
  dir
    .stmt("INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)")
    .run(dir.deps.clock().toISOString(), actor, action, target, detail);
}
