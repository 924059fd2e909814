/**
 * The flow a trace is about, as the command line gives it (`--src --dst --proto --sport
 * --dport`): parsed once here for `postern explain` and its policy step `postern ipsec
 * explain`. Bad input is a UsageError of one line (exit 2).
 */
import { UsageError } from "../errors.js";
import type { Packet } from "../policy/evaluate.js";
import { parseIp } from "../policy/ip.js";

export const PROTOCOLS: Readonly<Record<string, number>> = {
  any: 0,
  icmp: 1,
  tcp: 6,
  udp: 17,
  raw: 255,
};

export type Flow = Required<Packet>;

export function protocolName(n: number): string {
  return Object.entries(PROTOCOLS).find(([, v]) => v === n)?.[0] ?? String(n);
}

export function parseProtocol(text: string): number {
  const known = PROTOCOLS[text.toLowerCase()];
  if (known !== undefined) return known;
  if (/^\d{1,3}$/.test(text) && Number(text) <= 255) return Number(text);
  throw new UsageError(`--proto: "${text}" is not tcp, udp, icmp, any, raw or a number 0-255`);
}

export function parsePort(flag: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`${flag}: "${text}" is not a port number 0-65535`);
  }
  return Number(text);
}

export function parseAddress(flag: string, text: string): string {
  if (!parseIp(text)) throw new UsageError(`${flag}: "${text}" is not an IPv4 or IPv6 address`);
  return text;
}

/** The flow of `--src --dst --proto [--sport] [--dport]`; `cmd` names the command in errors. */
export function parseFlow(
  cmd: string,
  o: { src?: string; dst?: string; proto?: string; sport?: string; dport?: string },
): Flow {
  if (o.src === undefined) throw new UsageError(`${cmd}: --src ADDRESS is required`);
  if (o.dst === undefined) throw new UsageError(`${cmd}: --dst ADDRESS is required`);
  if (o.proto === undefined) throw new UsageError(`${cmd}: --proto is required`);
  const src = parseAddress("--src", o.src);
  const dst = parseAddress("--dst", o.dst);
  if (parseIp(src)?.family !== parseIp(dst)?.family) {
    throw new UsageError(`${cmd}: --src and --dst must both be IPv4 or both IPv6`);
  }
  const protocol = parseProtocol(o.proto);
  if ((o.sport !== undefined || o.dport !== undefined) && protocol !== 6 && protocol !== 17) {
    throw new UsageError(`${cmd}: --sport and --dport apply to tcp and udp only`);
  }
  return {
    src,
    dst,
    protocol,
    srcPort: o.sport === undefined ? 0 : parsePort("--sport", o.sport),
    dstPort: o.dport === undefined ? 0 : parsePort("--dport", o.dport),
  };
}

export function portText(n: number): string {
  return n === 0 ? "any" : String(n);
}
