/**
 * IP addresses as numbers, for filters and matching: parse and format IPv4/IPv6, masks and
 * prefixes. Pure; no DNS.
 */
import * as net from "node:net";
import type { IpFamily } from "./model.js";

export interface IpAddr {
  family: IpFamily;
  /** The address as an unsigned integer (32 or 128 bits). */
  value: bigint;
}

export function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** Parses a literal IPv4 or IPv6 address; null when it is not one. */
export function parseIp(text: string): IpAddr | null {
  const four = parseIp4(text);
  if (four >= 0) return { family: 4, value: BigInt(four) };
  const six = parseIp6(text);
  if (six !== null) return { family: 6, value: six };
  if (net.isIP(text) === 6) {
    let s = text;
    const zone = s.indexOf("%");
    if (zone >= 0) s = s.slice(0, zone);
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
    if (v4) {
      const n = parseIp(v4[1] as string);
      if (!n) return null;
      const hi = ((n.value >> 16n) & 0xffffn).toString(16);
      const lo = (n.value & 0xffffn).toString(16);
      s = `${s.slice(0, v4.index)}${hi}:${lo}`;
    }
    const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
    const h = head ? head.split(":") : [];
    const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
    const fill = tail === undefined ? 0 : 8 - h.length - t.length;
    const groups = [...h, ...Array<string>(fill).fill("0"), ...t];
    if (groups.length !== 8) return null;
    const v = groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
    return { family: 6, value: v };
  }
  return null;
}

/**
 * A dotted-quad IPv4 address as a 32-bit unsigned number, or -1. Accepts exactly what
 * node:net's isIPv4 accepts (four decimal octets 0-255, no leading zeros), without splitting
 * strings: the evaluator parses two addresses per packet.
 */
export function parseIp4(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // a leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/**
 * The plain IPv6 forms (hex groups, at most one "::", no zone, no IPv4 tail) as a 128-bit
 * value without a regular expression; null for anything else, which parseIp then reads the
 * slow, complete way. Accepts only text node:net's isIPv6 accepts.
 */
export function parseIp6(text: string): bigint | null {
  if (!parseIp6Words(text, WORDS, 0)) return null;
  let v = 0n;
  for (let w = 0; w < 4; w++) v = (v << 32n) | BigInt(WORDS[w] as number);
  return v;
}

/** parseIp6's scratch: written and read within one call. */
const WORDS = new Uint32Array(4);
const GROUPS = new Uint16Array(8);

/**
 * parseIp6 without a bigint: the address as four 32-bit words, most significant first, into
 * out[at..at + 3]; false (out unchanged or partly written) for what parseIp6 refuses. The
 * evaluator parses an IPv6 packet's two addresses this way, making nothing.
 */
export function parseIp6Words(text: string, out: Uint32Array, at: number): boolean {
  const n = text.length;
  if (n < 2 || n > 39) return false;
  const groups = GROUPS;
  let count = 0;
  let gap = -1; // the group index where "::" stands
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let v = 0;
    let digits = 0;
    for (; i < n && digits < 5; i++) {
      const d = hexDigit(text.charCodeAt(i));
      if (d < 0) break;
      v = v * 16 + d;
      digits++;
    }
    if (digits === 0 || digits > 4 || count === 8) return false;
    groups[count++] = v;
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === n) {
      return false;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  // Groups after the gap move to the end; the gap's groups are 0.
  const shift = gap < 0 ? 0 : 8 - count;
  for (let w = 0; w < 4; w++) out[at + w] = 0;
  for (let g = 0; g < count; g++) {
    const pos = gap < 0 || g < gap ? g : g + shift;
    const word = at + (pos >> 1);
    out[word] = (out[word] as number) | ((groups[g] as number) << (pos & 1 ? 0 : 16));
  }
  return true;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export function formatIp(a: IpAddr): string {
  if (a.family === 4) {
    const v = Number(a.value);
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((a.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

/** The mask of a prefix length, as an integer of the family's width. */
export function prefixMask(prefix: number, family: IpFamily): bigint {
  const bits = BigInt(familyBits(family));
  if (prefix <= 0) return 0n;
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/**
 * A mask given as a dotted quad (255.255.255.0) or a prefix length (24): returns the prefix
 * length, or null when the dotted mask is not contiguous or the number is out of range.
 */
export function parseMask(text: string, family: IpFamily): number | null {
  const max = familyBits(family);
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= 0 && n <= max ? n : null;
  }
  const m = parseIp(text);
  if (!m || m.family !== family) return null;
  for (let p = 0; p <= max; p++) if (prefixMask(p, family) === m.value) return p;
  return null;
}

/** The network address of `a` under a prefix. */
export function networkOf(a: IpAddr, prefix: number): IpAddr {
  return { family: a.family, value: a.value & prefixMask(prefix, a.family) };
}

export function inSubnet(a: IpAddr, net: IpAddr, prefix: number): boolean {
  return a.family === net.family && (a.value & prefixMask(prefix, a.family)) === net.value;
}

export function compareIp(a: IpAddr, b: IpAddr): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
