/**
 * The Authentication Header (RFC 4302 §2), IPv4, carried over a raw IP socket (protocol
 * 51) with IP_HDRINCL so the header we authenticate is the header that is sent:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Header   |  Payload Len  |          RESERVED             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Security Parameters Index (SPI)               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Sequence Number Field                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * +                Integrity Check Value-ICV (variable)           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Payload Len = AH length in 32-bit words - 2. The ICV (HMAC-SHA-256-128 or HMAC-SHA1-96)
 * covers the IPv4 header with its mutable fields zeroed (TOS, flags, fragment offset, TTL,
 * checksum: §3.3.3.1.1.1), the AH header with a zero ICV, the payload, and with ESN the
 * high 32 bits of the sequence number appended (§3.3.3.1). We always build the outer IPv4
 * header (no options) from the SA's addresses with a non-zero Identification, because the
 * kernel would fill a zero one after we signed it.
 */
import { equalConstantTime, type HashAlg, hmac } from "../crypto/primitives.js";
import type { TransformName } from "./transform.js";

export const IPPROTO_AH = 51;
const AH_FIXED_BYTES = 12;

export interface AhIntegrity {
  alg: HashAlg;
  key: Uint8Array;
  icvBytes: number;
}

/** AH uses the integrity half of an integrity-only transform name. */
export function ahIntegrity(transform: TransformName, key: Uint8Array): AhIntegrity | null {
  if (transform === "null-sha256" && key.length === 32) return { alg: "sha256", key, icvBytes: 16 };
  if (transform === "null-sha1" && key.length === 20) return { alg: "sha1", key, icvBytes: 12 };
  return null;
}

function icvOf(a: AhIntegrity, packet: Buffer, ihl: number, seqHi: number, esn: boolean): Buffer {
  const copy = Buffer.from(packet);
  copy[1] = 0; // TOS
  copy.writeUInt16BE(0, 6); // flags + fragment offset
  copy[8] = 0; // TTL
  copy.writeUInt16BE(0, 10); // checksum
  copy.fill(0, ihl + AH_FIXED_BYTES, ihl + AH_FIXED_BYTES + a.icvBytes);
  const parts: Uint8Array[] = [copy];
  if (esn) {
    const hi = Buffer.alloc(4);
    hi.writeUInt32BE(seqHi >>> 0, 0);
    parts.push(hi);
  }
  return hmac(a.alg, a.key, parts).subarray(0, a.icvBytes);
}

function ipv4Checksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface AhSealInput {
  spi: number;
  seq: number;
  esn: boolean;
  src: Uint8Array;
  dst: Uint8Array;
  nextHeader: number;
  payload: Uint8Array;
  /** IPv4 Identification, non-zero. */
  id: number;
}

/** The whole IPv4 packet: header (protocol 51) || AH || payload. */
export function sealAh(a: AhIntegrity, s: AhSealInput): Buffer {
  const ahBytes = AH_FIXED_BYTES + a.icvBytes;
  const out = Buffer.alloc(20 + ahBytes + s.payload.length);
  out[0] = 0x45;
  out.writeUInt16BE(out.length, 2);
  out.writeUInt16BE(s.id & 0xffff || 1, 4);
  out[6] = 0x40;
  out[8] = 64;
  out[9] = IPPROTO_AH;
  out.set(s.src, 12);
  out.set(s.dst, 16);
  out[20] = s.nextHeader;
  out[21] = ahBytes / 4 - 2;
  out.writeUInt32BE(s.spi >>> 0, 24);
  out.writeUInt32BE(s.seq % 2 ** 32, 28);
  out.set(s.payload, 20 + ahBytes);
  icvOf(a, out, 20, Math.floor(s.seq / 2 ** 32), s.esn).copy(out, 20 + AH_FIXED_BYTES);
  out.writeUInt16BE(ipv4Checksum(out), 10);
  return out;
}

export interface AhHeader {
  ihl: number;
  spi: number;
  seq: number;
  nextHeader: number;
  /** Offset of the payload after AH. */
  payloadAt: number;
}

/** Reads an IPv4 packet carrying AH; null when it cannot be one. */
export function readAhHeader(packet: Buffer): AhHeader | null {
  if (packet.length < 20 || (packet[0] as number) >> 4 !== 4 || packet[9] !== IPPROTO_AH)
    return null;
  const ihl = ((packet[0] as number) & 0x0f) * 4;
  if (ihl < 20 || packet.length < ihl + AH_FIXED_BYTES) return null;
  const ahBytes = ((packet[ihl + 1] as number) + 2) * 4;
  if (packet.length < ihl + ahBytes || packet.readUInt16BE(2) !== packet.length) return null;
  return {
    ihl,
    nextHeader: packet[ihl] as number,
    spi: packet.readUInt32BE(ihl + 4),
    seq: packet.readUInt32BE(ihl + 8),
    payloadAt: ihl + ahBytes,
  };
}

/** Verifies the ICV; "malformed" when the AH length does not fit the transform. */
export function verifyAh(
  a: AhIntegrity,
  packet: Buffer,
  h: AhHeader,
  seqHi: number,
  esn: boolean,
): "ok" | "auth_failed" | "malformed" {
  if (h.payloadAt - h.ihl !== AH_FIXED_BYTES + a.icvBytes) return "malformed";
  const got = packet.subarray(h.ihl + AH_FIXED_BYTES, h.payloadAt);
  return equalConstantTime(icvOf(a, packet, h.ihl, seqHi, esn), got) ? "ok" : "auth_failed";
}
