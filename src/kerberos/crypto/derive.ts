/**
 * Key derivation of the RFC 3961 simplified profile (§5.1) and the key usage constants.
 *
 *   DR(Key, Constant) = k-truncate(E(Key, Constant, initial-cipher-state))
 *     where the constant is n-folded to the block size and E is iterated:
 *     K1 = E(Key, n-fold(Constant)), K2 = E(Key, K1), ...  DR = K1 | K2 | ...
 *   DK(Key, Constant) = random-to-key(DR(Key, Constant))
 *
 * For AES (RFC 3962) E is one AES block (CBC with a zero IV over a single block = ECB) and
 * random-to-key is the identity.
 *
 * Key usage constants (RFC 3961 §5.3): usage as 4 bytes big-endian followed by one byte,
 *   Kc = 0x99 (checksum), Ke = 0xAA (encryption), Ki = 0x55 (integrity).
 */
import { aesEcbEncrypt } from "../../crypto/primitives.js";
import { nfold } from "./nfold.js";

export const KC = 0x99;
export const KE = 0xaa;
export const KI = 0x55;

/** The 5-byte well-known constant for `usage` and the key kind (KC, KE or KI). */
export function usageConstant(usage: number, kind: number): Uint8Array {
  if (!Number.isInteger(usage) || usage < 0 || usage > 0xffffffff) {
    throw new RangeError(`key usage ${usage} is not a 32-bit unsigned integer`);
  }
  const c = new Uint8Array(5);
  new DataView(c.buffer).setUint32(0, usage);
  c[4] = kind;
  return c;
}

/** n-fold(constant, 128) of the 5-byte usage constants, which are few (a KDC uses ~10). */
const folded = new Map<number, Uint8Array>();

function fold16(constant: Uint8Array): Uint8Array {
  if (constant.length !== 5) return nfold(constant, 16);
  const usage =
    ((constant[0]! << 24) | (constant[1]! << 16) | (constant[2]! << 8) | constant[3]!) >>> 0;
  const id = usage * 256 + constant[4]!;
  let f = folded.get(id);
  if (!f) {
    f = nfold(constant, 16);
    if (folded.size < 4096) folded.set(id, f);
  }
  return f;
}

/**
 * DR(Key, Constant) with AES as E: `outBytes` pseudo-random bytes. `encrypt` is E on whole
 * blocks for `key` (a kept context, key-cache.ts); without it a one-off context.
 */
export function deriveRandomAes(
  key: Uint8Array,
  constant: Uint8Array,
  outBytes: number,
  encrypt?: (blocks: Uint8Array, out: Uint8Array) => void,
): Uint8Array {
  const out = new Uint8Array(outBytes);
  let block: Uint8Array = fold16(constant);
  for (let filled = 0; filled < outBytes; filled += 16) {
    if (encrypt) {
      const next = new Uint8Array(16);
      encrypt(block, next);
      block = next;
    } else block = aesEcbEncrypt(key, block);
    out.set(block.subarray(0, Math.min(16, outBytes - filled)), filled);
  }
  return out;
}

/** DK(Key, Constant) for AES enctypes (random-to-key is the identity). */
export function deriveKeyAes(
  key: Uint8Array,
  constant: Uint8Array,
  encrypt?: (blocks: Uint8Array, out: Uint8Array) => void,
): Uint8Array {
  return deriveRandomAes(key, constant, key.length, encrypt);
}
