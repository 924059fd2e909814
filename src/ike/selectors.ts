/**
 * Traffic selectors (RFC 7296 §2.9): building them from addresses and narrowing an offer
 * against policy. A selector is a (protocol, port range, address range) box; narrowing
 * intersects every offered box with every allowed box and keeps the non-empty ones.
 */
import { formatIp, parseIp } from "../policy/ip.js";
import { TsType } from "./constants.js";
import { IkeError } from "./errors.js";
import type { TrafficSelector } from "./payloads/ts.js";

function addrBytes(value: bigint, family: 4 | 6): Buffer {
  const n = family === 4 ? 4 : 16;
  const b = Buffer.alloc(n);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

function toBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/** "10.0.0.0/24", "10.0.0.1" (host), "0.0.0.0/0"; protocol 0 = any, port 0 = any. */
export function selectorFromCidr(cidr: string, protocol = 0, port = 0): TrafficSelector {
  const [addr, prefixText] = cidr.split("/");
  const ip = parseIp(addr ?? "");
  if (!ip) throw new IkeError("config", `traffic selector: "${cidr}" is not an address or subnet`);
  const bits = ip.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
    throw new IkeError("config", `traffic selector: prefix in "${cidr}" is not 0-${bits}`);
  }
  const host = (1n << BigInt(bits - prefix)) - 1n;
  const start = ip.value & ~host & ((1n << BigInt(bits)) - 1n);
  return {
    tsType: ip.family === 4 ? TsType.IPV4_ADDR_RANGE : TsType.IPV6_ADDR_RANGE,
    ipProtocol: protocol,
    startPort: port,
    endPort: port === 0 ? 0xffff : port,
    startAddr: addrBytes(start, ip.family),
    endAddr: addrBytes(start | host, ip.family),
  };
}

/** Intersection of two selectors, or null when empty. */
export function intersect(a: TrafficSelector, b: TrafficSelector): TrafficSelector | null {
  if (a.tsType !== b.tsType) return null;
  if (a.ipProtocol !== 0 && b.ipProtocol !== 0 && a.ipProtocol !== b.ipProtocol) return null;
  const startPort = Math.max(a.startPort, b.startPort);
  const endPort = Math.min(a.endPort, b.endPort);
  if (startPort > endPort) return null;
  const s = Buffer.compare(a.startAddr, b.startAddr) >= 0 ? a.startAddr : b.startAddr;
  const e = Buffer.compare(a.endAddr, b.endAddr) <= 0 ? a.endAddr : b.endAddr;
  if (Buffer.compare(s, e) > 0) return null;
  return {
    tsType: a.tsType,
    ipProtocol: a.ipProtocol || b.ipProtocol,
    startPort,
    endPort,
    startAddr: Buffer.from(s),
    endAddr: Buffer.from(e),
  };
}

/** Narrows `offered` to `allowed` (§2.9): every non-empty pairwise intersection. */
export function narrow(
  offered: readonly TrafficSelector[],
  allowed: readonly TrafficSelector[],
): TrafficSelector[] {
  const out: TrafficSelector[] = [];
  for (const o of offered) {
    for (const a of allowed) {
      const x = intersect(o, a);
      if (x && !out.some((y) => selectorText(y) === selectorText(x))) out.push(x);
    }
  }
  return out;
}

/** True when every selector of `inner` lies inside some selector of `outer`. */
export function within(
  inner: readonly TrafficSelector[],
  outer: readonly TrafficSelector[],
): boolean {
  return inner.every((i) =>
    outer.some((o) => {
      const x = intersect(i, o);
      return x !== null && selectorText(x) === selectorText(i);
    }),
  );
}

/** "10.0.0.1-10.0.0.1 proto 0 ports 0-65535", or CIDR when it is one. */
export function selectorText(s: TrafficSelector): string {
  const family = s.tsType === TsType.IPV4_ADDR_RANGE ? 4 : 6;
  const a = formatIp({ family, value: toBig(s.startAddr) });
  const bits = family === 4 ? 32 : 128;
  const span = toBig(s.endAddr) - toBig(s.startAddr) + 1n;
  let range: string;
  const log2 = span.toString(2).length - 1;
  if (span === 1n << BigInt(log2) && (toBig(s.startAddr) & (span - 1n)) === 0n)
    range = `${a}/${bits - log2}`;
  else range = `${a}-${formatIp({ family, value: toBig(s.endAddr) })}`;
  const anyPort = s.startPort === 0 && s.endPort === 0xffff;
  if (s.ipProtocol === 0 && anyPort) return range;
  const ports = anyPort
    ? ""
    : s.startPort === s.endPort
      ? `${s.startPort}`
      : `${s.startPort}-${s.endPort}`;
  return `${range}[${s.ipProtocol}/${ports}]`;
}
