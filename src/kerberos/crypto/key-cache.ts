/**
 * A bounded cache of derived keys (Kc/Ke/Ki per base key and usage), so a KDC or acceptor
 * that uses the same long-term key for many messages derives each key once. It lives in the
 * object that `createKerberosCrypto` returns (never module state); the oldest entry goes
 * first when full. Derived keys are as secret as the base key: drop the object to forget them.
 */
export interface DerivedKeyCache {
  get(id: string): Uint8Array | undefined;
  set(id: string, key: Uint8Array): void;
  readonly size: number;
}

export function createDerivedKeyCache(maxEntries = 1024): DerivedKeyCache {
  const map = new Map<string, Uint8Array>();
  return {
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

/** Looks `id` up in `cache` (if any) or computes and stores it. */
export function cached(
  cache: DerivedKeyCache | undefined,
  id: () => string,
  make: () => Uint8Array,
): Uint8Array {
  if (!cache) return make();
  const k = id();
  const hit = cache.get(k);
  if (hit) return hit;
  const v = make();
  cache.set(k, v);
  return v;
}
