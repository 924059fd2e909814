/**
 * Two small buffers AD puts in every PAC since the 2021 "PAC requester" hardening:
 *
 *   PAC_ATTRIBUTES_INFO (type 17, MS-PAC §2.14): FlagsLength (4, in bits) | Flags (4 each)
 *     flags: PAC_WAS_REQUESTED 0x1, PAC_WAS_GIVEN_IMPLICITLY 0x2
 *   PAC_REQUESTER_SID (type 18, MS-PAC §2.15): the requesting client's SID, binary form
 *
 * Neither is NDR-encoded.
 */
import { PacError } from "./errors.js";
import { sidFromBytes, sidToBytes } from "./sid.js";

export const PAC_WAS_REQUESTED = 0x1;
export const PAC_WAS_GIVEN_IMPLICITLY = 0x2;

export interface PacAttributesInfo {
  /** Number of meaningful bits (2 for the two defined flags). */
  flagsLength: number;
  flags: number;
}

export function decodeAttributesInfo(buf: Uint8Array): PacAttributesInfo {
  if (buf.length < 4)
    throw new PacError("pac-malformed", `ATTRIBUTES_INFO: ${buf.length} bytes < 4`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const flagsLength = dv.getUint32(0, true);
  const words = Math.ceil(flagsLength / 32);
  if (words !== 1 || buf.length < 4 + 4 * words) {
    throw new PacError(
      "pac-malformed",
      `ATTRIBUTES_INFO: FlagsLength ${flagsLength} bits in a ${buf.length}-byte buffer (expected 1..32 bits, 8 bytes)`,
    );
  }
  return { flagsLength, flags: dv.getUint32(4, true) };
}

export function encodeAttributesInfo(v: PacAttributesInfo): Uint8Array {
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, v.flagsLength, true);
  dv.setUint32(4, v.flags >>> 0, true);
  return out;
}

export function decodeRequesterSid(buf: Uint8Array): string {
  const { sid, length } = sidFromBytes(buf);
  if (length !== buf.length) {
    throw new PacError(
      "pac-malformed",
      `REQUESTER_SID: ${buf.length} bytes but the SID is ${length}`,
    );
  }
  return sid;
}

export function encodeRequesterSid(sid: string): Uint8Array {
  return sidToBytes(sid);
}
