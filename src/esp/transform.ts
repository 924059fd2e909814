/**
 * ESP transforms: how the payload is encrypted and how the ICV is computed.
 *
 * - AES-GCM-16 (RFC 4106): KEYMAT = key || 4-byte salt; nonce = salt || 8-byte IV, the IV
 *   being the 64-bit sequence number (unique per SA, §3.1); AAD = SPI || seq (8 bytes), or
 *   SPI || seq-hi || seq-lo with ESN (§5); the 16-byte tag is the ICV.
 * - AES-CBC (RFC 3602) with HMAC-SHA-256-128 (RFC 4868) or HMAC-SHA1-96 (RFC 2404):
 *   random 16-byte IV; encrypt-then-MAC: ICV = HMAC(SPI || seq || IV || ciphertext
 *   [|| seq-hi with ESN, RFC 4303 §2.2.1]) truncated.
 * - NULL encryption (RFC 2410) with the same HMACs: "sign" (integrity only); no IV.
 *
 * The names are strongSwan's proposal keywords so the IKE side can hand them over as is.
 * Node's crypto is reached only through src/crypto/primitives.ts.
 */
import {
  aesCbcDecrypt,
  aesCbcEncryptParts,
  aesGcmOpen,
  aesGcmSealParts,
  equalConstantTime,
  type HashAlg,
  hmac,
} from "../crypto/primitives.js";

export const TRANSFORM_NAMES = [
  "aes128gcm16",
  "aes256gcm16",
  "aes128-sha256",
  "aes256-sha256",
  "aes128-sha1",
  "aes256-sha1",
  "null-sha256",
  "null-sha1",
] as const;
export type TransformName = (typeof TRANSFORM_NAMES)[number];

export interface TransformSpec {
  name: TransformName;
  /** KEYMAT bytes for encryption (GCM: key + 4-byte salt; NULL: 0). */
  encKeyBytes: number;
  /** KEYMAT bytes for integrity (0 for AEAD). */
  authKeyBytes: number;
  ivBytes: number;
  icvBytes: number;
  /** The plaintext (payload + trailer) is padded to a multiple of this (RFC 4303 §2.4). */
  align: number;
}

export function transformSpec(name: TransformName): TransformSpec {
  switch (name) {
    case "aes128gcm16":
      return { name, encKeyBytes: 20, authKeyBytes: 0, ivBytes: 8, icvBytes: 16, align: 4 };
    case "aes256gcm16":
      return { name, encKeyBytes: 36, authKeyBytes: 0, ivBytes: 8, icvBytes: 16, align: 4 };
    case "aes128-sha256":
      return { name, encKeyBytes: 16, authKeyBytes: 32, ivBytes: 16, icvBytes: 16, align: 16 };
    case "aes256-sha256":
      return { name, encKeyBytes: 32, authKeyBytes: 32, ivBytes: 16, icvBytes: 16, align: 16 };
    case "aes128-sha1":
      return { name, encKeyBytes: 16, authKeyBytes: 20, ivBytes: 16, icvBytes: 12, align: 16 };
    case "aes256-sha1":
      return { name, encKeyBytes: 32, authKeyBytes: 20, ivBytes: 16, icvBytes: 12, align: 16 };
    case "null-sha256":
      return { name, encKeyBytes: 0, authKeyBytes: 32, ivBytes: 0, icvBytes: 16, align: 4 };
    case "null-sha1":
      return { name, encKeyBytes: 0, authKeyBytes: 20, ivBytes: 0, icvBytes: 12, align: 4 };
  }
}

export function isTransformName(s: string): s is TransformName {
  return (TRANSFORM_NAMES as readonly string[]).includes(s);
}

/** A keyed transform. `header` is the 8-byte SPI || seq-lo; seqHi is 0 without ESN. */
export interface EspCipher {
  spec: TransformSpec;
  /**
   * Returns the chunks IV, ciphertext..., ICV for the plaintext given in parts (payload,
   * then padding + pad length + next header; the total a multiple of spec.align), so the
   * caller joins header and chunks with one copy.
   */
  seal(
    header: Buffer,
    seqHi: number,
    esn: boolean,
    plaintext: readonly Uint8Array[],
    iv: Buffer,
  ): Uint8Array[];
  /**
   * `body` is IV || ciphertext || ICV (everything after the header). Returns the plaintext,
   * or null when the ICV does not verify or the length cannot be right.
   */
  open(header: Buffer, seqHi: number, esn: boolean, body: Buffer): Buffer | null;
}

export function createEspCipher(
  name: TransformName,
  encKey: Uint8Array,
  authKey: Uint8Array,
): EspCipher {
  const spec = transformSpec(name);
  if (encKey.length !== spec.encKeyBytes || authKey.length !== spec.authKeyBytes) {
    throw new RangeError(
      `${name}: keys must be ${spec.encKeyBytes} + ${spec.authKeyBytes} bytes, got ${encKey.length} + ${authKey.length}`,
    );
  }
  if (name === "aes128gcm16" || name === "aes256gcm16") return createGcm(spec, encKey);
  const alg: HashAlg = name.endsWith("sha256") ? "sha256" : "sha1";
  return createEncThenMac(spec, encKey, authKey, alg);
}

function seqHiBytes(seqHi: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(seqHi >>> 0, 0);
  return b;
}

function createGcm(spec: TransformSpec, keymat: Uint8Array): EspCipher {
  const key = Buffer.from(keymat.subarray(0, keymat.length - 4));
  const nonce = Buffer.alloc(12);
  Buffer.from(keymat.subarray(keymat.length - 4)).copy(nonce, 0);
  const aadFor = (header: Buffer, seqHi: number, esn: boolean): Buffer =>
    esn ? Buffer.concat([header.subarray(0, 4), seqHiBytes(seqHi), header.subarray(4, 8)]) : header;
  return {
    spec,
    seal(header, seqHi, esn, plaintext, iv) {
      iv.copy(nonce, 4, 0, 8);
      return [
        iv.subarray(0, 8),
        ...aesGcmSealParts(key, nonce, aadFor(header, seqHi, esn), plaintext, 16),
      ];
    },
    open(header, seqHi, esn, body) {
      if (body.length < 8 + 16) return null;
      body.copy(nonce, 4, 0, 8);
      return aesGcmOpen(key, nonce, body.subarray(8), aadFor(header, seqHi, esn), 16);
    },
  };
}

function createEncThenMac(
  spec: TransformSpec,
  encKey: Uint8Array,
  authKey: Uint8Array,
  alg: HashAlg,
): EspCipher {
  const icv = (parts: Uint8Array[], seqHi: number, esn: boolean): Buffer => {
    if (esn) parts.push(seqHiBytes(seqHi));
    return hmac(alg, authKey, parts).subarray(0, spec.icvBytes);
  };
  const isNull = spec.encKeyBytes === 0;
  return {
    spec,
    seal(header, seqHi, esn, plaintext, iv) {
      const ivPart = iv.subarray(0, spec.ivBytes);
      const ct = isNull ? [...plaintext] : aesCbcEncryptParts(encKey, ivPart, plaintext);
      return [ivPart, ...ct, icv([header, ivPart, ...ct], seqHi, esn)];
    },
    open(header, seqHi, esn, body) {
      const ctLength = body.length - spec.ivBytes - spec.icvBytes;
      if (ctLength <= 0 || ctLength % spec.align !== 0) return null;
      const ivPart = body.subarray(0, spec.ivBytes);
      const ct = body.subarray(spec.ivBytes, spec.ivBytes + ctLength);
      const got = body.subarray(spec.ivBytes + ctLength);
      if (!equalConstantTime(icv([header, ivPart, ct], seqHi, esn), got)) return null;
      return isNull ? Buffer.from(ct) : aesCbcDecrypt(encKey, ivPart, ct);
    },
  };
}
