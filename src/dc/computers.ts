/**
 * Computer accounts: `NAME$`, dNSHostName `name.<domain>`, SPNs `host/NAME` and
 * `host/name.<domain>`, random keys with one kvno for the enctypes the account supports
 * (msDS-SupportedEncryptionTypes, default 0x18: 17 and 18), primary group Domain Computers
 * (515), enabled flag. A reset draws new keys with kvno + 1 (as a machine password change
 * does); so does `setComputerEnctypes` when the new set names an enctype without a key.
 */
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import {
  DEFAULT_SUPPORTED_ENCTYPES,
  enctypeMask,
  enctypesOf,
} from "../kerberos/kdc/etype-choice.js";
import { type Enctype, randomKeys } from "./keys.js";
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
  /** msDS-SupportedEncryptionTypes as the KDC applies it (the default when unset). */
  supportedEnctypes: number;
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

/** The enctypes an account's attribute names (default 17, 18), ascending. */
function supportedOf(dir: Directory, rid: number): Enctype[] {
  const r = dir.stmt("SELECT supported_enctypes AS m FROM objects WHERE rid = ?").get(rid) as {
    m: number | null;
  };
  return enctypesOf(r.m ?? DEFAULT_SUPPORTED_ENCTYPES).sort((a, b) => a - b) as Enctype[];
}

export function writeKeys(dir: Directory, rid: number, kvno: number): void {
  dir.stmt("DELETE FROM keys WHERE rid = ?").run(rid);
  for (const k of randomKeys(kvno, dir.deps.random, supportedOf(dir, rid))) {
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

/** The enctype names `set-enctypes` takes, as MIT's krb5.conf spells them. */
export const ENCTYPE_NAMES: Readonly<Record<string, Enctype>> = {
  "aes128-cts-hmac-sha1-96": 17,
  "aes256-cts-hmac-sha1-96": 18,
  "aes128-cts-hmac-sha256-128": 19,
  "aes256-cts-hmac-sha384-192": 20,
};

/**
 * Sets msDS-SupportedEncryptionTypes from enctype names or numbers. When the account lacks
 * a key of a named enctype, its keys are rolled (kvno + 1, new keys for exactly the set):
 * the member then needs its new keys (a join token, as after reset-key). Returns whether
 * the keys were rolled.
 */
export function setComputerEnctypes(
  dir: Directory,
  actor: string,
  name: string,
  enctypes: readonly string[],
): { rolled: boolean; kvno: number } {
  const row = computerRow(dir, name);
  const etypes = enctypes.map((e) => {
    const n = ENCTYPE_NAMES[e.toLowerCase()] ?? (/^(17|18|19|20)$/.test(e) ? Number(e) : 0);
    if (!n)
      throw new DirectoryError(
        "dc.invalid-name",
        `unknown enctype '${e}' (use ${Object.keys(ENCTYPE_NAMES).join(", ")} or 17-20)`,
      );
    return n;
  });
  if (etypes.length === 0) throw new DirectoryError("dc.invalid-name", "name at least one enctype");
  return dir.change(actor, "computer.set-enctypes", row.sam, () => {
    dir
      .stmt("UPDATE objects SET supported_enctypes = ?, changed_at = ? WHERE rid = ?")
      .run(enctypeMask(etypes), dir.now(), row.rid);
    const have = new Set(
      (dir.stmt("SELECT etype FROM keys WHERE rid = ?").all(row.rid) as { etype: number }[]).map(
        (k) => k.etype,
      ),
    );
    const kvno = currentKvno(dir, row.rid);
    if (etypes.every((e) => have.has(e))) return { rolled: false, kvno };
    writeKeys(dir, row.rid, kvno + 1);
    return { rolled: true, kvno: kvno + 1 };
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
    supportedEnctypes: enctypeMask(supportedOf(dir, row.rid)),
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
