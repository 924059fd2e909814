/**
 * A bounded cache of derived keys (Kc/Ke/Ki per base key and usage), so a KDC or acceptor
 * that uses the same long-term key for many messages derives each key once. It lives in the
 * object that `createKerberosCrypto` returns (never module state); the oldest entry goes
 * first when full. Derived keys are as secret as the base key: drop the object to forget them.
 */
import {
  aesCbcEncryptor,
  aesEcbDecryptor,
  aesEcbEncryptor,
  aesOnce,
  hmacKeyed,
  hmacOnce,
  type KeyedHashAlg,
  type MacInput,
} from "../../crypto/primitives.js";

export interface DerivedKeyCache {
  get(id: string): Uint8Array | undefined;
  set(id: string, key: Uint8Array): void;
  readonly size: number;
  /**
   * A fast path in front of the ids: derived keys by base key object and (etype, usage,
   * kind), for callers that pass the same key object again (a KDC's krbtgt and service
   * keys). Entries go with the key objects (weak) and hold a copy of the base key, so a key
   * object whose bytes were changed in place is looked up by id again.
   */
  readonly byObject?: WeakMap<Uint8Array, ByObject>;
  /** Keyed OpenSSL contexts per derived key object (cts.ts, the enctypes' MACs), gone with them. */
  readonly contexts?: KeyContextCache;
}

/**
 * The keyed contexts of one key object (a Ke, Ki or Kc, which the derived-key cache hands
 * out as the same object each time, or a base key): an AES-CBC encryptor and an AES-ECB
 * decryptor for Ke, an HMAC for Ki and Kc, the AES-ECB encryptor that derives from a base
 * key. A key's first use goes through the shared one-off contexts (primitives.ts `hmacOnce`,
 * `aesOnce`): a KDC sees most client keys once per logon, and a kept context only pays
 * from the second use on. `base` is a copy of the key bytes: a key object changed in place
 * gets new contexts.
 */
export interface KeyContexts {
  base: Uint8Array;
  /** Uses so far (the first goes through the one-off contexts). */
  uses: number;
  cbc?: (iv: Uint8Array, blocks: Uint8Array, out: Uint8Array) => void;
  ecbDecrypt?: (blocks: Uint8Array, out: Uint8Array) => void;
  ecbEncrypt?: (blocks: Uint8Array, out: Uint8Array) => void;
  hmac?: { alg: KeyedHashAlg; mac: (data: MacInput) => Uint8Array };
}
export type KeyContextCache = WeakMap<Uint8Array, KeyContexts>;

/** The base key bytes as first seen (a key changed in place is noticed) and its derived keys. */
interface ByObject {
  base: Uint8Array;
  derived: Map<number, Uint8Array>;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function createDerivedKeyCache(maxEntries = 1024): DerivedKeyCache {
  const map = new Map<string, Uint8Array>();
  return {
    byObject: new WeakMap(),
    contexts: new WeakMap(),
    get: (id) => map.get(id),
    set(id, key) {
      if (map.size >= maxEntries) map.delete(map.keys().next().value as string);
      map.set(id, key);
    },
    get size() {
      return map.size;
    },
  };
}

/** Cache id of a derived key: enctype, usage, kind and the base key bytes. */
export function derivedKeyId(etype: number, usage: number, kind: number, key: Uint8Array): string {
  return `${etype}:${usage}:${kind}:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("base64")}`;
}

/**
 * The derived key of `key` for (etype, usage, kind) from `cache` (if any), else `make()`d and
 * stored: first by key object, then by id (the same bytes in another object).
 */
export function cached(
  cache: DerivedKeyCache | undefined,
  etype: number,
  usage: number,
  kind: number,
  key: Uint8Array,
  make: () => Uint8Array,
): Uint8Array {
  if (!cache) return make();
  const slot = (etype * 65536 + usage) * 256 + kind;
  let mine = cache.byObject?.get(key);
  if (mine && !sameBytes(mine.base, key)) mine = undefined;
  const fast = mine?.derived.get(slot);
  if (fast) return fast;
  const k = derivedKeyId(etype, usage, kind, key);
  let v = cache.get(k);
  if (!v) {
    v = make();
    cache.set(k, v);
  }
  if (cache.byObject) {
    if (!mine) {
      mine = { base: Uint8Array.from(key), derived: new Map() }; // a copy even of a Buffer
      cache.byObject.set(key, mine);
    }
    mine.derived.set(slot, v);
  }
  return v;
}

/** The contexts kept for `key` (fresh ones if its bytes changed since), counting this use. */
function contextsFor(cache: KeyContextCache, key: Uint8Array): KeyContexts {
  const c = cache.get(key);
  if (c && sameBytes(c.base, key)) {
    c.uses++;
    return c;
  }
  const fresh: KeyContexts = { base: Uint8Array.from(key), uses: 1 }; // a copy even of a Buffer
  cache.set(key, fresh);
  return fresh;
}

/** HMAC of `data` with `key`: a kept context from the key's second use when there is a cache. */
export function macWith(
  cache: KeyContextCache | undefined,
  alg: KeyedHashAlg,
  key: Uint8Array,
  data: MacInput,
): Uint8Array {
  if (!cache) return hmacOnce(alg, key, data);
  const c = contextsFor(cache, key);
  if (c.hmac?.alg === alg) return c.hmac.mac(data);
  if (c.uses === 1) return hmacOnce(alg, key, data);
  c.hmac = { alg, mac: hmacKeyed(alg, key) };
  return c.hmac.mac(data);
}

type Blocks = (blocks: Uint8Array, out: Uint8Array) => void;

/**
 * The AES-CBC encryptor for `key`, kept from the key's second use when there is a cache
 * (as macWith; one fetch counts as one use, however many calls it makes).
 */
export function cbcEncryptorFor(
  cache: KeyContextCache | undefined,
  key: Uint8Array,
): (iv: Uint8Array, blocks: Uint8Array, out: Uint8Array) => void {
  const c = cache && contextsFor(cache, key);
  if (c?.cbc) return c.cbc;
  if (!c || c.uses === 1) return (iv, blocks, out) => aesOnce(true, key, iv, blocks, out);
  c.cbc = aesCbcEncryptor(key);
  return c.cbc;
}

/** The AES-ECB encryptor (`encrypt`) or decryptor for `key`, kept as cbcEncryptorFor. */
export function ecbFor(
  cache: KeyContextCache | undefined,
  encrypt: boolean,
  key: Uint8Array,
): Blocks {
  const c = cache && contextsFor(cache, key);
  const kept = encrypt ? c?.ecbEncrypt : c?.ecbDecrypt;
  if (kept) return kept;
  if (!c || c.uses === 1) return (blocks, out) => aesOnce(encrypt, key, undefined, blocks, out);
  if (encrypt) {
    c.ecbEncrypt = aesEcbEncryptor(key);
    return c.ecbEncrypt;
  }
  c.ecbDecrypt = aesEcbDecryptor(key);
  return c.ecbDecrypt;
}
