/**
 * Reverse names (RFC 1035 3.5 IN-ADDR.ARPA, RFC 3596 2.5 IP6.ARPA), pure. The DC keeps no
 * reverse zone: a PTR query is answered from the forward zone's A/AAAA records, so a
 * member's join (which registers its A record) makes its reverse name answer at once.
 *
 *   198.18.0.30        <->  30.0.18.198.in-addr.arpa           (octets, least significant first)
 *   2001:db8::20       <->  0.2.0.0. ... .8.b.d.0.1.0.0.2.ip6.arpa  (32 nibbles, same order)
 *
 * A name with fewer labels than an address stands for a prefix (`0.18.198.in-addr.arpa` =
 * 198.18.0.0/24): it exists (an empty non-terminal, NODATA) when some address of the zone
 * lies within, else NXDOMAIN. A label that is not a canonical octet (0-255, no leading zero)
 * or nibble (one hex digit) makes the name one that cannot exist: NXDOMAIN.
 */
import { formatIp, type IpAddr, parseIp } from "../../policy/ip.js";

export const REVERSE_APEXES = ["in-addr.arpa", "ip6.arpa"] as const;
export type ReverseApex = (typeof REVERSE_APEXES)[number];

/** A reverse name: the address prefix it stands for (bits = 32/128 for a whole address). */
export interface ReverseName {
  apex: ReverseApex;
  family: 4 | 6;
  /** The prefix, left-aligned: the address with the bits below `bits` zero. */
  value: bigint;
  bits: number;
}

/** The reverse apex `name` (lower case, no trailing dot) lies under, or null. */
export function reverseApexOf(name: string): ReverseApex | null {
  for (const apex of REVERSE_APEXES) if (name === apex || name.endsWith(`.${apex}`)) return apex;
  return null;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;
const NIBBLE = /^[0-9a-f]$/;

/**
 * Parses a name under in-addr.arpa or ip6.arpa (lower case, no trailing dot) into the prefix
 * it stands for; null when it is not a reverse name or cannot name an address prefix.
 */
export function parseReverseName(name: string): ReverseName | null {
  const apex = reverseApexOf(name);
  if (!apex) return null;
  const labels = name === apex ? [] : name.slice(0, -apex.length - 1).split(".");
  const v4 = apex === "in-addr.arpa";
  const width = v4 ? 32 : 128;
  const step = v4 ? 8 : 4;
  if (labels.length * step > width) return null;
  let value = 0n;
  for (const label of labels.reverse()) {
    if (v4 ? !OCTET.test(label) || Number(label) > 255 : !NIBBLE.test(label)) return null;
    value = (value << BigInt(step)) | BigInt(Number.parseInt(label, v4 ? 10 : 16));
  }
  const bits = labels.length * step;
  return { apex, family: v4 ? 4 : 6, value: value << BigInt(width - bits), bits };
}

/** The address a whole reverse name stands for, canonical text; null for a prefix. */
export function addressOfReverseName(r: ReverseName): string | null {
  if (r.bits !== (r.family === 4 ? 32 : 128)) return null;
  return formatIp({ family: r.family, value: r.value });
}

/** `198.18.0.30` -> `30.0.18.198.in-addr.arpa`; null when `text` is not an IP address. */
export function reverseNameOf(text: string): string | null {
  const a: IpAddr | null = parseIp(text);
  if (!a) return null;
  const step = a.family === 4 ? 8 : 4;
  const count = a.family === 4 ? 4 : 32;
  const labels: string[] = [];
  for (let i = 0; i < count; i++) {
    const digit = (a.value >> BigInt(i * step)) & ((1n << BigInt(step)) - 1n);
    labels.push(digit.toString(a.family === 4 ? 10 : 16));
  }
  return `${labels.join(".")}.${a.family === 4 ? "in-addr.arpa" : "ip6.arpa"}`;
}

/** Whether `address` (parsed) lies in the prefix a reverse name stands for. */
export function inReversePrefix(address: IpAddr, r: ReverseName): boolean {
  if (address.family !== r.family) return false;
  const width = r.family === 4 ? 32 : 128;
  const shift = BigInt(width - r.bits);
  return address.value >> shift === r.value >> shift;
}
