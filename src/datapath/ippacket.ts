/**
 * Just enough of IPv4 (RFC 791) and IPv6 (RFC 8200) to steer and check packets: version,
 * addresses, protocol, header length, ports, fragment flag; and building the IPv4/IPv6
 * header that transport-mode decapsulation puts back (RFC 4303 §3.1.1: the outer header,
 * its protocol replaced by the ESP Next Header).
 *
 *  IPv4:  0      4      8             16    19            31
 *        |Version|  IHL |Type of Service|     Total Length     |
 *        |      Identification          |Flags| Fragment Offset|
 *        |  Time to Live |   Protocol   |    Header Checksum   |
 *        |                     Source Address                  |
 *        |                  Destination Address                |
 *
 * Pure functions on bytes; `parseIpPacket` returns null for anything it cannot read.
 */

export interface IpPacketInfo {
  version: 4 | 6;
  /** Views of the addresses in the packet (made when first read: the packet loops use `at`). */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** The upper-layer protocol (IPv6: the first Next Header; extension headers not walked). */
  protocol: number;
  headerBytes: number;
  /** A fragment (MF set or offset != 0): ports unknown. */
  fragment: boolean;
  /** -1 when the protocol has no ports or the packet is a fragment. */
  srcPort: number;
  dstPort: number;
  /** The packet, and where its source address starts (the destination follows it). */
  bytes: Uint8Array;
  srcAt: number;
}

/**
 * The parse result. The address views are made on demand: a view costs an allocation and a
 * runtime call per packet, and the SPD lookups read the bytes where they lie.
 */
class ParsedIp implements IpPacketInfo {
  srcPort = -1;
  dstPort = -1;
  constructor(
    readonly version: 4 | 6,
    readonly bytes: Uint8Array,
    readonly srcAt: number,
    readonly protocol: number,
    readonly headerBytes: number,
    readonly fragment: boolean,
  ) {}
  get src(): Uint8Array {
    const n = this.version === 4 ? 4 : 16;
    return this.bytes.subarray(this.srcAt, this.srcAt + n);
  }
  get dst(): Uint8Array {
    const n = this.version === 4 ? 4 : 16;
    return this.bytes.subarray(this.srcAt + n, this.srcAt + 2 * n);
  }
}

const TCP = 6;
const UDP = 17;
const SCTP = 132;

export function parseIpPacket(p: Uint8Array, length = p.length): IpPacketInfo | null {
  if (length < 1) return null;
  const version = (p[0] as number) >> 4;
  let info: IpPacketInfo;
  if (version === 4) {
    if (length < 20) return null;
    const headerBytes = ((p[0] as number) & 0x0f) * 4;
    const total = ((p[2] as number) << 8) | (p[3] as number);
    if (headerBytes < 20 || total < headerBytes || total > length) return null;
    const fragField = (((p[6] as number) << 8) | (p[7] as number)) & 0x3fff;
    info = new ParsedIp(4, p, 12, p[9] as number, headerBytes, fragField !== 0);
  } else if (version === 6) {
    if (length < 40) return null;
    info = new ParsedIp(6, p, 8, p[6] as number, 40, p[6] === 44);
  } else {
    return null;
  }
  const l4 = info.headerBytes;
  if (
    !info.fragment &&
    (info.protocol === TCP || info.protocol === UDP || info.protocol === SCTP)
  ) {
    if (length < l4 + 4) return null;
    info.srcPort = ((p[l4] as number) << 8) | (p[l4 + 1] as number);
    info.dstPort = ((p[l4 + 2] as number) << 8) | (p[l4 + 3] as number);
  }
  return info;
}

/** The 16-bit one's complement checksum of an IPv4 header (RFC 791). */
export function ipv4HeaderChecksum(h: Uint8Array, length = 20): number {
  let sum = 0;
  for (let i = 0; i < length; i += 2) sum += ((h[i] as number) << 8) | (h[i + 1] as number);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Bytes of the header writeIpHeader writes for addresses of this length. */
export const ipHeaderBytes = (src: Uint8Array): number => (src.length === 4 ? 20 : 40);

/** Writes the transport-mode header at `out[at]` for a payload of `payloadBytes` that follows it. */
export function writeIpHeader(
  out: Buffer,
  at: number,
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  payloadBytes: number,
): void {
  if (src.length === 4) {
    out[at] = 0x45;
    out[at + 1] = 0;
    out.writeUInt16BE(20 + payloadBytes, at + 2);
    out.writeUInt32BE(0, at + 4);
    out[at + 6] = 0x40; // DF, as the sender's TCP set it (path MTU discovery stays ours)
    out[at + 8] = 64;
    out[at + 9] = protocol;
    out.writeUInt16BE(0, at + 10);
    out.set(src, at + 12);
    out.set(dst, at + 16);
    out.writeUInt16BE(ipv4HeaderChecksum(out.subarray(at, at + 20)), at + 10);
    return;
  }
  out.writeUInt32BE(0x60000000, at);
  out.writeUInt16BE(payloadBytes, at + 4);
  out[at + 6] = protocol;
  out[at + 7] = 64;
  out.set(src, at + 8);
  out.set(dst, at + 24);
}

/** Header + payload for transport-mode decapsulation: src/dst from the SA, TTL 64. */
export function buildIpPacket(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  payload: Uint8Array,
): Buffer {
  const h = ipHeaderBytes(src);
  const out = Buffer.allocUnsafe(h + payload.length);
  writeIpHeader(out, 0, src, dst, protocol, payload.length);
  out.set(payload, h);
  return out;
}

/** Dotted IPv4 or RFC 4291 IPv6 text to bytes; null when it is neither. */
export function addressBytes(text: string): Uint8Array | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split(".").map(Number);
    if (parts.some((x) => x > 255)) return null;
    return Uint8Array.from(parts);
  }
  if (!text.includes(":")) return null;
  const [head = "", tail, extra] = text.split("::");
  if (extra !== undefined) return null;
  const groups = (s: string): number[] | null => {
    if (s === "") return [];
    const g = s.split(":").map((x) => (/^[0-9a-f]{1,4}$/i.test(x) ? Number.parseInt(x, 16) : -1));
    return g.includes(-1) ? null : g;
  };
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  if (h === null || t === null) return null;
  const missing = 8 - h.length - t.length;
  if ((tail === undefined && missing !== 0) || missing < 0) return null;
  const all = [...h, ...new Array<number>(missing).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((v, i) => {
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}
