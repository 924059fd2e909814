/**
 * KRB-FX-CF2 (RFC 6113 §5.1): combine two keys into one, as FAST does for the armor key,
 * the strengthened reply key and the encrypted-challenge keys.
 *
 *   PRF+(K, s)  = prf(K, 0x01 || s) || prf(K, 0x02 || s) || ...   (one-octet counter)
 *   CF2(K1, K2, p1, p2) = random-to-key_{K1}(PRF+(K1, p1) XOR PRF+(K2, p2)), truncated to
 *                         K1's key length; the result has K1's enctype.
 *
 * Vectors: MIT's src/lib/crypto/crypto_tests/t_cf2 (test/kerberos-crypto/cf2.test.ts).
 */
import type { CryptoDeps } from "./enctype.js";
import { getEnctype } from "./registry.js";

const encoder = new TextEncoder();

function prfPlus(
  etype: number,
  key: Uint8Array,
  pepper: string,
  length: number,
  deps?: CryptoDeps,
): Uint8Array {
  const e = getEnctype(etype, deps);
  const p = encoder.encode(pepper);
  const out = new Uint8Array(length);
  const input = new Uint8Array(1 + p.length);
  input.set(p, 1);
  for (let i = 1, off = 0; off < length; i++) {
    input[0] = i;
    const block = e.prf(key, input);
    out.set(block.subarray(0, Math.min(block.length, length - off)), off);
    off += block.length;
  }
  return out;
}

export interface Cf2Key {
  etype: number;
  key: Uint8Array;
}

/** KRB-FX-CF2(k1, k2, pepper1, pepper2): a key of k1's enctype. */
export function krbFxCf2(
  k1: Cf2Key,
  pepper1: string,
  k2: Cf2Key,
  pepper2: string,
  deps?: CryptoDeps,
): Cf2Key {
  const e1 = getEnctype(k1.etype, deps);
  const a = prfPlus(k1.etype, k1.key, pepper1, e1.keyLength, deps);
  const b = prfPlus(k2.etype, k2.key, pepper2, e1.keyLength, deps);
  for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) ^ (b[i] as number);
  return { etype: k1.etype, key: e1.randomToKey(a) };
}
