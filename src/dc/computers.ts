/**
 * Computer accounts: `NAME$`, dNSHostName `name.<domain>`, SPNs `host/NAME` and
 * `host/name.<domain>`, random keys for enctypes 17-20 with one kvno, primary group Domain
 * Computers (515), enabled flag. A reset draws new keys with kvno + 1 (as a machine
 * password change does).
 */
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import { randomKeys } from "./keys.js";
import { computerName } from "./names.js";
import { getObject, type ObjectRow, sidOf } from "./objects.js";
import { RID } from "./sids.js";

export interface ComputerInfo {
  name: string;
  sam: string;
  sid: string;
  rid: number;
  dnsHostName: string;
  spns: string[];
  enabled: boolean;
  isDc: boolean;
  kvno: number;
  etypes: number[];
  primaryGroup: number;
  joinedAt: string | null;
  description: string;
  createdAt: string;
}

export function addComputer(
  dir: Directory,
  actor: string,
  input: string,
  description = "",
): ComputerInfo {
  const { name, sam } = computerName(input);
  return dir.change(actor, "computer.add", sam, () => {
    if (dir.stmt("SELECT 1 FROM objects WHERE sam = ?").get(sam)) {
      throw new DirectoryError("dc.duplicate", `an account named '${sam}' already exists`);
    }
    const now = dir.now();
    const rid = dir.allocateRid();
    const fqdn = `${name}.${dir.domain().dnsName}`;
    dir
      .stmt(
        "INSERT INTO objects (rid, kind, sam, description, enabled, primary_group_rid, created_at, changed_at) VALUES (?, 'computer', ?, ?, 1, ?, ?, ?)",
      )
      .run(rid, sam, description, RID.domainComputers, now, now);
    dir.stmt("INSERT INTO computers (rid, dns_host_name) VALUES (?, ?)").run(rid, fqdn);
    for (const spn of [`host/${name.toUpperCase()}`, `host/${fqdn}`]) {
      if (dir.stmt("SELECT 1 FROM spns WHERE spn = ?").get(spn)) {
        throw new DirectoryError("dc.duplicate", `the SPN '${spn}' is already registered`);
      }
      dir.stmt("INSERT INTO spns VALUES (?, ?)").run(spn, rid);
    }
    writeKeys(dir, rid, 1);
    return showComputer(dir, sam);
  });
}

export function writeKeys(dir: Directory, rid: number, kvno: number): void {
  dir.stmt("DELETE FROM keys WHERE rid = ?").run(rid);
  for (const k of randomKeys(kvno, dir.deps.random)) {
    dir.stmt("INSERT INTO keys VALUES (?, ?, ?, ?)").run(rid, k.etype, k.kvno, Buffer.from(k.key));
  }
}

function computerRow(dir: Directory, name: string): ObjectRow {
  return getObject(dir, name.endsWith("$") ? name : `${name}$`, "computer");
}

export function deleteComputer(dir: Directory, actor: string, name: string): void {
  const row = computerRow(dir, name);
  if (row.rid === dir.domain().dcRid) {
    throw new DirectoryError("dc.protected", `'${row.sam}' is this domain controller's account`);
  }
  dir.change(actor, "computer.delete", row.sam, () => {
    dir.stmt("DELETE FROM objects WHERE rid = ?").run(row.rid);
    dir.bumpDnsSerial();
  });
}

/** New random keys with kvno + 1; returns the new kvno. */
export function resetComputerKey(dir: Directory, actor: string, name: string): number {
  const row = computerRow(dir, name);
  return dir.change(actor, "computer.reset-key", row.sam, () => {
    const kvno = currentKvno(dir, row.rid) + 1;
    writeKeys(dir, row.rid, kvno);
    dir.stmt("UPDATE objects SET changed_at = ? WHERE rid = ?").run(dir.now(), row.rid);
    return kvno;
  });
}

export function setComputerEnabled(
  dir: Directory,
  actor: string,
  name: string,
  enabled: boolean,
): void {
  const row = computerRow(dir, name);
  dir.change(actor, enabled ? "computer.enable" : "computer.disable", row.sam, () => {
    dir
      .stmt("UPDATE objects SET enabled = ?, changed_at = ? WHERE rid = ?")
      .run(enabled ? 1 : 0, dir.now(), row.rid);
  });
}

export function currentKvno(dir: Directory, rid: number): number {
  const r = dir.stmt("SELECT MAX(kvno) AS kvno FROM keys WHERE rid = ?").get(rid) as {
    kvno: number | null;
  };
  return r.kvno ?? 0;
}

export function showComputer(dir: Directory, name: string): ComputerInfo {
  const row = computerRow(dir, name);
  const c = dir.stmt("SELECT * FROM computers WHERE rid = ?").get(row.rid) as {
    dns_host_name: string;
    is_dc: number;
    joined_at: string | null;
  };
  const spns = (
    dir.stmt("SELECT spn FROM spns WHERE rid = ? ORDER BY spn").all(row.rid) as { spn: string }[]
  ).map((s) => s.spn);
  const etypes = (
    dir.stmt("SELECT etype FROM keys WHERE rid = ? ORDER BY etype").all(row.rid) as {
      etype: number;
    }[]
  ).map((k) => k.etype);
  return {
    name: row.sam.slice(0, -1),
    sam: row.sam,
    sid: sidOf(dir, row.rid),
    rid: row.rid,
    dnsHostName: c.dns_host_name,
    spns,
    enabled: row.enabled === 1,
    isDc: c.is_dc === 1,
    kvno: currentKvno(dir, row.rid),
    etypes,
    primaryGroup: row.primary_group_rid ?? RID.domainComputers,
    joinedAt: c.joined_at,
    description: row.description,
    createdAt: row.created_at,
  };
}

export function listComputers(dir: Directory): ComputerInfo[] {
  const rows = dir.stmt("SELECT sam FROM objects WHERE kind = 'computer' ORDER BY sam").all() as {
    sam: string;
  }[];
  return rows.map((r) => showComputer(dir, r.sam));
}
