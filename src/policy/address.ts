/**
 * One side of a filter, as netsh's `srcaddr=`/`srcmask=` (or `dstaddr=`/`dstmask=`) give
 * it, parsed into an AddressSpec and formatted back. The rules (2003 `add filter` help):
 * - `me` = this computer's addresses, `any` = every address (a mask is ignored for both);
 * - an IPv4 or IPv6 address with a mask (dotted, or a prefix length), default a host mask;
 *   the address must not have bits outside the mask;
 * - a range `a-b`: both ends specific addresses of one family, a <= b, no mask;
 * - a DNS name, kept as a name and resolved when the policy is applied;
 * - a server type WINS|DNS|DHCP|GATEWAY: "if source is a server type, then dest is 'me'
 *   and vice-versa".
 * Pure: no DNS lookups.
 */
import { UsageError, assertNever } from "../errors.js";
import type { AddressSpec, IpFamily, ServerType } from "./model.js";
import { familyBits, formatIp, networkOf, parseIp, parseMask, prefixMask } from "./ip.js";

export type Side = "src" | "dst";

export const SERVER_TYPES: readonly ServerType[] = ["dns", "wins", "dhcp", "gateway"];

const KEYWORDS = new Set<string>(["me", "any", ...SERVER_TYPES]);

/** A DNS host name: dot-separated labels of letters, digits and hyphens, not all numeric. */
export function isDnsName(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  const name = text.endsWith(".") ? text.slice(0, -1) : text;
  const labels = name.split(".");
  const ok = labels.every((l) => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i.test(l));
  return ok && /[a-z_]/i.test(name) && !KEYWORDS.has(name.toLowerCase());
}

function tagOf(side: Side, what: "addr" | "mask"): string {
  return `${side}${what}`;
}

function parseRange(text: string, side: Side): AddressSpec | null {
  const dash = text.indexOf("-");
  if (dash <= 0 || text.indexOf("-", dash + 1) >= 0) return null;
  const a = parseIp(text.slice(0, dash).trim());
  const b = parseIp(text.slice(dash + 1).trim());
  if (!a && !b) return null;
  const tag = tagOf(side, "addr");
  if (!a || !b) {
    throw new UsageError(`${tag}: bad range '${text}' (both ends must be IP addresses)`);
  }
  if (a.family !== b.family) {
    throw new UsageError(`${tag}: range '${text}' mixes IPv${a.family} and IPv${b.family}`);
  }
  if (a.value > b.value) {
    throw new UsageError(`${tag}: range '${text}' ends before it starts`);
  }
  return { kind: "range", from: formatIp(a), to: formatIp(b), family: a.family };
}

/**
 * `srcaddr=10.0.0.0/24`: netsh has no CIDR in the address; the mask goes in its own tag.
 * Refused with the two tags to type instead (the prefix or the dotted mask as given).
 */
function refuseSlashPrefix(t: string, side: Side): void {
  const slash = t.indexOf("/");
  if (slash <= 0) return;
  const addr = t.slice(0, slash);
  const mask = t.slice(slash + 1);
  if (!parseIp(addr) || mask === "") return;
  const tag = tagOf(side, "addr");
  throw new UsageError(
    `${tag}: netsh takes no /prefix in the address; write ${tag}=${addr} ${tagOf(side, "mask")}=${mask}`,
  );
}

/** Parses the address alone (mask applied separately). */
export function parseAddress(text: string, side: Side): AddressSpec {
  const tag = tagOf(side, "addr");
  const t = text.trim();
  const lower = t.toLowerCase();
  if (lower === "me") return { kind: "me" };
  if (lower === "any") return { kind: "any" };
  const server = SERVER_TYPES.find((s) => s === lower);
  if (server) return { kind: "server", server };
  const ip = parseIp(t);
  if (ip) {
    const bits = familyBits(ip.family);
    return { kind: "subnet", address: formatIp(ip), prefix: bits, family: ip.family };
  }
  const range = parseRange(t, side);
  if (range) return range;
  refuseSlashPrefix(t, side);
  if (t.includes(":") || /^[\d.]+$/.test(t)) {
    throw new UsageError(`${tag}: bad IP address '${text}'`);
  }
  if (isDnsName(t)) return { kind: "dns", name: lower.replace(/\.$/, "") };
  throw new UsageError(
    `${tag}: '${text}' is not an address, range, DNS name, me, any or server type (WINS|DNS|DHCP|GATEWAY)`,
  );
}

function applyMask(spec: AddressSpec, maskText: string, side: Side): AddressSpec {
  const tag = tagOf(side, "mask");
  if (spec.kind === "range") {
    throw new UsageError(`${tag}: a mask does not apply to the range in ${tagOf(side, "addr")}`);
  }
  if (spec.kind !== "subnet") {
    // me, any, DNS names and server types ignore the mask, as 2003 does; it must still parse.
    if (parseMask(maskText, 4) === null && parseMask(maskText, 6) === null) {
      throw new UsageError(`${tag}: bad mask '${maskText}'`);
    }
    return spec;
  }
  const prefix = parseMask(maskText, spec.family);
  if (prefix === null) {
    const range = spec.family === 4 ? "a dotted mask or a prefix 0-32" : "a prefix 0-128";
    throw new UsageError(
      `${tag}: bad mask '${maskText}' for IPv${spec.family} (expected ${range})`,
    );
  }
  const ip = parseIp(spec.address);
  if (!ip) throw new UsageError(`${tagOf(side, "addr")}: bad IP address '${spec.address}'`);
  const net = networkOf(ip, prefix);
  if (net.value !== ip.value) {
    throw new UsageError(
      `${tagOf(side, "addr")}: ${spec.address} has bits outside ${tag} ${maskText} (the subnet is ${formatIp(net)})`,
    );
  }
  return { ...spec, prefix };
}

/** Parses `srcaddr=`/`srcmask=` (or dst) into one AddressSpec. */
export function parseFilterSide(addr: string, mask: string | undefined, side: Side): AddressSpec {
  const spec = parseAddress(addr, side);
  return mask === undefined ? spec : applyMask(spec, mask, side);
}

/** The rules that tie both sides: server types face `me`; `me` cannot talk to itself. */
export function checkFilterSides(src: AddressSpec, dst: AddressSpec): void {
  if (src.kind === "server" && dst.kind !== "me") {
    throw new UsageError(
      `srcaddr: server type ${src.server.toUpperCase()} needs dstaddr=me (a server type's other side is this computer)`,
    );
  }
  if (dst.kind === "server" && src.kind !== "me") {
    throw new UsageError(
      `dstaddr: server type ${dst.server.toUpperCase()} needs srcaddr=me (a server type's other side is this computer)`,
    );
  }
  if (src.kind === "me" && dst.kind === "me") {
    throw new UsageError("srcaddr and dstaddr are both 'me': a filter needs another side");
  }
}

/** The mask as netsh prints it: dotted for IPv4, a prefix length for IPv6. */
export function formatMask(prefix: number, family: IpFamily): string {
  if (family === 6) return String(prefix);
  return formatIp({ family: 4, value: prefixMask(prefix, 4) });
}

/** Back to netsh's two tags: `addr` and (for subnets only) `mask`. */
export function formatFilterSide(spec: AddressSpec): { addr: string; mask: string | null } {
  switch (spec.kind) {
    case "me":
      return { addr: "me", mask: null };
    case "any":
      return { addr: "any", mask: null };
    case "server":
      return { addr: spec.server.toUpperCase(), mask: null };
    case "dns":
      return { addr: spec.name, mask: null };
    case "range":
      return { addr: `${spec.from}-${spec.to}`, mask: null };
    case "subnet":
      return { addr: spec.address, mask: formatMask(spec.prefix, spec.family) };
    default:
      return assertNever(spec, "spec kind");
  }
}

/** One short string: `me`, `any`, `DNS`, `198.18.0.0/24`, `a-b`, `host.example`. */
export function formatAddressSpec(spec: AddressSpec): string {
  if (spec.kind === "subnet") {
    const full = spec.prefix === familyBits(spec.family);
    return full ? spec.address : `${spec.address}/${spec.prefix}`;
  }
  return formatFilterSide(spec).addr;
}

function canonicalIp(text: string, family: IpFamily, what: string): bigint | string {
  if (typeof text !== "string") return `${what}: expected a string`;
  const ip = parseIp(text);
  if (!ip) return `${what}: bad IP address '${text}'`;
  if (ip.family !== family) return `${what}: '${text}' is not IPv${family}`;
  if (formatIp(ip) !== text) return `${what}: not in canonical form (expected ${formatIp(ip)})`;
  return ip.value;
}

/**
 * Why a stored AddressSpec is not valid (for the store validator), or null. Checks what
 * parseFilterSide would have produced: canonical addresses, prefix in range with no host
 * bits, ranges in order, lower-case DNS names that are not keywords.
 */
export function addressSpecProblem(spec: AddressSpec): string | null {
  switch (spec.kind) {
    case "me":
    case "any":
      return null;
    case "server":
      return SERVER_TYPES.includes(spec.server)
        ? null
        : `server: unknown server type '${spec.server}'`;
    case "dns":
      return typeof spec.name === "string" &&
        isDnsName(spec.name) &&
        spec.name === spec.name.toLowerCase()
        ? null
        : `name: not a lower-case DNS name: ${JSON.stringify(spec.name)}`;
    case "range": {
      if (spec.family !== 4 && spec.family !== 6) return "family: expected 4 or 6";
      const a = canonicalIp(spec.from, spec.family, "from");
      if (typeof a === "string") return a;
      const b = canonicalIp(spec.to, spec.family, "to");
      if (typeof b === "string") return b;
      return a <= b ? null : `range '${spec.from}-${spec.to}' ends before it starts`;
    }
    case "subnet": {
      if (spec.family !== 4 && spec.family !== 6) return "family: expected 4 or 6";
      const v = canonicalIp(spec.address, spec.family, "address");
      if (typeof v === "string") return v;
      const bits = familyBits(spec.family);
      if (!Number.isInteger(spec.prefix) || spec.prefix < 0 || spec.prefix > bits) {
        return `prefix: expected 0-${bits}, got ${JSON.stringify(spec.prefix)}`;
      }
      if ((v & prefixMask(spec.prefix, spec.family)) !== v) {
        return `address ${spec.address} has bits outside prefix ${spec.prefix}`;
      }
      return null;
    }
    default:
      return `kind: unknown address kind ${JSON.stringify((spec as { kind: unknown }).kind)}`;
  }
}
