/**
 * PAC_SIGNATURE_DATA (MS-PAC §2.8), not NDR-encoded:
 *
 *   SignatureType (4, signed LE: a checksum type) | Signature (length by type)
 *   | RODCIdentifier (2, only when the KDC is a read-only DC)
 *
 * Signature lengths: 15, 16 -> 12; 19 -> 16; 20 -> 24; -138 (HMAC-MD5) -> 16.
 */
import { PacError } from "./errors.js";

export interface PacSignatureData {
  signatureType: number;
  signature: Uint8Array;
  rodcIdentifier?: number;
}

const SIGNATURE_LENGTH: Readonly<Record<number, number>> = {
  15: 12,
  16: 12,
  19: 16,
  20: 24,
  [-138]: 16,
};

export function signatureLength(signatureType: number): number {
  const n = SIGNATURE_LENGTH[signatureType];
  if (n === undefined) {
    throw new PacError(
      "pac-unsupported-checksum",
      `PAC signature type ${signatureType} is unknown`,
    );
  }
  return n;
}

export function decodeSignatureData(buf: Uint8Array, what: string): PacSignatureData {
  if (buf.length < 4) throw new PacError("pac-malformed", `${what}: ${buf.length} bytes < 4`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const signatureType = dv.getInt32(0, true);
  const n = SIGNATURE_LENGTH[signatureType];
  if (n === undefined) {
    throw new PacError(
      "pac-unsupported-checksum",
      `${what}: signature type ${signatureType} is unknown`,
    );
  }
  if (buf.length !== 4 + n && buf.length !== 6 + n) {
    throw new PacError(
      "pac-malformed",
      `${what}: ${buf.length} bytes for signature type ${signatureType} (expected ${4 + n} or ${6 + n})`,
    );
  }
  const out: PacSignatureData = {
    signatureType,
    signature: new Uint8Array(buf.subarray(4, 4 + n)),
  };
  if (buf.length === 6 + n) out.rodcIdentifier = dv.getUint16(4 + n, true);
  return out;
}

export function encodeSignatureData(v: PacSignatureData): Uint8Array {
  const n = signatureLength(v.signatureType);
  if (v.signature.length !== n) {
    throw new PacError(
      "pac-malformed",
      `signature length ${v.signature.length} != ${n} for type ${v.signatureType}`,
    );
  }
  const out = new Uint8Array(4 + n + (v.rodcIdentifier === undefined ? 0 : 2));
  const dv = new DataView(out.buffer);
  dv.setInt32(0, v.signatureType, true);
  out.set(v.signature, 4);
  if (v.rodcIdentifier !== undefined) dv.setUint16(4 + n, v.rodcIdentifier, true);
  return out;
}
