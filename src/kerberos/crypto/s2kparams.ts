/**
 * s2kparams for the PBKDF2-based string-to-key functions (RFC 3962 §4, RFC 8009 §4): a
 * 4-byte big-endian iteration count. We refuse 0 and counts of 2^24 or more, as MIT does
 * (a peer must not make us spin for minutes on one AS-REQ).
 */
import { KerberosCryptoError } from "./errors.js";

export const MAX_ITERATIONS = 0xffffff;

export function iterationsFromParams(
  params: Uint8Array | undefined,
  dflt: number,
  name: string,
): number {
  if (params === undefined) return dflt;
  if (params.length !== 4) {
    throw new KerberosCryptoError(
      "bad-params",
      `${name}: s2kparams length ${params.length} is not 4 (a big-endian iteration count)`,
    );
  }
  const n = new DataView(params.buffer, params.byteOffset, 4).getUint32(0);
  if (n === 0 || n > MAX_ITERATIONS) {
    throw new KerberosCryptoError(
      "bad-params",
      `${name}: iteration count ${n} is outside 1..${MAX_ITERATIONS}`,
    );
  }
  return n;
}

/** The s2kparams octets for an iteration count. */
export function paramsFromIterations(iterations: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, iterations);
  return p;
}

export function toBytes(s: string | Uint8Array): Uint8Array {
  return typeof s === "string" ? new TextEncoder().encode(s) : s;
}
