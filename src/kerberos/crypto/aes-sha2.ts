/**
 * aes128-cts-hmac-sha256-128 (19) and aes256-cts-hmac-sha384-192 (20), RFC 8009. Not the
 * simplified profile: keys come from KDF-HMAC-SHA2 (NIST SP 800-108 counter mode) and the
 * MAC covers the ciphertext (encrypt-then-MAC).
 *
 *   KDF-HMAC-SHA2(key, label, k) = k-truncate(HMAC(key, 00000001 | label | 0x00 | k))
 *     (k = output length in bits, 4 bytes big-endian)
 *   string-to-key: saltp = enctype-name | 0x00 | salt
 *                  tkey  = PBKDF2-HMAC-SHA2(password, saltp, iter, keylen)  (iter default 32768)
 *                  key   = KDF-HMAC-SHA2(tkey, "kerberos", keylen*8)
 *   Kc = KDF(key, usage|0x99, 128|192)  Ke = KDF(key, usage|0xAA, 128|256)
 *   Ki = KDF(key, usage|0x55, 128|192)
 *   encrypt:  N = 16 random bytes; C = AES-CTS(Ke, IV=0, N | plaintext)
 *             H = HMAC(Ki, IV | C)[0..h]; ciphertext = C | H       (h = 16 | 24)
 *   checksum: HMAC(Kc, data)[0..h]  (types 19 and 20)
 *   PRF:      KDF-HMAC-SHA2(key, "prf", input, 256|384)  (the input is the KDF context)
 */
import { allocBytes } from "../../bytes.js";
import { equalConstantTime, type HashAlg, hmac, pbkdf2 } from "../../crypto/primitives.js";
import { aesCtsDecrypt, aesCtsEncryptInto } from "./cts.js";
import { KC, KE, KI, usageConstant } from "./derive.js";
import type { CryptoDeps, Enctype } from "./enctype.js";
import { KerberosCryptoError } from "./errors.js";
import { cached, macWith } from "./key-cache.js";
import { checkKey, checkRandom } from "./keycheck.js";
import { iterationsFromParams, toBytes } from "./s2kparams.js";

const CONF = 16;
const ZERO_IV = new Uint8Array(16);
const KERBEROS = new TextEncoder().encode("kerberos");
const PRF = new TextEncoder().encode("prf");

interface Sha2Variant {
  etype: 19 | 20;
  name: string;
  keyLength: 16 | 32;
  hash: "sha256" | "sha384";
  /** MAC / checksum length and Kc, Ki length in bytes. */
  macLength: 16 | 24;
  checksumType: 19 | 20;
}

export const AES128_CTS_HMAC_SHA256_128: Sha2Variant = {
  etype: 19,
  name: "aes128-cts-hmac-sha256-128",
  keyLength: 16,
  hash: "sha256",
  macLength: 16,
  checksumType: 19,
};
export const AES256_CTS_HMAC_SHA384_192: Sha2Variant = {
  etype: 20,
  name: "aes256-cts-hmac-sha384-192",
  keyLength: 32,
  hash: "sha384",
  macLength: 24,
  checksumType: 20,
};

/**
 * KDF-HMAC-SHA2 of RFC 8009 §3, `bytes` output bytes (at most one HMAC block):
 *   HMAC(key, 00000001 | label | 0x00 | context | k)[0..bytes], k = bytes * 8 (4 bytes BE)
 */
export function kdfHmacSha2(
  hash: HashAlg,
  key: Uint8Array,
  label: Uint8Array,
  bytes: number,
  context: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const head = new Uint8Array(4 + label.length + 1);
  new DataView(head.buffer).setUint32(0, 1);
  head.set(label, 4);
  const tail = new Uint8Array(4);
  new DataView(tail.buffer).setUint32(0, bytes * 8);
  return new Uint8Array(hmac(hash, key, [head, context, tail]).subarray(0, bytes));
}

export function createAesSha2Enctype(v: Sha2Variant, deps: CryptoDeps): Enctype {
  const derive = (key: Uint8Array, usage: number, kind: number, bytes: number) =>
    cached(deps.derivedKeys, v.etype, usage, kind, key, () =>
      kdfHmacSha2(v.hash, checkKey(key, v.keyLength, v.name), usageConstant(usage, kind), bytes),
    );
  const checksum = (key: Uint8Array, usage: number, data: Uint8Array) =>
    macWith(deps.derivedKeys?.contexts, v.hash, derive(key, usage, KC, v.macLength), data).subarray(
      0,
      v.macLength,
    );
  const mac = (key: Uint8Array, usage: number, c: Uint8Array) =>
    macWith(deps.derivedKeys?.contexts, v.hash, derive(key, usage, KI, v.macLength), [
      ZERO_IV,
      c,
    ]).subarray(0, v.macLength);
  const randomToKey = (bytes: Uint8Array) => checkRandom(bytes, v.keyLength, v.name);
  return {
    etype: v.etype,
    name: v.name,
    keyLength: v.keyLength,
    checksumType: v.checksumType,
    checksumLength: v.macLength,
    defaultIterations: 32768,
    overhead: CONF + v.macLength,
    stringToKey(password, salt, params) {
      const iter = iterationsFromParams(params, 32768, v.name);
      const s = toBytes(salt);
      const name = new TextEncoder().encode(v.name);
      const saltp = new Uint8Array(name.length + 1 + s.length);
      saltp.set(name);
      saltp.set(s, name.length + 1);
      const tkey = pbkdf2(v.hash, toBytes(password), saltp, iter, v.keyLength);
      return kdfHmacSha2(v.hash, tkey, KERBEROS, v.keyLength);
    },
    randomToKey,
    encrypt(key, usage, plaintext, confounder) {
      const conf = confounder ?? deps.randomBytes(CONF);
      if (conf.length !== CONF) throw new RangeError(`confounder length ${conf.length} != 16`);
      const length = CONF + plaintext.length;
      const padded = allocBytes(Math.ceil(length / 16) * 16);
      padded.set(conf);
      padded.set(plaintext, CONF);
      const out = allocBytes(length + v.macLength);
      aesCtsEncryptInto(
        derive(key, usage, KE, v.keyLength),
        ZERO_IV,
        padded,
        length,
        out,
        deps.derivedKeys?.contexts,
      );
      out.set(mac(key, usage, out.subarray(0, length)), length);
      return out;
    },
    decrypt(key, usage, ciphertext) {
      if (ciphertext.length < CONF + v.macLength) {
        throw new KerberosCryptoError(
          "bad-length",
          `${v.name}: ciphertext length ${ciphertext.length} < ${CONF + v.macLength} (confounder + MAC)`,
        );
      }
      const c = ciphertext.subarray(0, ciphertext.length - v.macLength);
      if (!equalConstantTime(mac(key, usage, c), ciphertext.subarray(c.length))) {
        throw new KerberosCryptoError(
          "integrity",
          `${v.name}: decrypt integrity check failed (key usage ${usage}): wrong key or modified data`,
        );
      }
      return aesCtsDecrypt(
        derive(key, usage, KE, v.keyLength),
        ZERO_IV,
        c,
        deps.derivedKeys?.contexts,
      ).subarray(CONF); // aesCtsDecrypt's own array: the caller's to keep
    },
    checksum,
    verifyChecksum(key, usage, data, cksum) {
      return equalConstantTime(checksum(key, usage, data), cksum);
    },
    generateKey() {
      return randomToKey(deps.randomBytes(v.keyLength));
    },
    prfLength: v.etype === 19 ? 32 : 48,
    prf(key, input) {
      const n = v.etype === 19 ? 32 : 48;
      return kdfHmacSha2(v.hash, checkKey(key, v.keyLength, v.name), PRF, n, input);
    },
  };
}
