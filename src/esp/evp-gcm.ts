/**
 * AES-GCM for the packet loops straight from OpenSSL's libcrypto through koffi, with one
 * keyed EVP_CIPHER_CTX per SA reused for every packet:
 *   seal: 1. CipherInit(nonce) 2. Update(AAD) 3. Update(payload) 4. Final 5. ctrl(GET_TAG)
 *   open: 1. CipherInit(nonce) 2. ctrl(SET_TAG) 3. Update(AAD) 4. Update(ct) 5. Final = ok
 * node:crypto builds a Cipher object per packet (createCipheriv ~2.5-4.5 us with its
 * buffers), and koffi marshals a Buffer argument in ~0.6 us; on addresses of native memory
 * the whole seal of a 1,400-byte packet takes ~0.8 us (docs/datapath.md "Per-packet cost").
 *
 * The same algorithm as src/crypto/primitives.ts's aesGcmSeal/Open (RFC 4106 uses plain
 * AES-GCM with a 12-byte nonce and a 16-byte tag), only a cheaper way to call OpenSSL; the
 * tests check both produce the same bytes. Views outside the provider's native block are
 * copied through a scratch area, so any Buffer works (zero-copy only in native memory).
 * `loadEvpGcm` returns null when libcrypto cannot be loaded: callers use node:crypto then.
 */
import { loadEvpCipherCalls } from "../crypto/libcrypto.js";
import { allocNative, type NativeBlock } from "../platform/libc.js";
import { type EvpHmac, loadEvpHmac } from "./evp-hmac.js";

const EVP_CTRL_GCM_GET_TAG = 0x10;
const EVP_CTRL_GCM_SET_TAG = 0x11;
/** Largest payload one call takes (an IPv4 datagram). */
const MAX_DATA = 65_536;
const TAG_BYTES = 16;

/** One packet on addresses of native memory (see GcmContext.sealAt). */
export type GcmAt = (
  nonce: number,
  aad: number,
  aadLength: number,
  data: number,
  length: number,
  tag: number,
) => boolean;

/** One keyed AES-GCM context (one SA direction). Every method is per packet: no throw. */
export interface GcmContext {
  /**
   * Encrypts `src` into `dst` (same length; may be the same memory) and writes the 16-byte
   * tag to `tag`. `nonce` is 12 bytes, `aad` 8 or 12. False when OpenSSL fails.
   */
  seal(
    nonce: Uint8Array,
    aad: Uint8Array,
    src: Uint8Array,
    dst: Uint8Array,
    tag: Uint8Array,
  ): boolean;
  /** Decrypts `src` into `dst` and verifies `tag`; false when the tag does not verify. */
  open(
    nonce: Uint8Array,
    aad: Uint8Array,
    src: Uint8Array,
    dst: Uint8Array,
    tag: Uint8Array,
  ): boolean;
  /**
   * `seal` on addresses of native memory, for callers that know where their packet lies
   * (no view, no lookup): the 12-byte nonce at `nonce` (e.g. `EvpGcm.nonce`), `aadLength`
   * bytes of AAD at `aad`, `length` bytes at `data` encrypted where they lie, the tag
   * written at `tag`.
   */
  sealAt: GcmAt;
  /** `open` on addresses, decrypting in place; false when the tag does not verify. */
  openAt: GcmAt;
  free(): void;
}

export interface EvpGcm {
  /** A context for a 16- or 32-byte key; encrypt = true for an outbound SA. */
  context(key: Uint8Array, encrypt: boolean): GcmContext | null;
  /**
   * The HMAC transforms' and AH's keyed contexts on the same block (src/esp/evp-hmac.ts),
   * so the data path hands its SAs one native provider for every transform.
   */
  hmac: EvpHmac | null;
  /** The native block whose views the contexts use without copying. */
  block: NativeBlock;
  /**
   * Native memory for `sealAt`/`openAt`'s nonce (12 bytes at `address`) and an AAD of up to
   * 16 bytes (at `address + 16`), one per provider: a worker seals one packet at a time.
   */
  nonce: { bytes: Buffer; address: number };
}

/**
 * Scratch layout in the provider's block: [0,16) nonce, [16,32) AAD, [32,48) tag,
 * [48,52) outl, [64,96) key, [128, 128 + MAX_DATA) data for views outside the block.
 */
const NONCE = 0;
const AAD = 16;
const TAG = 32;
const OUTL = 48;
const KEY = 64;
const DATA = 128;

/**
 * Loads libcrypto; null when it is not there. Views into `block` (the caller's packet
 * memory) are used in place; anything else is copied through a scratch area.
 */
export function loadEvpGcm(block: NativeBlock): EvpGcm | null {
  const b = loadEvpCipherCalls();
  if (b === null) return null;
  const scratch = allocNative(DATA + MAX_DATA + 64);
  const s = scratch.address;
  const at = (view: Uint8Array, into: number): number => {
    const a = block.addressOf(view);
    if (a >= 0) return a;
    scratch.bytes.set(view, into);
    return s + into;
  };
  const context = (key: Uint8Array, encrypt: boolean): GcmContext | null => {
    if (key.length !== 16 && key.length !== 32) return null;
    const ctx = b.ctxNew();
    if (!ctx) return null;
    scratch.bytes.set(key, KEY);
    const ok = b.init(ctx, b.ciphers.gcm[key.length as 16 | 32], 0, s + KEY, 0, encrypt ? 1 : 0);
    scratch.bytes.fill(0, KEY, KEY + 32);
    if (ok !== 1) {
      b.ctxFree(ctx);
      return null;
    }
    let freed = false;
    /** One packet on addresses: `len` bytes from `inA` to `outA`, the tag at `tagA`. */
    const runAt = (
      nonceA: number,
      aadA: number,
      aadLen: number,
      inA: number,
      outA: number,
      len: number,
      tagA: number,
    ): boolean => {
      if (freed || len > MAX_DATA || aadLen > 16) return false;
      if (b.init(ctx, 0, 0, 0, nonceA, -1) !== 1) return false;
      if (!encrypt && b.ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tagA) !== 1) return false;
      if (b.update(ctx, 0, s + OUTL, aadA, aadLen) !== 1) return false;
      if (len > 0 && b.update(ctx, outA, s + OUTL, inA, len) !== 1) return false;
      if (b.final(ctx, outA + len, s + OUTL) !== 1) return false;
      return !encrypt || b.ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, tagA) === 1;
    };
    /** Runs one packet; the data goes through scratch unless src and dst are both in the block. */
    const run = (
      nonce: Uint8Array,
      aad: Uint8Array,
      src: Uint8Array,
      dst: Uint8Array,
      tag: Uint8Array,
    ): boolean => {
      const len = src.length;
      if (len > MAX_DATA || dst.length < len || aad.length > 16 || tag.length !== TAG_BYTES)
        return false;
      const srcA = block.addressOf(src);
      const dstA = block.addressOf(dst);
      const direct = srcA >= 0 && dstA >= 0;
      const tagA = at(tag, TAG);
      const inA = direct ? srcA : at(src, DATA);
      const outA = direct ? dstA : s + DATA;
      if (!runAt(at(nonce, NONCE), at(aad, AAD), aad.length, inA, outA, len, tagA)) return false;
      if (!direct) dst.set(scratch.bytes.subarray(DATA, DATA + len));
      if (encrypt && tagA === s + TAG) tag.set(scratch.bytes.subarray(TAG, TAG + TAG_BYTES));
      return true;
    };
    return {
      seal: (nonce, aad, src, dst, tag) => encrypt && run(nonce, aad, src, dst, tag),
      open: (nonce, aad, src, dst, tag) => !encrypt && run(nonce, aad, src, dst, tag),
      sealAt: (nonce, aad, aadLen, data, len, tag) =>
        encrypt && runAt(nonce, aad, aadLen, data, data, len, tag),
      openAt: (nonce, aad, aadLen, data, len, tag) =>
        !encrypt && runAt(nonce, aad, aadLen, data, data, len, tag),
      free: () => {
        if (!freed) b.ctxFree(ctx);
        freed = true;
      },
    };
  };
  const nonceBlock = allocNative(32);
  return {
    context,
    hmac: loadEvpHmac(block),
    block,
    nonce: { bytes: nonceBlock.bytes, address: nonceBlock.address },
  };
}
