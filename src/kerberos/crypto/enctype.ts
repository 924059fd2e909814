/**
 * The shape every Kerberos encryption type offers (RFC 3961 §3 "Encryption Algorithm
 * Profile"), plus the checksum mechanism keyed by the same key (RFC 3961 §4).
 *
 * Keys are raw protocol keys (`keyLength` bytes). `usage` is the RFC 4120 §7.5.1 key usage
 * number (see key-usage.ts). `encrypt` returns the RFC 4120 EncryptedData `cipher` octets.
 */
import type { DerivedKeyCache } from "./key-cache.js";

export interface Enctype {
  readonly etype: number;
  readonly name: string;
  /** Protocol key length in bytes. */
  readonly keyLength: number;
  /** The keyed checksum type bound to this enctype (RFC 3961 §4 "required checksum"). */
  readonly checksumType: number;
  /** Checksum length in bytes. */
  readonly checksumLength: number;
  /** PBKDF2 iteration count when s2kparams are absent. */
  readonly defaultIterations: number;
  /** Ciphertext bytes added to the plaintext (confounder + MAC). */
  readonly overhead: number;
  /**
   * RFC 3961 string-to-key. `params` are the 4-byte big-endian s2kparams (iteration count),
   * as carried in ETYPE-INFO2; absent means `defaultIterations`.
   */
  stringToKey(
    password: string | Uint8Array,
    salt: string | Uint8Array,
    params?: Uint8Array,
  ): Uint8Array;
  /** RFC 3961 random-to-key: `keyLength` random bytes become a key. */
  randomToKey(bytes: Uint8Array): Uint8Array;
  /** Encrypt `plaintext` under `key` for `usage`; `confounder` is for test vectors. */
  encrypt(
    key: Uint8Array,
    usage: number,
    plaintext: Uint8Array,
    confounder?: Uint8Array,
  ): Uint8Array;
  /** Decrypt; throws KerberosCryptoError "integrity" when the MAC does not verify. */
  decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Uint8Array;
  /** The keyed checksum (`checksumType`) of `data` for `usage`. */
  checksum(key: Uint8Array, usage: number, data: Uint8Array): Uint8Array;
  /** True when `cksum` is the checksum of `data`; constant-time comparison. */
  verifyChecksum(key: Uint8Array, usage: number, data: Uint8Array, cksum: Uint8Array): boolean;
  /** A fresh random key (random-to-key of fresh randomness). */
  generateKey(): Uint8Array;
  /** PRF output length in bytes (16 for 17/18, 32 for 19, 48 for 20). */
  readonly prfLength: number;
  /** The RFC 3961 §3 pseudo-random function of the enctype (RFC 3962 §6 / RFC 8009 §5). */
  prf(key: Uint8Array, input: Uint8Array): Uint8Array;
}

/** A keyed checksum type (RFC 3961 §4), as a PAC signature or a KRB-SAFE names it. */
export interface ChecksumType {
  readonly cksumtype: number;
  readonly name: string;
  /** The enctype whose keys this checksum uses. */
  readonly etype: number;
  readonly length: number;
  checksum(key: Uint8Array, usage: number, data: Uint8Array): Uint8Array;
  verify(key: Uint8Array, usage: number, data: Uint8Array, cksum: Uint8Array): boolean;
}

/** Injected randomness (confounders, session keys) and an optional derived-key cache. */
export interface CryptoDeps {
  randomBytes(n: number): Uint8Array;
  derivedKeys?: DerivedKeyCache;
  /**
   * Enctype and checksum objects made for these deps, kept by `getEnctype` /
   * `getChecksumType` so a hot path (a KDC) does not rebuild them per call.
   */
  instances?: Map<number, Enctype | ChecksumType>;
}
