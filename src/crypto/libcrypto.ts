/**
 * Keyed HMAC and AES contexts straight from OpenSSL's libcrypto through koffi, for the
 * per-message work of the KDC and the acceptor (src/crypto/primitives.ts decides when), and
 * the EVP cipher and HMAC calls the ESP data path's per-SA contexts use (src/esp/evp-gcm.ts,
 * src/esp/evp-hmac.ts): the one place that binds libcrypto. The algorithms are node:crypto's (both are OpenSSL 3); what
 * changes is the cost of a call on this VM, measured with 8 HMAC-SHA1 per TGS exchange:
 *
 *   node:crypto createHmac(key).update(data).digest()  2.6 us (12 B) .. 3.3 us (1,000 B)
 *   a keyed HMAC_CTX here: Init(NULL key) Update Final  0.3 us (12 B) .. 0.9 us (1,000 B)
 *
 * (createHmac imports the key and makes an object and a digest Buffer every time.) A context
 * is keyed once: HMAC_Init_ex with a NULL key restarts from the keyed inner state; an AES
 * context restarts from a new IV with EVP_CipherInit_ex(NULL cipher, NULL key). Data goes
 * through one native scratch block per thread, in chunks, so any Uint8Array works.
 *
 * Contexts are freed when the function that uses one is collected (FinalizationRegistry).
 * koffi is loaded on first use, so commands that never need a keyed context never load it.
 * `loadLibcrypto()` is null when libcrypto.so.3 cannot be loaded: callers use node:crypto.
 */
import { createRequire } from "node:module";

export type KeyedHashAlg = "sha1" | "sha256" | "sha384";

/** Data given to a keyed HMAC: one array, or parts MACed as their concatenation. */
export type MacInput = Uint8Array | readonly Uint8Array[];

export interface Libcrypto {
  /** HMAC with `key` for many messages; the digest is a fresh array. Null on an OpenSSL failure. */
  hmac(alg: KeyedHashAlg, key: Uint8Array): ((data: MacInput) => Uint8Array) | null;
  /**
   * AES-CBC encryption without padding on a keyed context; each call is an independent CBC
   * from its own IV, writing `blocks.length` bytes to `out`. Null for a bad key length.
   */
  aesCbcEncrypt(
    key: Uint8Array,
  ): ((iv: Uint8Array, blocks: Uint8Array, out: Uint8Array) => void) | null;
  /** AES-ECB decryption of whole blocks into `out` on a keyed context. */
  aesEcbDecrypt(key: Uint8Array): ((blocks: Uint8Array, out: Uint8Array) => void) | null;
  /** AES-ECB encryption of whole blocks into `out` on a keyed context. */
  aesEcbEncrypt(key: Uint8Array): ((blocks: Uint8Array, out: Uint8Array) => void) | null;
  /**
   * One message under a key that is not kept (a first use): the thread's shared context
   * for the algorithm, keyed again for this call; no context is made or freed.
   */
  hmacOnce(alg: KeyedHashAlg, key: Uint8Array, data: MacInput): Uint8Array;
  /** AES on whole blocks, once: CBC encryption from `iv`, or ECB (`iv` undefined) either way. */
  aesOnce(
    encrypt: boolean,
    key: Uint8Array,
    iv: Uint8Array | undefined,
    src: Uint8Array,
    out: Uint8Array,
  ): void;
}

type Fn = (...args: unknown[]) => number;

/** Scratch layout: [0,64) key, [64,80) IV, [80,88) length out, [128,192) digest, then data. */
const KEY = 0;
const IV = 64;
const LEN = 80;
const MD = 128;
const DATA = 256;
/** Data per native call; longer inputs go in chunks (HMAC and CBC carry their state). */
const CHUNK = 16384;

/**
 * libcrypto's EVP cipher calls (koffi bindings on addresses), shared by the keyed contexts
 * here and the ESP data path's AES-GCM (src/esp/evp-gcm.ts).
 */
export interface EvpCipherCalls {
  ctxNew: Fn;
  ctxFree: Fn;
  /** EVP_CipherInit_ex(ctx, cipher, engine, key, iv, enc). */
  init: Fn;
  padding: Fn;
  /** EVP_CipherUpdate(ctx, out, outl, in, inl). */
  update: Fn;
  final: Fn;
  ctrl: Fn;
  /** EVP_CIPHER pointers by mode and key length in bytes. */
  ciphers: Record<"cbc" | "ecb" | "gcm", Record<16 | 32, number>>;
}

/**
 * libcrypto's HMAC_CTX calls (koffi bindings on addresses), shared by the keyed contexts
 * here and the ESP data path's HMAC transforms and AH (src/esp/evp-hmac.ts).
 */
export interface HmacCalls {
  ctxNew: Fn;
  ctxFree: Fn;
  /** HMAC_Init_ex(ctx, key, len, md, engine); a NULL key and md restart from the keyed state. */
  init: Fn;
  /** HMAC_Update(ctx, data, len). */
  update: Fn;
  /** HMAC_Final(ctx, md, len): the whole digest (up to 64 bytes) at `md`. */
  final: Fn;
  /** EVP_MD pointers. */
  mds: Record<KeyedHashAlg, number>;
}

interface Bound {
  koffi: typeof import("koffi");
  evp: EvpCipherCalls;
  hmac: HmacCalls;
}

let bound: Bound | null | undefined;

/** libcrypto.so.3 through koffi, loaded once per thread; null when either cannot be loaded. */
function library(): Bound | null {
  if (bound !== undefined) return bound;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require("koffi") as typeof import("koffi");
    const lib = koffi.load("libcrypto.so.3");
    const f = (sig: string) => lib.func(sig) as unknown as Fn;
    const cipher = (name: string) => Number(f(`uintptr_t EVP_${name}()`)());
    const evp: EvpCipherCalls = {
      ctxNew: f("uintptr_t EVP_CIPHER_CTX_new()"),
      ctxFree: f("void EVP_CIPHER_CTX_free(uintptr_t ctx)"),
      init: f(
        "int EVP_CipherInit_ex(uintptr_t ctx, uintptr_t type, uintptr_t engine, uintptr_t key, uintptr_t iv, int enc)",
      ),
      padding: f("int EVP_CIPHER_CTX_set_padding(uintptr_t ctx, int pad)"),
      update: f(
        "int EVP_CipherUpdate(uintptr_t ctx, uintptr_t out, uintptr_t outl, uintptr_t in, int inl)",
      ),
      final: f("int EVP_CipherFinal_ex(uintptr_t ctx, uintptr_t out, uintptr_t outl)"),
      ctrl: f("int EVP_CIPHER_CTX_ctrl(uintptr_t ctx, int type, int arg, uintptr_t ptr)"),
      ciphers: {
        cbc: { 16: cipher("aes_128_cbc"), 32: cipher("aes_256_cbc") },
        ecb: { 16: cipher("aes_128_ecb"), 32: cipher("aes_256_ecb") },
        gcm: { 16: cipher("aes_128_gcm"), 32: cipher("aes_256_gcm") },
      },
    };
    const hmac: HmacCalls = {
      ctxNew: f("uintptr_t HMAC_CTX_new()"),
      ctxFree: f("void HMAC_CTX_free(uintptr_t ctx)"),
      init: f(
        "int HMAC_Init_ex(uintptr_t ctx, uintptr_t key, int len, uintptr_t md, uintptr_t engine)",
      ),
      update: f("int HMAC_Update(uintptr_t ctx, uintptr_t data, size_t len)"),
      final: f("int HMAC_Final(uintptr_t ctx, uintptr_t md, uintptr_t len)"),
      mds: {
        sha1: Number(f("uintptr_t EVP_sha1()")()),
        sha256: Number(f("uintptr_t EVP_sha256()")()),
        sha384: Number(f("uintptr_t EVP_sha384()")()),
      },
    };
    bound = { koffi, evp, hmac };
  } catch {
    bound = null;
  }
  return bound;
}

/** The EVP cipher calls, or null when libcrypto cannot be loaded. */
export function loadEvpCipherCalls(): EvpCipherCalls | null {
  return library()?.evp ?? null;
}

/** The HMAC_CTX calls, or null when libcrypto cannot be loaded. */
export function loadHmacCalls(): HmacCalls | null {
  return library()?.hmac ?? null;
}

let loaded: Libcrypto | null | undefined;

/** libcrypto's keyed contexts, or null when the library (or koffi) cannot be loaded. */
export function loadLibcrypto(): Libcrypto | null {
  if (loaded === undefined) {
    const b = library();
    try {
      loaded = b && bind(b);
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

function bind({ koffi, evp, hmac: h }: Bound): Libcrypto {
  const {
    ctxNew: hmacNew,
    ctxFree: hmacFree,
    init: hmacInit,
    update: hmacUpdate,
    final: hmacFinal,
    mds,
  } = h;
  const {
    ctxNew: cipherNew,
    ctxFree: cipherFree,
    init: cipherInit,
    padding: cipherPadding,
    update: cipherUpdate,
    ciphers,
  } = evp;
  // Never freed: one per thread, for the thread's life.
  const block = koffi.alloc("uint8_t", DATA + 2 * CHUNK);
  const mem = new Uint8Array(koffi.view(block, DATA + 2 * CHUNK)); // not a Buffer: slice copies
  const lengthOut = new DataView(mem.buffer, mem.byteOffset + LEN, 4);
  const s = Number(koffi.address(block));
  const hmacs = new FinalizationRegistry<number>((ctx) => hmacFree(ctx));
  const aesCtxs = new FinalizationRegistry<number>((ctx) => cipherFree(ctx));

  /** A context keyed with `key` (copied through scratch, then wiped), or 0. */
  const keyed = (make: () => number, init: (ctx: number) => number, key: Uint8Array): number => {
    const ctx = make();
    if (!ctx) return 0;
    mem.set(key, KEY);
    const ok = init(ctx);
    mem.fill(0, KEY, KEY + key.length);
    return ok === 1 ? ctx : 0;
  };

  const aesContext = (mode: "cbc" | "ecb", key: Uint8Array, enc: 0 | 1): number => {
    if (key.length !== 16 && key.length !== 32) return 0;
    const ctx = keyed(
      cipherNew,
      (c) => cipherInit(c, ciphers[mode][key.length as 16 | 32], 0, s + KEY, s + IV, enc),
      key,
    );
    if (ctx) cipherPadding(ctx, 0);
    return ctx;
  };

  /** Runs whole blocks of `src` through `ctx` into `out`, in chunks; false on a failure. */
  const blocks = (ctx: number, src: Uint8Array, out: Uint8Array): boolean => {
    for (let at = 0; at < src.length; at += CHUNK) {
      const n = Math.min(CHUNK, src.length - at);
      mem.set(src.subarray(at, at + n), DATA);
      if (cipherUpdate(ctx, s + DATA + CHUNK, s + LEN, s + DATA, n) !== 1) return false;
      out.set(mem.subarray(DATA + CHUNK, DATA + CHUNK + n), at);
    }
    return true;
  };

  /** HMAC of `data` on `ctx`, from its keyed state (`rekey` done by the caller, or a NULL-key restart). */
  const macOn = (ctx: number, alg: KeyedHashAlg, data: MacInput, restart: boolean): Uint8Array => {
    const update = (d: Uint8Array): boolean => {
      for (let at = 0; at < d.length; at += CHUNK) {
        const n = Math.min(CHUNK, d.length - at);
        mem.set(d.subarray(at, at + n), DATA);
        if (hmacUpdate(ctx, s + DATA, n) !== 1) return false;
      }
      return true;
    };
    let ok = !restart || hmacInit(ctx, 0, 0, 0, 0) === 1;
    if (data instanceof Uint8Array) ok &&= update(data);
    else for (const d of data) ok &&= update(d);
    ok &&= hmacFinal(ctx, s + MD, s + LEN) === 1;
    if (!ok) throw new Error(`libcrypto HMAC-${alg} failed`);
    return mem.slice(MD, MD + lengthOut.getUint32(0, true));
  };

  // The shared contexts of the one-off calls (never freed: one set per thread).
  const sharedHmac = hmacNew();
  const sharedAes = { cbc: cipherNew(), ecbEnc: cipherNew(), ecbDec: cipherNew() };
  if (!sharedHmac || !sharedAes.cbc || !sharedAes.ecbEnc || !sharedAes.ecbDec)
    throw new Error("libcrypto: no memory for contexts");

  const ecb = (key: Uint8Array, enc: 0 | 1) => {
    const ctx = aesContext("ecb", key, enc);
    if (!ctx) return null;
    const run = (src: Uint8Array, out: Uint8Array) => {
      if (src.length % 16 !== 0 || out.length < src.length)
        throw new RangeError(`AES-ECB: ${src.length} bytes (whole blocks of 16)`);
      if (!blocks(ctx, src, out)) throw new Error("libcrypto AES-ECB failed");
    };
    aesCtxs.register(run, ctx);
    return run;
  };

  return {
    hmac(alg, key) {
      const md = mds[alg];
      const ctx = keyed(hmacNew, (c) => hmacInit(c, s + KEY, key.length, md, 0), key);
      if (!ctx) return null;
      const mac = (data: MacInput): Uint8Array => macOn(ctx, alg, data, true);
      hmacs.register(mac, ctx);
      return mac;
    },
    hmacOnce(alg, key, data) {
      mem.set(key, KEY);
      const ok = hmacInit(sharedHmac, s + KEY, key.length, mds[alg], 0);
      mem.fill(0, KEY, KEY + key.length);
      if (ok !== 1) throw new Error(`libcrypto HMAC-${alg} failed`);
      return macOn(sharedHmac, alg, data, false);
    },
    aesOnce(encrypt, key, iv, src, out) {
      if (
        (key.length !== 16 && key.length !== 32) ||
        src.length % 16 !== 0 ||
        out.length < src.length
      )
        throw new RangeError(`AES: key ${key.length}, ${src.length} bytes (whole blocks of 16)`);
      if (iv !== undefined && (iv.length !== 16 || !encrypt))
        throw new RangeError("AES-CBC once: encryption with a 16-byte IV");
      const ctx = iv ? sharedAes.cbc : encrypt ? sharedAes.ecbEnc : sharedAes.ecbDec;
      const cipher = ciphers[iv ? "cbc" : "ecb"][key.length as 16 | 32];
      mem.set(key, KEY);
      if (iv) mem.set(iv, IV);
      const ok = cipherInit(ctx, cipher, 0, s + KEY, s + IV, encrypt ? 1 : 0);
      mem.fill(0, KEY, KEY + key.length);
      if (ok !== 1 || cipherPadding(ctx, 0) !== 1 || !blocks(ctx, src, out))
        throw new Error("libcrypto AES failed");
    },
    aesCbcEncrypt(key) {
      const ctx = aesContext("cbc", key, 1);
      if (!ctx) return null;
      const run = (iv: Uint8Array, src: Uint8Array, out: Uint8Array) => {
        if (iv.length !== 16 || src.length % 16 !== 0 || out.length < src.length)
          throw new RangeError(`AES-CBC: ${src.length} bytes / IV ${iv.length} (whole blocks, 16)`);
        mem.set(iv, IV);
        if (cipherInit(ctx, 0, 0, 0, s + IV, -1) !== 1 || !blocks(ctx, src, out))
          throw new Error("libcrypto AES-CBC failed");
      };
      aesCtxs.register(run, ctx);
      return run;
    },
    aesEcbDecrypt: (key) => ecb(key, 0),
    aesEcbEncrypt: (key) => ecb(key, 1),
  };
}
