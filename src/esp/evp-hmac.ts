/**
 * The HMAC transforms' crypto for the packet loops (ESP-NULL and AES-CBC with HMAC, and
 * AH), straight from libcrypto through koffi as src/esp/evp-gcm.ts does for AES-GCM: one
 * keyed context per SA, reused for every packet, working on the packet where it lies.
 *   HMAC:    HMAC_Init_ex(NULL key: restart from the keyed state), HMAC_Update over the
 *            covered bytes (one call when they are contiguous), HMAC_Final into scratch,
 *            the truncated ICV copied out (HMAC-SHA-256-128 keeps 16 of 32 bytes).
 *   AES-CBC: EVP_CipherInit_ex(NULL cipher, NULL key, IV) then one EVP_CipherUpdate in place
 *            (padding off: ESP pads to the block itself, RFC 4303 §2.4).
 * node:crypto's createHmac imports the key and builds an object and a digest per packet
 * (~2.6-3.3 us, src/crypto/libcrypto.ts), and the old path sealed into chunks then copied
 * them back into the slot. The algorithms are the same OpenSSL ones: the tests check the
 * bytes against node:crypto and the RFC 4868 / 2404 vectors.
 *
 * Views outside the provider's native block are copied through a scratch area (so any
 * Uint8Array works; zero-copy only in the block). `loadEvpHmac` returns null when
 * libcrypto cannot be loaded: callers then use node:crypto.
 */
import { type KeyedHashAlg, loadEvpCipherCalls, loadHmacCalls } from "../crypto/libcrypto.js";
import { allocNative, type NativeBlock } from "../platform/libc.js";

/** Largest run one call takes (an IPv4 datagram); longer data goes in chunks. */
const MAX_DATA = 65_536;

/** One keyed HMAC (one SA direction). Every method is per packet: no throw. */
export interface HmacContext {
  /** The ICV of the concatenation of `parts` (empty ones allowed), truncated to `icv.length`. */
  mac(parts: readonly Uint8Array[], icv: Uint8Array): boolean;
  free(): void;
}

/** One keyed AES-CBC context without padding (one SA direction). */
export interface CbcContext {
  /** CBC from `iv` (16 bytes) over whole blocks of `src` into `dst` (may be the same memory). */
  run(iv: Uint8Array, src: Uint8Array, dst: Uint8Array): boolean;
  free(): void;
}

export interface EvpHmac {
  /** Null when OpenSSL refuses the key (never for HMAC) or has no memory. */
  hmac(alg: KeyedHashAlg, key: Uint8Array): HmacContext | null;
  /** A context for a 16- or 32-byte key; encrypt = true for an outbound SA. */
  cbc(key: Uint8Array, encrypt: boolean): CbcContext | null;
}

/** Scratch layout: [0,16) IV, [16,24) length out, [64,128) digest, [128,256) key, then data. */
const IV = 0;
const OUTL = 16;
const MD = 64;
const KEY = 128;
const DATA = 256;

/** Views into `block` are used in place; anything else is copied through a scratch area. */
export function loadEvpHmac(block: NativeBlock): EvpHmac | null {
  const h = loadHmacCalls();
  const c = loadEvpCipherCalls();
  if (h === null || c === null) return null;
  const scratch = allocNative(DATA + MAX_DATA);
  const s = scratch.address;
  const mem = scratch.bytes;

  /** Feeds `d` to the HMAC: by address when it lies in the block, else through scratch. */
  const update = (ctx: number, d: Uint8Array): boolean => {
    const where = block.addressOf(d);
    if (where >= 0) return d.length === 0 || h.update(ctx, where, d.length) === 1;
    for (let at = 0; at < d.length; at += MAX_DATA) {
      const n = Math.min(MAX_DATA, d.length - at);
      mem.set(d.subarray(at, at + n), DATA);
      if (h.update(ctx, s + DATA, n) !== 1) return false;
    }
    return true;
  };

  const hmac = (alg: KeyedHashAlg, key: Uint8Array): HmacContext | null => {
    if (key.length > 128) return null;
    const ctx = h.ctxNew();
    if (!ctx) return null;
    mem.set(key, KEY);
    const ok = h.init(ctx, s + KEY, key.length, h.mds[alg], 0);
    mem.fill(0, KEY, KEY + key.length);
    if (ok !== 1) {
      h.ctxFree(ctx);
      return null;
    }
    let freed = false;
    return {
      mac(parts, icv) {
        if (freed || icv.length > 64 || h.init(ctx, 0, 0, 0, 0) !== 1) return false;
        for (const p of parts) if (!update(ctx, p)) return false;
        if (h.final(ctx, s + MD, s + OUTL) !== 1) return false;
        icv.set(mem.subarray(MD, MD + icv.length));
        return true;
      },
      free() {
        if (!freed) h.ctxFree(ctx);
        freed = true;
      },
    };
  };

  const cbc = (key: Uint8Array, encrypt: boolean): CbcContext | null => {
    if (key.length !== 16 && key.length !== 32) return null;
    const ctx = c.ctxNew();
    if (!ctx) return null;
    mem.set(key, KEY);
    const ok = c.init(ctx, c.ciphers.cbc[key.length as 16 | 32], 0, s + KEY, 0, encrypt ? 1 : 0);
    mem.fill(0, KEY, KEY + key.length);
    if (ok !== 1 || c.padding(ctx, 0) !== 1) {
      c.ctxFree(ctx);
      return null;
    }
    let freed = false;
    return {
      run(iv, src, dst) {
        const len = src.length;
        if (freed || iv.length !== 16 || len % 16 !== 0 || len > MAX_DATA || dst.length < len)
          return false;
        mem.set(iv, IV);
        if (c.init(ctx, 0, 0, 0, s + IV, -1) !== 1) return false;
        if (len === 0) return true;
        const inA = block.addressOf(src);
        const outA = block.addressOf(dst);
        if (inA >= 0 && outA >= 0) return c.update(ctx, outA, s + OUTL, inA, len) === 1;
        mem.set(src, DATA);
        if (c.update(ctx, s + DATA, s + OUTL, s + DATA, len) !== 1) return false;
        dst.set(mem.subarray(DATA, DATA + len));
        return true;
      },
      free() {
        if (!freed) c.ctxFree(ctx);
        freed = true;
      },
    };
  };
  return { hmac, cbc };
}
