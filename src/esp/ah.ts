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
import { equalConstantTime, hmacKeyed, type KeyedHashAlg } from "../crypto/primitives.js";
import type { EvpHmac } from "./evp-hmac.js";
import type { TransformName } from "./transform.js";

export const IPPROTO_AH = 51;
const AH_FIXED_BYTES = 12;
/**
 * Per-packet scratch (a thread's packets are handled one at a time): [0,4) the high
 * sequence bits, [16,80) the received ICV put aside, [80,144) the ICV computed for it.
 */
const scratch = Buffer.alloc(144);
const HI = scratch.subarray(0, 4);

export interface AhIntegrity {
  icvBytes: number;
  /**
   * The truncated HMAC of `parts`' concatenation into `icv`; false when OpenSSL failed. A
   * keyed libcrypto context working on the packet where it lies (src/esp/evp-hmac.ts) in
   * the packet loops, else the keyed HMAC of src/crypto/primitives.ts.
   */
  mac(parts: readonly Uint8Array[], icv: Uint8Array): boolean;
  /** Releases a native context (call once the SA is gone). */
  free(): void;
}

/**
 * AH uses the integrity half of an integrity-only transform name; `native`: the packet
 * loops' libcrypto contexts (src/esp/evp-hmac.ts).
 */
export function ahIntegrity(
  transform: TransformName,
  key: Uint8Array,
  native?: EvpHmac | null,
): AhIntegrity | null {
  const params: [KeyedHashAlg, number, number] | null =
    transform === "null-sha256"
      ? ["sha256", 32, 16]
      : transform === "null-sha1"
        ? ["sha1", 20, 12]
        : null;
  if (params === null || key.length !== params[1]) return null;
  const [alg, , icvBytes] = params;
  const ctx = native?.hmac(alg, key);
  if (ctx) return { icvBytes, mac: ctx.mac, free: ctx.free };
  const keyed = hmacKeyed(alg, key);
  return {
    icvBytes,
    mac(parts, icv) {
      icv.set(keyed(parts).subarray(0, icv.length));
      return true;
    },
    free() {},
  };
}

/** The ICV over `packet` as it is (mutable fields and ICV already zero) into `out`. */
function macOver(
  a: AhIntegrity,
  packet: Uint8Array,
  seqHi: number,
  esn: boolean,
  out: Uint8Array,
): boolean {
  if (!esn) return a.mac([packet], out);
  HI.writeUInt32BE(seqHi >>> 0, 0);
  return a.mac([packet, HI], out);
}

/**
 * The ICV of a received IPv4 packet carrying AH into `out` (§3.3.3.1), computed where the
 * packet lies: the mutable fields (TOS, flags + fragment offset, TTL, checksum) and the ICV
 * field are zeroed for the computation and put back afterwards.
 */
function icvOf(
  a: AhIntegrity,
  packet: Buffer,
  ihl: number,
  seqHi: number,
  esn: boolean,
  out: Uint8Array,
): boolean {
  const icvAt = ihl + AH_FIXED_BYTES;
  const tos = packet[1] as number;
  const frag = packet.readUInt16BE(6);
  const ttl = packet[8] as number;
  const sum = packet.readUInt16BE(10);
  const icv = scratch.subarray(16, 16 + a.icvBytes);
  icv.set(packet.subarray(icvAt, icvAt + a.icvBytes));
  packet[1] = 0;
  packet.writeUInt16BE(0, 6);
  packet[8] = 0;
  packet.writeUInt16BE(0, 10);
  packet.fill(0, icvAt, icvAt + a.icvBytes);
  const ok = macOver(a, packet, seqHi, esn, out);
  packet[1] = tos;
  packet.writeUInt16BE(frag, 6);
  packet[8] = ttl;
  packet.writeUInt16BE(sum, 10);
  packet.set(icv, icvAt);
  return ok;
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

/** Bytes of the IPv4 packet sealAhInto writes for a payload of `payloadBytes`. */
export function ahSealedLength(a: AhIntegrity, payloadBytes: number): number {
  return 20 + AH_FIXED_BYTES + a.icvBytes + payloadBytes;
}

/**
 * Writes the whole IPv4 packet (header with protocol 51 || AH || payload, the payload
 * copied once) into `out` and signs it there; its length, or -1 when `out` is too small
 * or the HMAC failed.
 */
export function sealAhInto(a: AhIntegrity, s: AhSealInput, out: Buffer): number {
  const ahBytes = AH_FIXED_BYTES + a.icvBytes;
  const total = ahSealedLength(a, s.payload.length);
  if (total > out.length || total > 0xffff) return -1;
  const packet = out.subarray(0, total);
  // The mutable fields (TOS, flags, TTL, checksum) stay zero until the ICV is computed.
  packet.fill(0, 0, 20 + ahBytes);
  packet[0] = 0x45;
  packet.writeUInt16BE(total, 2);
  packet.writeUInt16BE(s.id & 0xffff || 1, 4);
  packet[9] = IPPROTO_AH;
  packet.set(s.src, 12);
  packet.set(s.dst, 16);
  packet[20] = s.nextHeader;
  packet[21] = ahBytes / 4 - 2;
  packet.writeUInt32BE(s.spi >>> 0, 24);
  packet.writeUInt32BE(s.seq % 2 ** 32, 28);
  packet.set(s.payload, 20 + ahBytes);
  const icv = packet.subarray(20 + AH_FIXED_BYTES, 20 + ahBytes);
  if (!macOver(a, packet, Math.floor(s.seq / 2 ** 32), s.esn, icv)) return -1;
  packet[6] = 0x40;
  packet[8] = 64;
  packet.writeUInt16BE(ipv4Checksum(packet), 10);
  return total;
}

/** The whole IPv4 packet: header (protocol 51) || AH || payload. */
export function sealAh(a: AhIntegrity, s: AhSealInput): Buffer {
  const out = Buffer.alloc(ahSealedLength(a, s.payload.length));
  if (sealAhInto(a, s, out) < 0) throw new Error("AH seal failed");
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
  const want = scratch.subarray(80, 80 + a.icvBytes);
  if (!icvOf(a, packet, h.ihl, seqHi, esn, want)) return "auth_failed";
  return equalConstantTime(want, got) ? "ok" : "auth_failed";
}
