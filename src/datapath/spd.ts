/**
 * The data path's security policy database: compiled traffic selectors and the lookup the
 * packet loops run (outbound: which SA protects this packet; inbound: does the opened
 * packet fit the SA it came on, RFC 4301 §5.2 step 4). Byte-prefix matching works for IPv4
 * and IPv6 without bigints per packet.
 *
 * Kept simple on purpose: the Windows filter semantics (weights, mirrored filters, actions)
 * are src/policy/evaluate.ts's job; what reaches this table is already "protect these
 * selectors with this SA". Entries are ordered most specific first.
 */
import type { TrafficSelector } from "../esp/sa.js";
import { addressBytes, type IpPacketInfo } from "./ippacket.js";

export interface Prefix {
  bytes: Uint8Array;
  bits: number;
}

export interface CompiledSelector {
  local: Prefix;
  remote: Prefix;
  protocol: number;
  localPorts: [number, number];
  remotePorts: [number, number];
}

/** "10.0.0.0/24", "10.0.0.1" (host), "fd00::/64"; null when unreadable. */
export function parsePrefix(text: string): Prefix | null {
  const [addr = "", len] = text.split("/");
  const bytes = addressBytes(addr);
  if (bytes === null) return null;
  const max = bytes.length * 8;
  const bits = len === undefined ? max : Number(len);
  if (
    !Number.isInteger(bits) ||
    bits < 0 ||
    bits > max ||
    (len !== undefined && !/^\d+$/.test(len))
  )
    return null;
  return { bytes, bits };
}

export function prefixContains(p: Prefix, addr: Uint8Array): boolean {
  return prefixContainsAt(p, addr, 0, addr.length);
}

/** prefixContains for the `length`-byte address at bytes[at] (no view per packet). */
function prefixContainsAt(p: Prefix, bytes: Uint8Array, at: number, length: number): boolean {
  if (length !== p.bytes.length) return false;
  const whole = p.bits >> 3;
  for (let i = 0; i < whole; i++) if (bytes[at + i] !== p.bytes[i]) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((bytes[at + whole] as number) & mask) === ((p.bytes[whole] as number) & mask);
}

export function compileSelector(ts: TrafficSelector): CompiledSelector | null {
  const local = parsePrefix(ts.local);
  const remote = parsePrefix(ts.remote);
  if (local === null || remote === null || local.bytes.length !== remote.bytes.length) return null;
  return {
    local,
    remote,
    protocol: ts.protocol,
    localPorts: ts.localPorts,
    remotePorts: ts.remotePorts,
  };
}

const inRange = (port: number, r: [number, number]): boolean =>
  (r[0] === 0 && r[1] === 65535) || (port >= r[0] && port <= r[1]);

/** Outbound: local = source; inbound (opened packet): local = destination. */
export function selectorMatches(s: CompiledSelector, p: IpPacketInfo, outbound: boolean): boolean {
  const n = p.version === 4 ? 4 : 16;
  const localAt = outbound ? p.srcAt : p.srcAt + n;
  const remoteAt = outbound ? p.srcAt + n : p.srcAt;
  if (
    !prefixContainsAt(s.local, p.bytes, localAt, n) ||
    !prefixContainsAt(s.remote, p.bytes, remoteAt, n)
  )
    return false;
  if (s.protocol !== 0 && s.protocol !== p.protocol) return false;
  const anyPorts =
    s.localPorts[0] === 0 &&
    s.localPorts[1] === 65535 &&
    s.remotePorts[0] === 0 &&
    s.remotePorts[1] === 65535;
  if (anyPorts) return true;
  if (p.srcPort < 0) return false;
  const localPort = outbound ? p.srcPort : p.dstPort;
  const remotePort = outbound ? p.dstPort : p.srcPort;
  return inRange(localPort, s.localPorts) && inRange(remotePort, s.remotePorts);
}

export interface SpdEntry<T> {
  selector: CompiledSelector;
  target: T;
}

export interface Spd<T> {
  /** The first (most specific) entry whose selector matches an outbound packet. */
  lookup(p: IpPacketInfo): T | null;
  add(selector: CompiledSelector, target: T): void;
  removeWhere(pred: (target: T) => boolean): void;
  size(): number;
}

const specificity = (s: CompiledSelector): number =>
  s.local.bits +
  s.remote.bits +
  (s.protocol !== 0 ? 1 : 0) +
  (s.remotePorts[0] === s.remotePorts[1] ? 1 : 0);

export function createSpd<T>(): Spd<T> {
  let entries: SpdEntry<T>[] = [];
  return {
    lookup(p) {
      for (const e of entries) if (selectorMatches(e.selector, p, true)) return e.target;
      return null;
    },
    add(selector, target) {
      entries.push({ selector, target });
      entries.sort((a, b) => specificity(b.selector) - specificity(a.selector));
    },
    removeWhere(pred) {
      entries = entries.filter((e) => !pred(e.target));
    },
    size: () => entries.length,
  };
}
