/**
 * DNS SRV records (RFC 2782) in the order a client must try them, and the domain's KDCs
 * and DCs built from them (the DC locator's names, MS-ADTS 6.3.2.3; RFC 4120 7.2.3.2):
 *
 *  1. a single record whose target is "." means the service is decidedly not available
 *     (no servers); otherwise records with target "." are ignored;
 *  2. identical records (same target and port) count once, with the best priority;
 *  3. lowest priority first; within a priority, a weighted random order: records of weight
 *     0 first in the list, then repeatedly a number r uniform in [0, sum of weights] picks
 *     the first record whose running sum of weights is >= r, which leaves the list
 *     (so weight 0 is chosen only rarely when others weigh more); the randomness is
 *     injected (`random`, uniform in [0, 1)), so the order is testable.
 */
import type { KdcAddress } from "../kerberos/config.js";

export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  /** A host name (lower case, no trailing dot), or "." for "no service". */
  target: string;
}

/** A server from SRV, in try order, with its addresses (A records of the target). */
export interface SrvTarget extends SrvRecord {
  addresses: string[];
}

/** Uniform in [0, 1), like Math.random. */
export type RandomFraction = () => number;

function canonical(name: string): string {
  const n = name.toLowerCase().replace(/\.$/, "");
  return n === "" ? "." : n;
}

/** The records in the order RFC 2782 says to try them (see the header). */
export function orderSrv(records: readonly SrvRecord[], random: RandomFraction): SrvRecord[] {
  const all = records.map((r) => ({ ...r, target: canonical(r.target) }));
  if (all.length === 1 && all[0]?.target === ".") return [];
  const unique = new Map<string, SrvRecord>();
  for (const r of [...all].sort((a, b) => a.priority - b.priority)) {
    if (r.target === ".") continue;
    const key = `${r.target}:${r.port}`;
    if (!unique.has(key)) unique.set(key, r);
  }
  const byPriority = new Map<number, SrvRecord[]>();
  for (const r of unique.values()) {
    byPriority.set(r.priority, [...(byPriority.get(r.priority) ?? []), r]);
  }
  const out: SrvRecord[] = [];
  for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
    out.push(...weightedOrder(byPriority.get(p) ?? [], random));
  }
  return out;
}

/** RFC 2782's selection within one priority. */
function weightedOrder(group: SrvRecord[], random: RandomFraction): SrvRecord[] {
  const left = [...group.filter((r) => r.weight === 0), ...group.filter((r) => r.weight !== 0)];
  const out: SrvRecord[] = [];
  while (left.length > 0) {
    const total = left.reduce((s, r) => s + r.weight, 0);
    const pick = Math.min(total, Math.floor(random() * (total + 1)));
    let running = 0;
    let index = left.length - 1;
    for (let i = 0; i < left.length; i++) {
      running += (left[i] as SrvRecord).weight;
      if (running >= pick) {
        index = i;
        break;
      }
    }
    out.push(...left.splice(index, 1));
  }
  return out;
}

/** `_kerberos._udp.<domain>` and `_kerberos._tcp.<domain>` (RFC 4120 7.2.3.2). */
export function kerberosSrvNames(domain: string): { udp: string; tcp: string } {
  const d = canonical(domain);
  return { udp: `_kerberos._udp.${d}`, tcp: `_kerberos._tcp.${d}` };
}

/** `_ldap._tcp.dc._msdcs.<domain>`: the domain's DCs (MS-ADTS 6.3.2.3). */
export function dcSrvName(domain: string): string {
  return `_ldap._tcp.dc._msdcs.${canonical(domain)}`;
}

/**
 * The KDC list from the two SRV answers, each already in try order: the UDP servers first
 * (over UDP, TCP after KRB_ERR_RESPONSE_TOO_BIG), then the TCP servers (over TCP), as MIT's
 * locator does; one entry per address, protocol and port; a target without an address is
 * left out.
 */
export function kdcListOf(udp: readonly SrvTarget[], tcp: readonly SrvTarget[]): KdcAddress[] {
  const out: KdcAddress[] = [];
  const seen = new Set<string>();
  const add = (t: SrvTarget, protocol: "udp" | "tcp") => {
    for (const host of t.addresses) {
      const key = `${protocol} ${host} ${t.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ host, port: t.port, protocol });
    }
  };
  for (const t of udp) add(t, "udp");
  for (const t of tcp) add(t, "tcp");
  return out;
}
