/**
 * ipseccmd's filter specification (XP SP2 Support Tools), parsed into policy model filters.
 *
 *   SRC=DST or SRC+DST          `=` one direction, `+` mirrored (a filter each way)
 *   SRC  := ADDR[/MASK][:PORT]
 *   DST  := ADDR[/MASK][:PORT][:PROTO]   (`::PROTO` when there is no port)
 *   ADDR := 0 (this computer, netsh's "me") | * (any address) | A.B.C.D | DNS name
 *   MASK := A.B.C.D or a prefix length 0-32 (default 255.255.255.255, a host)
 *   PORT := 0-65535 (missing or 0 = any port; only with TCP or UDP)
 *   PROTO:= TCP | UDP | ICMP | RAW | 0-255 (missing = any protocol)
 * A spec in parentheses, `(SPEC)`, is a pass-through filter (permit); in brackets, `[SPEC]`,
 * a blocking filter. Pure: text in, records out; every error names `-f` and the spec.
 */
import { UsageError } from "../../errors.js";
import { checkFilterSides, parseFilterSide, type Side } from "../../policy/address.js";
import { parseIp } from "../../policy/ip.js";
import type { AddressSpec, Filter } from "../../policy/model.js";

export type FilterKind = "negotiate" | "permit" | "block";

export interface SpecFilter {
  kind: FilterKind;
  filter: Filter;
}

const PROTOCOLS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1, raw: 255 };

function fail(spec: string, why: string): never {
  throw new UsageError(`-f: filter '${spec}': ${why}`);
}

function parseAddr(text: string, mask: string | undefined, side: Side, spec: string): AddressSpec {
  const which = side === "src" ? "source" : "destination";
  if (text === "") fail(spec, `no ${which} address (use 0 for this computer, * for any)`);
  if (text === "0" || text === "*") {
    if (mask !== undefined) fail(spec, `${which} '${text}' takes no mask`);
    return { kind: text === "0" ? "me" : "any" };
  }
  if (/^(me|any)$/i.test(text))
    fail(spec, `${which} '${text}' is netsh's spelling; ipseccmd writes 0 for me and * for any`);
  let a: AddressSpec;
  try {
    a = parseFilterSide(text, mask, side);
  } catch (e) {
    if (e instanceof UsageError) fail(spec, e.message.replace(/^(src|dst)(addr|mask): /, ""));
    throw e;
  }
  if (a.kind === "range" || a.kind === "server")
    fail(spec, `${which} '${text}' is netsh syntax (ranges, server types); use netsh for it`);
  return a;
}

function parsePort(text: string | undefined, side: Side, spec: string): number {
  if (text === undefined || text === "") return 0;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535)
    fail(spec, `${side === "src" ? "source" : "destination"} port '${text}' is not 0-65535`);
  return Number(text);
}

function parseProto(text: string | undefined, spec: string): number {
  if (text === undefined || text === "") return 0;
  const named = PROTOCOLS[text.toLowerCase()];
  if (named !== undefined) return named;
  if (/^\d{1,3}$/.test(text) && Number(text) <= 255) return Number(text);
  fail(spec, `protocol '${text}' is not TCP, UDP, ICMP, RAW or 0-255`);
}

interface Half {
  addr: string;
  mask?: string;
  port?: string;
  proto?: string;
}

function splitHalf(text: string, side: Side, spec: string): Half {
  const addrPart = text.split("/")[0] as string;
  if (addrPart.split(":").length > 2 && parseIp(addrPart)?.family === 6)
    fail(spec, `'${addrPart}': IPv6 is not part of ipseccmd's syntax; use netsh ipsec static`);
  const parts = text.split(":");
  const max = side === "src" ? 2 : 3;
  if (parts.length > max) {
    fail(
      spec,
      side === "src"
        ? `source '${text}' has more than ADDR/MASK:PORT (the protocol goes after the destination)`
        : `destination '${text}' has more than ADDR/MASK:PORT:PROTOCOL (IPv6 is not part of ipseccmd's syntax)`,
    );
  }
  const [addrMask = "", port, proto] = parts;
  const slash = addrMask.indexOf("/");
  const half: Half = { addr: slash < 0 ? addrMask : addrMask.slice(0, slash) };
  if (slash >= 0) {
    half.mask = addrMask.slice(slash + 1);
    if (half.mask === "") fail(spec, `empty mask after '${half.addr}/'`);
  }
  if (port !== undefined) half.port = port;
  if (proto !== undefined) half.proto = proto;
  return half;
}

/** Parses one filter spec: `0+*`, `*=0:80:TCP`, `(10.0.0.0/8+0)`, `[0+*::ICMP]`, ... */
export function parseFilterSpec(text: string): SpecFilter {
  let body = text.trim();
  let kind: FilterKind = "negotiate";
  if (body.startsWith("(") || body.startsWith("[")) {
    const close = body.startsWith("(") ? ")" : "]";
    if (!body.endsWith(close)) fail(text, `'${body[0]}' is not closed by '${close}'`);
    kind = close === ")" ? "permit" : "block";
    body = body.slice(1, -1).trim();
  }
  const ops = [...body].filter((c) => c === "=" || c === "+");
  if (ops.length !== 1) {
    fail(
      text,
      ops.length === 0
        ? "expected SRC=DST (one way) or SRC+DST (mirrored)"
        : "more than one '=' or '+'",
    );
  }
  const op = ops[0] as string;
  const [srcText, dstText] = body.split(op) as [string, string];
  const s = splitHalf(srcText, "src", text);
  const d = splitHalf(dstText, "dst", text);
  const src = parseAddr(s.addr, s.mask, "src", text);
  const dst = parseAddr(d.addr, d.mask, "dst", text);
  try {
    checkFilterSides(src, dst);
  } catch (e) {
    if (e instanceof UsageError) fail(text, "source and destination are both 0 (this computer)");
    throw e;
  }
  const protocol = parseProto(d.proto, text);
  const srcPort = parsePort(s.port, "src", text);
  const dstPort = parsePort(d.port, "dst", text);
  if ((srcPort !== 0 || dstPort !== 0) && protocol !== 6 && protocol !== 17)
    fail(text, "a port needs protocol TCP or UDP (write it after the destination: ...:80:TCP)");
  return {
    kind,
    filter: { description: "", src, dst, protocol, srcPort, dstPort, mirrored: op === "+" },
  };
}

/** Parses `-f`'s list: specs separated by blanks, in one or several arguments. */
export function parseFilterList(words: readonly string[]): SpecFilter[] {
  const specs = words.flatMap((w) => w.split(/\s+/)).filter((w) => w !== "");
  if (specs.length === 0) throw new UsageError("-f: needs at least one filter spec, e.g. 0+*");
  return specs.map(parseFilterSpec);
}
