/**
 * The ESP packet (RFC 4303 §2):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
 * |               Security Parameters Index (SPI)                 | ^Int.
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
 * |                      Sequence Number                          | |ered
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ | ----
 * |                    Payload Data* (variable)                   | |   ^
 * ~                                                               ~ |   |
 * |                                                               | |Conf.
 * +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
 * |               |     Padding (0-255 bytes)                     | |ered*
 * +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
 * |                               |  Pad Length   | Next Header   | v   v
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ------
 * |         Integrity Check Value-ICV   (variable)                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   * Payload Data starts with the transform's IV (RFC 4303 §2.3).
 *
 * Padding bytes are 1, 2, 3, ... (§2.4) and the receiver checks them. Pure: no I/O, no
 * clock; the IV comes from the caller.
 */
import type { EspCipher } from "./transform.js";

export const ESP_HEADER_BYTES = 8;
/** Next Header 59: "no next header", a dummy packet (§2.6) to be dropped silently. */
export const NEXT_HEADER_NONE = 59;

export interface EspHeader {
  spi: number;
  seq: number;
}

/** SPI and sequence number, or null when shorter than the 8-byte header. */
export function readEspHeader(packet: Uint8Array): EspHeader | null {
  if (packet.length < ESP_HEADER_BYTES) return null;
  const v = new DataView(packet.buffer, packet.byteOffset, 8);
  return { spi: v.getUint32(0), seq: v.getUint32(4) };
}

/** Padding || Pad Length || Next Header for a payload of `payloadBytes`, aligned to `align` (>= 4). */
export function buildTrailer(payloadBytes: number, nextHeader: number, align: number): Buffer {
  const a = Math.max(4, align);
  const padLength = (a - ((payloadBytes + 2) % a)) % a;
  const out = Buffer.allocUnsafe(padLength + 2);
  for (let i = 0; i < padLength; i++) out[i] = i + 1;
  out[padLength] = padLength;
  out[padLength + 1] = nextHeader;
  return out;
}

/** Payload || Padding || Pad Length || Next Header, aligned to `align` (>= 4). */
export function buildPlaintext(payload: Uint8Array, nextHeader: number, align: number): Buffer {
  return Buffer.concat([payload, buildTrailer(payload.length, nextHeader, align)]);
}

export interface OpenedPayload {
  payload: Buffer;
  nextHeader: number;
}

/** Splits the trailer off a decrypted plaintext; null when the padding is malformed. */
export function parseTrailer(plain: Buffer): OpenedPayload | null {
  if (plain.length < 2) return null;
  const padLength = plain[plain.length - 2] as number;
  const nextHeader = plain[plain.length - 1] as number;
  const end = plain.length - 2 - padLength;
  if (end < 0) return null;
  for (let i = 0; i < padLength; i++) {
    if (plain[end + i] !== i + 1) return null;
  }
  return { payload: plain.subarray(0, end), nextHeader };
}

/** Builds the whole ESP packet for sequence number `seq` (a 64-bit value held in a number). */
export function sealEsp(
  cipher: EspCipher,
  spi: number,
  seq: number,
  esn: boolean,
  payload: Uint8Array,
  nextHeader: number,
  iv: Buffer,
): Buffer {
  const header = Buffer.allocUnsafe(ESP_HEADER_BYTES);
  header.writeUInt32BE(spi >>> 0, 0);
  header.writeUInt32BE(seq % 2 ** 32, 4);
  const trailer = buildTrailer(payload.length, nextHeader, cipher.spec.align);
  const chunks = cipher.seal(header, Math.floor(seq / 2 ** 32), esn, [payload, trailer], iv);
  return Buffer.concat([header, ...chunks]);
}

export type OpenResult = OpenedPayload | "auth_failed" | "malformed";

/** Verifies and decrypts; `seqHi` is the high half the replay window inferred (0 without ESN). */
export function openEsp(
  cipher: EspCipher,
  packet: Buffer,
  seqHi: number,
  esn: boolean,
): OpenResult {
  return openWith(cipher, packet, seqHi, esn, false);
}

function openWith(
  cipher: EspCipher,
  packet: Buffer,
  seqHi: number,
  esn: boolean,
  inPlace: boolean,
): OpenResult {
  const { ivBytes, icvBytes } = cipher.spec;
  if (packet.length < ESP_HEADER_BYTES + ivBytes + 2 + icvBytes) return "malformed";
  const header = packet.subarray(0, ESP_HEADER_BYTES);
  const body = packet.subarray(ESP_HEADER_BYTES);
  const plain = inPlace
    ? cipher.openInPlace(header, seqHi, esn, body)
    : cipher.open(header, seqHi, esn, body);
  if (plain === null) return "auth_failed";
  const view = Buffer.isBuffer(plain)
    ? plain
    : Buffer.from(plain.buffer, plain.byteOffset, plain.length);
  return parseTrailer(view) ?? "malformed";
}

/** Bytes of the ESP packet sealEspInto writes for a payload of `payloadBytes`. */
export function sealedLength(cipher: EspCipher, payloadBytes: number): number {
  const { align, ivBytes, icvBytes } = cipher.spec;
  const a = Math.max(4, align);
  const padLength = (a - ((payloadBytes + 2) % a)) % a;
  return ESP_HEADER_BYTES + ivBytes + payloadBytes + padLength + 2 + icvBytes;
}

/**
 * sealEsp without allocations: writes the whole ESP packet into `out` (header, IV, payload
 * copied once, trailer, then encrypted where it lies, ICV). Returns its length, or -1 when
 * `out` is too small or the cipher failed.
 */
export function sealEspInto(
  cipher: EspCipher,
  spi: number,
  seq: number,
  esn: boolean,
  payload: Uint8Array,
  nextHeader: number,
  iv: Uint8Array,
  out: Buffer,
): number {
  const total = sealedLength(cipher, payload.length);
  if (total > out.length) return -1;
  const { ivBytes, icvBytes } = cipher.spec;
  out.writeUInt32BE(spi >>> 0, 0);
  out.writeUInt32BE(seq % 2 ** 32, 4);
  let at = ESP_HEADER_BYTES + ivBytes;
  out.set(payload, at);
  at += payload.length;
  const padLength = total - icvBytes - 2 - at;
  for (let i = 0; i < padLength; i++) out[at + i] = i + 1;
  out[at + padLength] = padLength;
  out[at + padLength + 1] = nextHeader;
  const body = out.subarray(ESP_HEADER_BYTES, total);
  const header = out.subarray(0, ESP_HEADER_BYTES);
  return cipher.sealInPlace(header, Math.floor(seq / 2 ** 32), esn, iv, body) ? total : -1;
}

/** openEsp decrypting where the packet lies when the cipher can (the packet is overwritten). */
export function openEspInPlace(
  cipher: EspCipher,
  packet: Buffer,
  seqHi: number,
  esn: boolean,
): OpenResult {
  return openWith(cipher, packet, seqHi, esn, true);
}
