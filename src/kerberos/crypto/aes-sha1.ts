/**
 * aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18), RFC 3962, built on the
 * RFC 3961 simplified profile:
 *
 *   string-to-key: tkey = random-to-key(PBKDF2-HMAC-SHA1(password, salt, iter, keylen))
 *                  key  = DK(tkey, "kerberos")                  (iter default 4096)
 *   encrypt:       conf = 16 random bytes
 *                  C    = AES-CTS(Ke, IV=0, conf | plaintext)
 *                  H    = HMAC-SHA1(Ki, conf | plaintext)[0..12]
 *                  ciphertext = C | H
 *   checksum:      HMAC-SHA1(Kc, data)[0..12]  (types 15 and 16)
 *   PRF:           AES-CBC(DK(key, "prf"), IV=0, SHA1(input)[0..16])       (RFC 3962 §6)
 * with Kc/Ke/Ki = DK(key, usage | 0x99/0xAA/0x55).
 */
import { allocBytes } from "../../bytes.js";
import { aesEcbEncrypt, equalConstantTime, hash, pbkdf2 } from "../../crypto/primitives.js";
import { aesCtsDecrypt, aesCtsEncryptInto } from "./cts.js";
import { deriveKeyAes, KC, KE, KI, usageConstant } from "./derive.js";
import type { CryptoDeps, Enctype } from "./enctype.js";
import { KerberosCryptoError } from "./errors.js";
import { cached, ecbFor, macWith } from "./key-cache.js";
import { checkKey, checkRandom } from "./keycheck.js";
import { iterationsFromParams, toBytes } from "./s2kparams.js";

const CONF = 16;
const MAC = 12;
const ZERO_IV = new Uint8Array(16);
const KERBEROS = new TextEncoder().encode("kerberos");
const PRF = new TextEncoder().encode("prf");

interface Sha1Variant {
  etype: 17 | 18;
  name: string;
  keyLength: 16 | 32;
  checksumType: 15 | 16;
}

export const AES128_CTS_HMAC_SHA1_96: Sha1Variant = {
  etype: 17,
  name: "aes128-cts-hmac-sha1-96",
  keyLength: 16,
  checksumType: 15,
};
export const AES256_CTS_HMAC_SHA1_96: Sha1Variant = {
  etype: 18,
  name: "aes256-cts-hmac-sha1-96",
  keyLength: 32,
  checksumType: 16,
};

export function createAesSha1Enctype(v: Sha1Variant, deps: CryptoDeps): Enctype {
  const derive = (key: Uint8Array, usage: number, kind: number) =>
    cached(deps.derivedKeys, v.etype, usage, kind, key, () =>
      deriveKeyAes(
        checkKey(key, v.keyLength, v.name),
        usageConstant(usage, kind),
        ecbFor(deps.derivedKeys?.contexts, true, key),
      ),
    );
  const checksum = (key: Uint8Array, usage: number, data: Uint8Array) =>
    macWith(deps.derivedKeys?.contexts, "sha1", derive(key, usage, KC), data).subarray(0, MAC);
  const randomToKey = (bytes: Uint8Array) => checkRandom(bytes, v.keyLength, v.name);
  return {
    etype: v.etype,
    name: v.name,
    keyLength: v.keyLength,
    checksumType: v.checksumType,
    checksumLength: MAC,
    defaultIterations: 4096,
    overhead: CONF + MAC,
    stringToKey(password, salt, params) {
      const iter = iterationsFromParams(params, 4096, v.name);
      const tkey = pbkdf2("sha1", toBytes(password), toBytes(salt), iter, v.keyLength);
      return deriveKeyAes(tkey, KERBEROS);
    },
    randomToKey,
    encrypt(key, usage, plaintext, confounder) {
      const conf = confounder ?? deps.randomBytes(CONF);
      if (conf.length !== CONF) throw new RangeError(`confounder length ${conf.length} != 16`);
      // conf | plaintext, zero-padded to whole blocks for CBC; the MAC covers the unpadded bytes.
      const length = CONF + plaintext.length;
      const padded = allocBytes(Math.ceil(length / 16) * 16);
      padded.set(conf);
      padded.set(plaintext, CONF);
      const out = allocBytes(length + MAC);
      aesCtsEncryptInto(
        derive(key, usage, KE),
        ZERO_IV,
        padded,
        length,
        out,
        deps.derivedKeys?.contexts,
      );
      const h = macWith(
        deps.derivedKeys?.contexts,
        "sha1",
        derive(key, usage, KI),
        padded.subarray(0, length),
      );
      out.set(h.subarray(0, MAC), length);
      return out;
    },
    decrypt(key, usage, ciphertext) {
      if (ciphertext.length < CONF + MAC) {
        throw new KerberosCryptoError(
          "bad-length",
          `${v.name}: ciphertext length ${ciphertext.length} < ${CONF + MAC} (confounder + MAC)`,
        );
      }
      const c = ciphertext.subarray(0, ciphertext.length - MAC);
      const data = aesCtsDecrypt(derive(key, usage, KE), ZERO_IV, c, deps.derivedKeys?.contexts);
      const h = macWith(deps.derivedKeys?.contexts, "sha1", derive(key, usage, KI), data).subarray(
        0,
        MAC,
      );
      if (!equalConstantTime(h, ciphertext.subarray(ciphertext.length - MAC))) {
        throw new KerberosCryptoError(
          "integrity",
          `${v.name}: decrypt integrity check failed (key usage ${usage}): wrong key or modified data`,
        );
      }
      return data.subarray(CONF); // aesCtsDecrypt's own array: the caller's to keep
    },
    checksum,
    verifyChecksum(key, usage, data, cksum) {
      return equalConstantTime(checksum(key, usage, data), cksum);
    },
    generateKey() {
      return randomToKey(deps.randomBytes(v.keyLength));
    },
    prfLength: 16,
    prf(key, input) {
      // One block with a zero IV: CBC and CTS are both a single AES block.
      const kp = deriveKeyAes(checkKey(key, v.keyLength, v.name), PRF);
      return new Uint8Array(aesEcbEncrypt(kp, hash("sha1", input).subarray(0, 16)));
    },
  };
}
