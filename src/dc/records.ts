/**
 * The zone's dynamic host records: A/AAAA rows owned by a computer (registered at join or by
 * the machine's update through the API) or by nobody (added by the administrator). The SOA
 * serial goes up with every change.
 */
import { formatIp, parseIp } from "../policy/ip.js";
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import { getObject } from "./objects.js";

export const HOST_TTL_S = 1200;

export interface HostRecord {
  name: string;
  type: "A" | "AAAA";
  value: string;
  ttl: number;
  owner: string | null;
}

export function normalizeAddress(text: string): { type: "A" | "AAAA"; value: string } {
  const ip = parseIp(text);
  if (!ip) throw new DirectoryError("dc.dns", `'${text}' is not an IPv4 or IPv6 address`);
  return { type: ip.family === 4 ? "A" : "AAAA", value: formatIp(ip) };
}

/** Inside a change: the computer's records become exactly this address. */
export function replaceOwnedAddress(
  dir: Directory,
  rid: number,
  fqdn: string,
  address: string,
): void {
  const a = normalizeAddress(address);
  dir.stmt("DELETE FROM dns_records WHERE owner_rid = ? AND type = ?").run(rid, a.type);
  dir
    .stmt("DELETE FROM dns_records WHERE name = ? AND type = ? AND value = ?")
    .run(fqdn, a.type, a.value);
  dir
    .stmt("INSERT INTO dns_records VALUES (?, ?, ?, ?, ?)")
    .run(fqdn, a.type, a.value, HOST_TTL_S, rid);
  dir.bumpDnsSerial();
}

/** A machine updating its own record (the API checked who it is). */
export function updateOwnAddress(
  dir: Directory,
  actor: string,
  sam: string,
  address: string,
): HostRecord {
  const o = getObject(dir, sam, "computer");
  const fqdn = (
    dir.stmt("SELECT dns_host_name FROM computers WHERE rid = ?").get(o.rid) as {
      dns_host_name: string;
    }
  ).dns_host_name;
  const a = normalizeAddress(address);
  dir.change(
    actor,
    "dns.update",
    fqdn,
    () => replaceOwnedAddress(dir, o.rid, fqdn, address),
    a.value,
  );
  return { name: fqdn, type: a.type, value: a.value, ttl: HOST_TTL_S, owner: o.sam };
}

function inZone(dir: Directory, name: string): string {
  const zone = dir.domain().dnsName;
  const n = name.toLowerCase().replace(/\.$/, "");
  const fq = n === zone || n.endsWith(`.${zone}`) ? n : `${n}.${zone}`;
  if (!/^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]+$/.test(fq)) {
    throw new DirectoryError("dc.dns", `'${name}' is not a valid host name`);
  }
  return fq;
}

export function addRecord(
  dir: Directory,
  actor: string,
  name: string,
  address: string,
): HostRecord {
  const fq = inZone(dir, name);
  const a = normalizeAddress(address);
  return dir.change(
    actor,
    "dns.add",
    fq,
    () => {
      if (
        dir
          .stmt("SELECT 1 FROM dns_records WHERE name = ? AND type = ? AND value = ?")
          .get(fq, a.type, a.value)
      ) {
        throw new DirectoryError("dc.duplicate", `${fq} ${a.type} ${a.value} already exists`);
      }
      dir
        .stmt("INSERT INTO dns_records VALUES (?, ?, ?, ?, NULL)")
        .run(fq, a.type, a.value, HOST_TTL_S);
      dir.bumpDnsSerial();
      return { name: fq, type: a.type, value: a.value, ttl: HOST_TTL_S, owner: null };
    },
    a.value,
  );
}

export function deleteRecord(dir: Directory, actor: string, name: string, address: string): void {
  const fq = inZone(dir, name);
  const a = normalizeAddress(address);
  dir.change(
    actor,
    "dns.delete",
    fq,
    () => {
      const r = dir
        .stmt("DELETE FROM dns_records WHERE name = ? AND type = ? AND value = ?")
        .run(fq, a.type, a.value);
      if (r.changes === 0)
        throw new DirectoryError("dc.not-found", `no record ${fq} ${a.type} ${a.value}`);
      dir.bumpDnsSerial();
    },
    a.value,
  );
}

export function listRecords(dir: Directory): HostRecord[] {
  const rows = dir
    .stmt(
      "SELECT r.*, o.sam FROM dns_records r LEFT JOIN objects o ON o.rid = r.owner_rid ORDER BY r.name, r.type, r.value",
    )
    .all() as {
    name: string;
    type: "A" | "AAAA";
    value: string;
    ttl: number;
    sam: string | null;
  }[];
  return rows.map((r) => ({
    name: r.name,
    type: r.type,
    value: r.value,
    ttl: r.ttl,
    owner: r.sam,
  }));
}
