/**
 * AES in CBC mode with ciphertext stealing, as Kerberos uses it (RFC 3962 §5, also RFC 8009
 * §5): CBC-CS3 where the last two blocks are always swapped, even when the input is a whole
 * number of blocks. A single block is plain CBC (one AES block with the IV).
 *
 *   P_1 .. P_{m-1} P_m*   (P_m* may be short; zero-pad it)
 *   C_i = E(K, P_i xor C_{i-1}),  C_0 = IV
 *   output = C_1 .. C_{m-2} | C_m | first |P_m*| bytes of C_{m-1}
 *
 * The "next IV" (cipher state) after encryption is C_m, the last full block written.
 */
import { aesCbcDecrypt, aesCbcEncrypt, aesEcbDecrypt } from "../../crypto/primitives.js";

const BLOCK = 16;

/** AES-CTS encryption; `data` must be at least one block (16 bytes). */
export function aesCtsEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length < BLOCK) throw new RangeError(`AES-CTS: input ${data.length} < 16 bytes`);
  if (data.length === BLOCK) return new Uint8Array(aesCbcEncrypt(key, iv, data));
  const m = Math.ceil(data.length / BLOCK);
  const padded = new Uint8Array(m * BLOCK);
  padded.set(data);
  const c = aesCbcEncrypt(key, iv, padded);
  const lastLen = data.length - (m - 1) * BLOCK;
  const out = new Uint8Array(data.length);
  out.set(c.subarray(0, (m - 2) * BLOCK), 0);
  out.set(c.subarray((m - 1) * BLOCK, m * BLOCK), (m - 2) * BLOCK);
  out.set(c.subarray((m - 2) * BLOCK, (m - 2) * BLOCK + lastLen), (m - 1) * BLOCK);
  return out;
}

/** AES-CTS decryption; `data` must be at least one block (16 bytes). */
export function aesCtsDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length < BLOCK) throw new RangeError(`AES-CTS: input ${data.length} < 16 bytes`);
  if (data.length === BLOCK) return new Uint8Array(aesCbcDecrypt(key, iv, data));
  const m = Math.ceil(data.length / BLOCK);
  const lastLen = data.length - (m - 1) * BLOCK;
  const cm = data.subarray((m - 2) * BLOCK, (m - 1) * BLOCK); // the real C_m
  const partial = data.subarray((m - 1) * BLOCK); // head of C_{m-1}
  const x = aesEcbDecrypt(key, cm); // = P_m(zero-padded) xor C_{m-1}
  const cPrev = new Uint8Array(BLOCK);
  cPrev.set(partial);
  cPrev.set(x.subarray(lastLen), lastLen);
  const lastPlain = new Uint8Array(lastLen);
  for (let i = 0; i < lastLen; i++) lastPlain[i] = x[i]! ^ cPrev[i]!;
  const head = new Uint8Array((m - 1) * BLOCK);
  head.set(data.subarray(0, (m - 2) * BLOCK));
  head.set(cPrev, (m - 2) * BLOCK);
  const out = new Uint8Array(data.length);
  out.set(aesCbcDecrypt(key, iv, head));
  out.set(lastPlain, (m - 1) * BLOCK);
  return out;
}

/** The cipher state after `aesCtsEncrypt` produced `ciphertext` (C_m, RFC 3962 §5). */
export function aesCtsNextIv(ciphertext: Uint8Array): Uint8Array {
  const m = Math.ceil(ciphertext.length / BLOCK);
  const at = m === 1 ? 0 : (m - 2) * BLOCK;
  return ciphertext.slice(at, at + BLOCK);
}
