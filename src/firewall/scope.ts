/**
 * Port-opening scopes: ALL, SUBNET (the subnets of this host's interfaces) and CUSTOM (a
 * comma-separated list of addresses, subnets, ranges and `LocalSubnet`, as the Group Policy
 * port exception string allows). Pure: parsing to canonical text, and to merged intervals
 * for the compiler and the evaluator.
 */
import type { IpFamily } from "../policy/model.js";
import { type IpAddr, familyBits, formatIp, parseIp, parseMask, prefixMask } from "../policy/ip.js";
import { FirewallError } from "./errors.js";

/** A closed interval of addresses of one family. */
export interface AddrInterval {
  family: IpFamily;
  from: bigint;
  to: bigint;
}

export type ScopeItem =
  | { kind: "localsubnet" }
  | { kind: "interval"; interval: AddrInterval; text: string };

function bad(item: string, why: string): never {
  throw new FirewallError("bad-address", `addresses: '${item}' ${why}`);
}

/** One element of a custom scope list: address, a/prefix, a/mask, a-b, or LocalSubnet. */
export function parseScopeItem(raw: string): ScopeItem {
  const item = raw.trim();
  if (item.toLowerCase() === "localsubnet") return { kind: "localsubnet" };
  if (item.includes("-")) {
    const [a, b] = item.split("-", 2) as [string, string];
    const x = parseIp(a.trim());
    const y = parseIp(b.trim());
    if (!x || !y) bad(item, "is not a range of two IP addresses");
    if (x.family !== y.family) bad(item, "mixes IPv4 and IPv6");
    if (x.value > y.value) bad(item, "starts after it ends");
    const interval = { family: x.family, from: x.value, to: y.value };
    return { kind: "interval", interval, text: `${formatIp(x)}-${formatIp(y)}` };
  }
  const slash = item.indexOf("/");
  const a = parseIp(slash < 0 ? item : item.slice(0, slash));
  if (!a) bad(item, "is not an IP address, subnet, range or LocalSubnet");
  if (slash < 0) {
    return {
      kind: "interval",
      interval: { family: a.family, from: a.value, to: a.value },
      text: formatIp(a),
    };
  }
  const prefix = parseMask(item.slice(slash + 1), a.family);
  if (prefix === null) bad(item, `has a bad mask (0-${familyBits(a.family)} or a dotted mask)`);
  return { kind: "interval", interval: prefixInterval(a, prefix), text: cidrText(a, prefix) };
}

export function prefixInterval(a: IpAddr, prefix: number): AddrInterval {
  const mask = prefixMask(prefix, a.family);
  const all = (1n << BigInt(familyBits(a.family))) - 1n;
  const from = a.value & mask;
  return { family: a.family, from, to: from | (all ^ mask) };
}

function cidrText(a: IpAddr, prefix: number): string {
  const net = { family: a.family, value: a.value & prefixMask(prefix, a.family) };
  return `${formatIp(net)}/${prefix}`;
}

/** Parses a comma-separated list; returns the canonical texts (duplicates removed). */
export function parseAddressList(list: string): string[] {
  const parts = list.split(",").map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === "")) {
    throw new FirewallError("bad-address", `addresses: empty element in '${list}'`);
  }
  const out: string[] = [];
  for (const p of parts) {
    const it = parseScopeItem(p);
    const text = it.kind === "localsubnet" ? "LocalSubnet" : it.text;
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/** A subnet in `a/prefix` text (from `ip -j addr`) as an interval; null if malformed. */
export function cidrInterval(cidr: string): AddrInterval | null {
  const [a, p] = cidr.split("/");
  const ip = a ? parseIp(a) : null;
  if (!ip || p === undefined) return null;
  const prefix = parseMask(p, ip.family);
  return prefix === null ? null : prefixInterval(ip, prefix);
}

/** Sorts and merges overlapping or adjacent intervals (nft rejects overlapping elements). */
export function mergeIntervals(list: readonly AddrInterval[]): AddrInterval[] {
  const sorted = [...list].sort((x, y) =>
    x.family !== y.family ? x.family - y.family : x.from < y.from ? -1 : x.from > y.from ? 1 : 0,
  );
  const out: AddrInterval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && last.family === iv.family && iv.from <= last.to + 1n) {
      if (iv.to > last.to) last.to = iv.to;
    } else {
      out.push({ ...iv });
    }
  }
  return out;
}

/** The intervals a scope admits; `null` means any address. */
export function scopeIntervals(
  scope: "all" | "subnet" | "custom",
  addresses: readonly string[],
  localSubnets: readonly string[],
): AddrInterval[] | null {
  if (scope === "all") return null;
  const local = localSubnets.map(cidrInterval).filter((x): x is AddrInterval => x !== null);
  if (scope === "subnet") return mergeIntervals(local);
  const out: AddrInterval[] = [];
  for (const a of addresses) {
    const it = parseScopeItem(a);
    if (it.kind === "localsubnet") out.push(...local);
    else out.push(it.interval);
  }
  return mergeIntervals(out);
}

export function inIntervals(ip: IpAddr, list: readonly AddrInterval[]): boolean {
  return list.some((iv) => iv.family === ip.family && ip.value >= iv.from && ip.value <= iv.to);
}

/** nft element text for an interval: `a` or `a-b`. */
export function intervalText(iv: AddrInterval): string {
  const a = formatIp({ family: iv.family, value: iv.from });
  if (iv.from === iv.to) return a;
  const size = iv.to - iv.from + 1n;
  if ((size & (size - 1n)) === 0n && (iv.from & (size - 1n)) === 0n) {
    return `${a}/${familyBits(iv.family) - (size.toString(2).length - 1)}`;
  }
  return `${a}-${formatIp({ family: iv.family, value: iv.to })}`;
}
