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
 * The packet loops run every transform on libcrypto contexts keyed once per SA, in place
 * (src/esp/evp-gcm.ts, evp-hmac.ts); elsewhere node:crypto through src/crypto/primitives.ts.
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
import type { EvpGcm, GcmContext } from "./evp-gcm.js";
import type { CbcContext, HmacContext } from "./evp-hmac.js";
import { assertNever } from "../errors.js";

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
    default:
      return assertNever(name, "name");
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
  /**
   * Zero-copy seal: `body` is laid out as IV space || plaintext (payload, padding, pad
   * length, next header) || ICV space; writes the IV, encrypts the plaintext where it lies
   * and writes the ICV. False when the cipher failed (a counted drop, never a throw).
   */
  sealInPlace(
    header: Uint8Array,
    seqHi: number,
    esn: boolean,
    iv: Uint8Array,
    body: Uint8Array,
  ): boolean;
  /**
   * `body` as for `open`; returns the plaintext (decrypted where it lies when the cipher
   * can, else a new buffer), or null. `body` may be overwritten even when the ICV fails.
   */
  openInPlace(header: Uint8Array, seqHi: number, esn: boolean, body: Uint8Array): Uint8Array | null;
}

/**
 * `gcm`: the packet loops' libcrypto provider (src/esp/evp-gcm.ts): AES-GCM, and through
 * its `hmac` member HMAC and AES-CBC (src/esp/evp-hmac.ts), each on a context keyed once
 * per SA; without it (or when it cannot key a context) node:crypto does the work.
 * Call `free` (when present) once the SA is gone.
 */
export function createEspCipher(
  name: TransformName,
  encKey: Uint8Array,
  authKey: Uint8Array,
  gcm?: { provider: EvpGcm; encrypt: boolean },
): EspCipher & { free?: () => void } {
  const spec = transformSpec(name);
  if (encKey.length !== spec.encKeyBytes || authKey.length !== spec.authKeyBytes) {
    throw new RangeError(
      `${name}: keys must be ${spec.encKeyBytes} + ${spec.authKeyBytes} bytes, got ${encKey.length} + ${authKey.length}`,
    );
  }
  if (name === "aes128gcm16" || name === "aes256gcm16") {
    const ctx = gcm?.provider.context(encKey.subarray(0, encKey.length - 4), gcm.encrypt);
    return ctx && gcm ? createNativeGcm(spec, encKey, ctx, gcm.provider) : createGcm(spec, encKey);
  }
  const alg = name.endsWith("sha256") ? "sha256" : "sha1";
  const native = gcm?.provider.hmac;
  const mac = native?.hmac(alg, authKey) ?? null;
  const cbc = spec.encKeyBytes > 0 ? (native?.cbc(encKey, gcm?.encrypt ?? true) ?? null) : null;
  if (mac !== null && (cbc !== null || spec.encKeyBytes === 0))
    return createNativeEncThenMac(spec, mac, cbc);
  mac?.free();
  cbc?.free();
  return createEncThenMac(spec, encKey, authKey, alg);
}

/**
 * One view over `a` then `b` when they are adjacent in one buffer (ESP's header and body
 * always are in the packet loops), so the HMAC reads them in one call; else null.
 */
function adjacent(a: Uint8Array, b: Uint8Array): Uint8Array | null {
  return a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset
    ? new Uint8Array(a.buffer, a.byteOffset, a.length + b.length)
    : null;
}

/**
 * Encrypt-then-MAC (RFC 4303 §3.3.2, §3.4.4) on libcrypto contexts, in place: the ICV is
 * computed over header || IV || ciphertext where they lie (no concatenation), written to the
 * ICV's own bytes on seal and compared before anything is decrypted on open. Same bytes as
 * createEncThenMac (the tests check it). `cbc` null: NULL encryption.
 */
function createNativeEncThenMac(
  spec: TransformSpec,
  mac: HmacContext,
  cbc: CbcContext | null,
): EspCipher & { free: () => void } {
  const { ivBytes, icvBytes, align } = spec;
  const hi = Buffer.alloc(4);
  const want = Buffer.alloc(icvBytes);
  const icvInto = (
    header: Uint8Array,
    seqHi: number,
    esn: boolean,
    covered: Uint8Array,
    out: Uint8Array,
  ): boolean => {
    const one = adjacent(header.subarray(0, 8), covered);
    const parts = one ? [one] : [header.subarray(0, 8), covered];
    if (esn) {
      hi.writeUInt32BE(seqHi >>> 0, 0);
      parts.push(hi);
    }
    return mac.mac(parts, out);
  };
  const sealInPlace: EspCipher["sealInPlace"] = (header, seqHi, esn, iv, body) => {
    const ctLength = body.length - ivBytes - icvBytes;
    if (ctLength <= 0 || ctLength % align !== 0 || iv.length < ivBytes) return false;
    const ivPart = body.subarray(0, ivBytes);
    ivPart.set(iv.subarray(0, ivBytes));
    const plain = body.subarray(ivBytes, ivBytes + ctLength);
    if (cbc !== null && !cbc.run(ivPart, plain, plain)) return false;
    const covered = body.subarray(0, ivBytes + ctLength);
    return icvInto(header, seqHi, esn, covered, body.subarray(ivBytes + ctLength));
  };
  const openInPlace: EspCipher["openInPlace"] = (header, seqHi, esn, body) => {
    const ctLength = body.length - ivBytes - icvBytes;
    if (ctLength <= 0 || ctLength % align !== 0) return null;
    const covered = body.subarray(0, ivBytes + ctLength);
    if (!icvInto(header, seqHi, esn, covered, want)) return null;
    if (!equalConstantTime(want, body.subarray(ivBytes + ctLength))) return null;
    const ct = body.subarray(ivBytes, ivBytes + ctLength);
    if (cbc !== null && !cbc.run(body.subarray(0, ivBytes), ct, ct)) return null;
    return ct;
  };
  return {
    spec,
    sealInPlace,
    openInPlace,
    ...copyingOut(spec, sealInPlace, openInPlace),
    free() {
      mac.free();
      cbc?.free();
    },
  };
}

/**
 * `seal`/`open` for ciphers that work in place (the native ones): the plaintext copied into a
 * new body between IV and ICV room, sealed there; a copy of the body opened.
 */
function copyingOut(
  spec: TransformSpec,
  sealInPlace: EspCipher["sealInPlace"],
  openInPlace: EspCipher["openInPlace"],
): Pick<EspCipher, "seal" | "open"> {
  const { ivBytes, icvBytes } = spec;
  return {
    seal(header, seqHi, esn, plaintext, iv) {
      const plainBytes = plaintext.reduce((n, p) => n + p.length, 0);
      const body = Buffer.allocUnsafe(ivBytes + plainBytes + icvBytes);
      let at = ivBytes;
      for (const p of plaintext) {
        body.set(p, at);
        at += p.length;
      }
      if (!sealInPlace(header, seqHi, esn, iv, body)) throw new Error(`${spec.name} seal failed`);
      return [body];
    },
    open(header, seqHi, esn, body) {
      const plain = openInPlace(header, seqHi, esn, Buffer.from(body));
      return plain === null ? null : Buffer.from(plain.buffer, plain.byteOffset, plain.length);
    },
  };
}

/** The in-place methods for ciphers that work on copies: seal/open, then copy back. */
function copyingInPlace(
  c: Pick<EspCipher, "spec" | "seal" | "open">,
): Pick<EspCipher, "sealInPlace" | "openInPlace"> {
  const { ivBytes, icvBytes } = c.spec;
  return {
    sealInPlace(header, seqHi, esn, iv, body) {
      const plain = body.subarray(ivBytes, body.length - icvBytes);
      const chunks = c.seal(
        Buffer.from(header.buffer, header.byteOffset, header.length),
        seqHi,
        esn,
        [plain],
        Buffer.from(iv.buffer, iv.byteOffset, iv.length),
      );
      let at = 0;
      for (const chunk of chunks) {
        if (at + chunk.length > body.length) return false;
        body.set(chunk, at);
        at += chunk.length;
      }
      return at === body.length;
    },
    openInPlace(header, seqHi, esn, body) {
      const view = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.length);
      return c.open(view(header), seqHi, esn, view(body));
    },
  };
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
  const c: Pick<EspCipher, "spec" | "seal" | "open"> = {
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
  return { ...c, ...copyingInPlace(c) };
}

/** AES-GCM on a libcrypto context: the same bytes as createGcm, without per-packet objects. */
function createNativeGcm(
  spec: TransformSpec,
  keymat: Uint8Array,
  ctx: GcmContext,
  provider: EvpGcm,
): EspCipher & { free: () => void } {
  const nonce = Buffer.alloc(12);
  nonce.set(keymat.subarray(keymat.length - 4), 0);
  const salt = nonce.readUInt32BE(0);
  const aadFor = (header: Uint8Array, seqHi: number, esn: boolean): Uint8Array => {
    if (!esn) return header.subarray(0, 8);
    const aad = Buffer.alloc(12);
    aad.set(header.subarray(0, 4), 0);
    aad.writeUInt32BE(seqHi >>> 0, 4);
    aad.set(header.subarray(4, 8), 8);
    return aad;
  };
  // The packet loops' path: the packet lies in the provider's block, so the nonce and an ESN
  // AAD are written to native memory and OpenSSL gets addresses (no view, no copy).
  const { block } = provider;
  const n = provider.nonce.bytes;
  const NONCE_AT = provider.nonce.address;
  /** The AAD's address: the header where it lies, or (ESN) the 12 bytes built at +16. */
  const aadAt = (header: Uint8Array, seqHi: number, esn: boolean): number => {
    if (!esn) return block.addressOf(header);
    for (let i = 0; i < 4; i++) n[16 + i] = header[i] as number;
    n.writeUInt32BE(seqHi >>> 0, 20);
    for (let i = 4; i < 8; i++) n[20 + i] = header[i] as number;
    return NONCE_AT + 16;
  };
  /** salt || the 8 bytes of `iv` from `from` into the native nonce. */
  const setNonce = (iv: Uint8Array, from: number) => {
    n.writeUInt32BE(salt, 0);
    for (let i = 0; i < 8; i++) n[4 + i] = iv[from + i] as number;
  };
  const sealInPlace: EspCipher["sealInPlace"] = (header, seqHi, esn, iv, body) => {
    if (body.length < 8 + 16 || iv.length < 8) return false;
    const bodyA = block.addressOf(body);
    const aadA = bodyA >= 0 && header.length >= 8 ? aadAt(header, seqHi, esn) : -1;
    if (aadA >= 0) {
      for (let i = 0; i < 8; i++) body[i] = iv[i] as number;
      setNonce(iv, 0);
      const len = body.length - 24;
      return ctx.sealAt(NONCE_AT, aadA, esn ? 12 : 8, bodyA + 8, len, bodyA + 8 + len);
    }
    nonce.set(iv.subarray(0, 8), 4);
    body.set(iv.subarray(0, 8), 0);
    const plain = body.subarray(8, body.length - 16);
    return ctx.seal(
      nonce,
      aadFor(header, seqHi, esn),
      plain,
      plain,
      body.subarray(body.length - 16),
    );
  };
  const openInPlace: EspCipher["openInPlace"] = (header, seqHi, esn, body) => {
    if (body.length < 8 + 16) return null;
    const bodyA = block.addressOf(body);
    const aadA = bodyA >= 0 && header.length >= 8 ? aadAt(header, seqHi, esn) : -1;
    const ct = body.subarray(8, body.length - 16);
    if (aadA >= 0) {
      setNonce(body, 0);
      const len = body.length - 24;
      return ctx.openAt(NONCE_AT, aadA, esn ? 12 : 8, bodyA + 8, len, bodyA + 8 + len) ? ct : null;
    }
    nonce.set(body.subarray(0, 8), 4);
    const ok = ctx.open(nonce, aadFor(header, seqHi, esn), ct, ct, body.subarray(body.length - 16));
    return ok ? ct : null;
  };
  return {
    spec,
    sealInPlace,
    openInPlace,
    ...copyingOut(spec, sealInPlace, openInPlace),
    free: () => ctx.free(),
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
  const c: Pick<EspCipher, "spec" | "seal" | "open"> = {
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
  return { ...c, ...copyingInPlace(c) };
}
