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
import { allocBytes } from "../../bytes.js";
import { aesCbcDecrypt } from "../../crypto/primitives.js";
import { cbcEncryptorFor, ecbFor, type KeyContextCache } from "./key-cache.js";

const BLOCK = 16;

/** AES-CTS encryption; `data` must be at least one block (16 bytes). */
export function aesCtsEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length < BLOCK) throw new RangeError(`AES-CTS: input ${data.length} < 16 bytes`);
  const padded = allocBytes(Math.ceil(data.length / BLOCK) * BLOCK);
  padded.set(data);
  const out = new Uint8Array(data.length); // the caller's to keep
  aesCtsEncryptInto(key, iv, padded, data.length, out);
  return out;
}

/**
 * AES-CTS of the first `length` bytes of `padded` (the data zero-padded to whole blocks),
 * written to `out[0..length)`: for callers that build the padded input themselves and want
 * the ciphertext inside a larger buffer (ciphertext | MAC), without intermediate copies.
 * With `contexts`, the key's OpenSSL context is kept there and reused.
 */
export function aesCtsEncryptInto(
  key: Uint8Array,
  iv: Uint8Array,
  padded: Uint8Array,
  length: number,
  out: Uint8Array,
  contexts?: KeyContextCache,
): void {
  if (length < BLOCK) throw new RangeError(`AES-CTS: input ${length} < 16 bytes`);
  const m = Math.ceil(length / BLOCK);
  const c = allocBytes(m * BLOCK);
  cbcEncryptorFor(contexts, key)(iv, padded.subarray(0, m * BLOCK), c);
  if (m === 1) {
    out.set(c.subarray(0, BLOCK), 0);
    return;
  }
  const lastLen = length - (m - 1) * BLOCK;
  out.set(c.subarray(0, (m - 2) * BLOCK), 0);
  out.set(c.subarray((m - 1) * BLOCK, m * BLOCK), (m - 2) * BLOCK);
  out.set(c.subarray((m - 2) * BLOCK, (m - 2) * BLOCK + lastLen), (m - 1) * BLOCK);
}

/**
 * AES-CTS decryption; `data` must be at least one block (16 bytes). One ECB context does
 * every block (D(C_1) .. D(C_{m-2}), D(C_m), then the rebuilt C_{m-1}); the CBC chaining
 * (P_i = D(C_i) xor C_{i-1}) is done here.
 */
export function aesCtsDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  data: Uint8Array,
  contexts?: KeyContextCache,
): Uint8Array {
  if (data.length < BLOCK) throw new RangeError(`AES-CTS: input ${data.length} < 16 bytes`);
  if (data.length === BLOCK) return new Uint8Array(aesCbcDecrypt(key, iv, data));
  const m = Math.ceil(data.length / BLOCK);
  const full = (m - 1) * BLOCK; // C_1 .. C_{m-2}, C_m as sent
  const lastLen = data.length - full;
  const ecb = ecbFor(contexts, false, key);
  const d = allocBytes(full);
  ecb(data.subarray(0, full), d);
  const x = d.subarray(full - BLOCK, full); // D(C_m) = P_m (zero-padded) xor C_{m-1}
  const cPrev = new Uint8Array(BLOCK); // C_{m-1}: the sent head, then the tail of x
  cPrev.set(data.subarray(full));
  cPrev.set(x.subarray(lastLen), lastLen);
  const dPrev = new Uint8Array(BLOCK);
  ecb(cPrev, dPrev);
  const out = new Uint8Array(data.length); // the caller's to keep (the enctypes return a view)
  const chained = (m - 2) * BLOCK;
  for (let i = 0; i < chained; i++) out[i] = d[i]! ^ (i < BLOCK ? iv[i]! : data[i - BLOCK]!);
  for (let i = 0; i < BLOCK; i++)
    out[chained + i] = dPrev[i]! ^ (m === 2 ? iv[i]! : data[chained - BLOCK + i]!);
  for (let i = 0; i < lastLen; i++) out[full + i] = x[i]! ^ cPrev[i]!;
  return out;
}

/** The cipher state after `aesCtsEncrypt` produced `ciphertext` (C_m, RFC 3962 §5). */
export function aesCtsNextIv(ciphertext: Uint8Array): Uint8Array {
  const m = Math.ceil(ciphertext.length / BLOCK);
  const at = m === 1 ? 0 : (m - 2) * BLOCK;
  return ciphertext.slice(at, at + BLOCK);
}
