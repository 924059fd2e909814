/**
 * Finding principals by the names administrators type: `xpclient$`, `XPCLIENT`, `trusted`,
 * `Administrator`. A computer may be named with or without its trailing '$'.
 */
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import { accountSid } from "./sids.js";

export type ObjectKind = "user" | "computer" | "group" | "krbtgt";

export interface ObjectRow {
  rid: number;
  kind: ObjectKind;
  sam: string;
  description: string;
  enabled: number;
  primary_group_rid: number | null;
  created_at: string;
  changed_at: string;
}

export function findObject(dir: Directory, name: string): ObjectRow | undefined {
  const byName = dir.stmt("SELECT * FROM objects WHERE sam = ?");
  const row = byName.get(name) as ObjectRow | undefined;
  if (row || name.endsWith("$")) return row;
  const computer = byName.get(`${name}$`) as ObjectRow | undefined;
  return computer?.kind === "computer" ? computer : undefined;
}

export function getObject(dir: Directory, name: string, want?: ObjectKind): ObjectRow {
  const row = findObject(dir, name);
  if (!row || (want && row.kind !== want)) {
    throw new DirectoryError("dc.not-found", `no ${want ?? "account or group"} named '${name}'`);
  }
  return row;
}

export function objectByRid(dir: Directory, rid: number): ObjectRow | undefined {
  return dir.stmt("SELECT * FROM objects WHERE rid = ?").get(rid) as ObjectRow | undefined;
}

export function sidOf(dir: Directory, rid: number): string {
  return accountSid(dir.domainSid(), rid);
}
