/**
 * A bounded cache of derived keys (Kc/Ke/Ki per base key and usage), so a KDC or acceptor
 * that uses the same long-term key for many messages derives each key once. It lives in the
 * object that `createKerberosCrypto` returns (never module state); the oldest entry goes
 * first when full. Derived keys are as secret as the base key: drop the object to forget them.
 */
import type { AesContextCache } from "./cts.js";

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
  /** OpenSSL AES contexts per derived key object (cts.ts), gone with the key objects. */
  readonly aesContexts?: AesContextCache;
}

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
    aesContexts: new WeakMap(),
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
