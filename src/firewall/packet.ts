/**
 * Reads the fields pfirewall.log needs out of an IPv4 or IPv6 packet (as NFLOG copies it,
 * starting at the IP header). Pure; a truncated packet gives what it has, never throws.
 *
 * IPv4 (RFC 791): ver/ihl(1) tos(1) total length(2) ... protocol(@9) ... src(@12) dst(@16)
 * IPv6 (RFC 8200): ver(4b) ... payload length(@4,2) next header(@6) ... src(@8,16) dst(@24,16)
 * TCP (RFC 9293): sport(2) dport(2) seq(4) ack(4) offset/flags(@12,2) window(@14,2)
 * UDP (RFC 768): sport(2) dport(2);  ICMP (RFC 792/4443): type(1) code(1)
 */
import { formatIp } from "../policy/ip.js";

export interface PacketFields {
  protocol: number;
  src: string;
  dst: string;
  size: number;
  sport?: number;
  dport?: number;
  tcpFlags?: string;
  tcpSeq?: number;
  tcpAck?: number;
  tcpWin?: number;
  icmpType?: number;
  icmpCode?: number;
}

const TCP_FLAG_LETTERS: [number, string][] = [
  [0x01, "F"],
  [0x02, "S"],
  [0x04, "R"],
  [0x08, "P"],
  [0x10, "A"],
  [0x20, "U"],
];

function bytesToIp(b: Uint8Array, family: 4 | 6): string {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return formatIp({ family, value: v });
}

export function parsePacket(p: Buffer): PacketFields | null {
  if (p.length < 1) return null;
  const version = (p[0] as number) >> 4;
  let proto: number;
  let l4: number;
  let out: PacketFields;
  if (version === 4 && p.length >= 20) {
    proto = p[9] as number;
    l4 = ((p[0] as number) & 0x0f) * 4;
    const size = p.readUInt16BE(2);
    out = {
      protocol: proto,
      src: bytesToIp(p.subarray(12, 16), 4),
      dst: bytesToIp(p.subarray(16, 20), 4),
      size,
    };
  } else if (version === 6 && p.length >= 40) {
    proto = p[6] as number;
    l4 = 40;
    const size = p.readUInt16BE(4) + 40;
    out = {
      protocol: proto,
      src: bytesToIp(p.subarray(8, 24), 6),
      dst: bytesToIp(p.subarray(24, 40), 6),
      size,
    };
  } else {
    return null;
  }
  const t = p.subarray(l4);
  if ((proto === 6 || proto === 17) && t.length >= 4) {
    out.sport = t.readUInt16BE(0);
    out.dport = t.readUInt16BE(2);
  }
  if (proto === 6 && t.length >= 16) {
    const flags = t[13] as number;
    out.tcpFlags = TCP_FLAG_LETTERS.filter(([bit]) => flags & bit)
      .map(([, l]) => l)
      .join("");
    out.tcpSeq = t.readUInt32BE(4);
    out.tcpAck = t.readUInt32BE(8);
    out.tcpWin = t.readUInt16BE(14);
  }
  if ((proto === 1 || proto === 58) && t.length >= 2) {
    out.icmpType = t[0] as number;
    out.icmpCode = t[1] as number;
  }
  return out;
}
