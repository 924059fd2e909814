/**
 * The domain's zone, read from the directory at each query (so joins, leaves and updates
 * show at once, with the SOA serial the directory bumps):
 *   <zone>                    SOA, NS <dc fqdn>, A/AAAA of the DC (AD registers these)
 *   <dc fqdn>                 A/AAAA of the DC
 *   _kerberos._udp|_tcp.<zone>, _kerberos._tcp.dc._msdcs.<zone>   SRV 0 100 <kdc port> <dc>
 *   _kpasswd._udp|_tcp.<zone>                                      SRV 0 100 464 <dc>
 *   _ldap._tcp.<zone>, _ldap._tcp.dc._msdcs.<zone>                 SRV 0 100 389 <dc>
 *   <host>.<zone>             A/AAAA rows of the directory (members, administrator's)
 * and, derived from these (no reverse zone is stored), the reverse names: PTR to the DC's
 * name, then to computers' own names (registered at join), then to the administrator's
 * names, alphabetically within each; the apex's A record gives no PTR.
 * The locator records name what a Windows client looks for; kpasswd and LDAP are not served
 * by postern yet (docs/dc.md).
 */
import type { Answer, SoaAnswer } from "dns-packet";
import { formatIp, parseIp } from "../../policy/ip.js";
import type { Directory } from "../directory.js";
import type { ZoneSource } from "./answer.js";
import { inReversePrefix, type ReverseName } from "./reverse.js";

export interface ZonePorts {
  /** Read at each query (a getter may give the port the KDC bound, e.g. after port 0). */
  readonly kdcPort: number;
}

const TTL_S = 600;
const SOA_TIMERS = { refresh: 900, retry: 600, expire: 86400, minimum: 3600 };

function addressRecord(name: string, address: string, ttl: number): Answer {
  return address.includes(":")
    ? { type: "AAAA", name, ttl, data: address }
    : { type: "A", name, ttl, data: address };
}

export function createDirectoryZone(dir: Directory, ports: ZonePorts): ZoneSource {
  const d = dir.domain();
  const origin = d.dnsName;
  const dc = d.dcHostName.toLowerCase();
  const srv = (name: string, port: number): Answer => ({
    type: "SRV",
    name,
    ttl: TTL_S,
    data: { priority: 0, weight: 100, port, target: dc },
  });
  const statics = new Map<string, Answer[]>();
  const put = (a: Answer) => statics.set(a.name, [...(statics.get(a.name) ?? []), a]);
  put({ type: "NS", name: origin, ttl: 3600, data: dc });
  put(addressRecord(origin, d.dcAddress, TTL_S));
  put(addressRecord(dc, d.dcAddress, TTL_S));
  const kdcNames = [
    `_kerberos._udp.${origin}`,
    `_kerberos._tcp.${origin}`,
    `_kerberos._tcp.dc._msdcs.${origin}`,
  ];
  for (const proto of ["_udp", "_tcp"]) put(srv(`_kpasswd.${proto}.${origin}`, 464));
  put(srv(`_ldap._tcp.${origin}`, 389));
  put(srv(`_ldap._tcp.dc._msdcs.${origin}`, 389));
  const staticNames = [...statics.keys(), ...kdcNames];
  const fixedAt = (name: string): Answer[] =>
    kdcNames.includes(name) ? [srv(name, ports.kdcPort)] : (statics.get(name) ?? []);
  const rowsAt = dir.stmt(
    "SELECT type, value, ttl FROM dns_records WHERE name = ? ORDER BY type, value",
  );
  const below = dir.stmt(
    "SELECT 1 FROM dns_records WHERE substr(lower(name), -length(@n) - 1) = '.' || @n LIMIT 1",
  );
  const soa = (): SoaAnswer => ({
    type: "SOA",
    name: origin,
    ttl: SOA_TIMERS.minimum,
    data: {
      mname: dc,
      rname: `hostmaster.${origin}`,
      serial: dir.domain().dnsSerial,
      ...SOA_TIMERS,
    },
  });
  const reverse = createReverseIndex(dir, dc, d.dcAddress);
  return {
    origin: () => origin,
    ...reverse,
    soa,
    recordsAt(name) {
      const rows = rowsAt.all(name) as { type: "A" | "AAAA"; value: string; ttl: number }[];
      const dynamic = rows.map((r): Answer => ({ type: r.type, name, ttl: r.ttl, data: r.value }));
      const fixed = fixedAt(name);
      return name === origin ? [soa(), ...fixed, ...dynamic] : [...fixed, ...dynamic];
    },
    nameExists(name) {
      if (staticNames.some((s) => s === name || s.endsWith(`.${name}`))) return true;
      return rowsAt.all(name).length > 0 || below.get({ n: name }) !== undefined;
    },
  };
}

const ptrRows = `SELECT name, ttl FROM dns_records WHERE type = ? AND value = ?
  ORDER BY owner_rid IS NULL, name`;

/** The reverse view of the zone's address records (ZoneSource.namesWithAddress, hasAddressIn). */
function createReverseIndex(
  dir: Directory,
  dc: string,
  dcAddressText: string,
): Pick<ZoneSource, "namesWithAddress" | "hasAddressIn"> {
  const dcIp = parseIp(dcAddressText);
  const dcAddress = dcIp ? formatIp(dcIp) : dcAddressText;
  const byValue = dir.stmt(ptrRows);
  const v4Under = dir.stmt("SELECT 1 FROM dns_records WHERE type = 'A' AND value LIKE ? LIMIT 1");
  const v6All = dir.stmt("SELECT value FROM dns_records WHERE type = 'AAAA'");
  return {
    namesWithAddress(address) {
      const type = address.includes(":") ? "AAAA" : "A";
      const rows = byValue.all(type, address) as { name: string; ttl: number }[];
      const out = address === dcAddress ? [{ name: dc, ttl: TTL_S }] : [];
      for (const r of rows) {
        const name = r.name.toLowerCase();
        if (!out.some((o) => o.name === name)) out.push({ name, ttl: r.ttl });
      }
      return out;
    },
    hasAddressIn(prefix: ReverseName) {
      if (dcIp && inReversePrefix(dcIp, prefix)) return true;
      if (prefix.family === 4) {
        const octets = formatIp({ family: 4, value: prefix.value }).split(".");
        const head = octets.slice(0, prefix.bits / 8).join(".");
        const pattern = prefix.bits === 0 ? "%" : prefix.bits === 32 ? head : `${head}.%`;
        return v4Under.get(pattern) !== undefined;
      }
      return (v6All.all() as { value: string }[]).some((r) => {
        const a = parseIp(r.value);
        return a !== null && inReversePrefix(a, prefix);
      });
    },
  };
}
