/**
 * Replay cache (RFC 4120 §3.2.3): an acceptor remembers each authenticator it accepted
 * until it would fail the skew check anyway (ctime + skew), and refuses a second copy.
 * In memory, clock injected, bounded: past `maxEntries` the expired entries are swept,
 * and if still full the oldest entry is dropped (counted in `evicted`), so memory stays
 * bounded under a flood at the price of forgetting the oldest authenticators first.
 * The sweep walks the whole map, so it runs at most once per 1/16 of `maxEntries` inserts
 * (a full cache of unexpired entries once swept on every insert: 0.9 ms per AP-REQ at
 * 100,000 entries, found by the fuzzer).
 */
export interface ReplayCache {
  /** True when `key` is new (and remembers it until `expiresAtMs`); false for a replay. */
  checkAndStore(key: string, expiresAtMs: number): boolean;
  readonly size: number;
  readonly evicted: number;
}

export interface ReplayCacheOptions {
  now(): number;
  maxEntries?: number;
}

export const DEFAULT_REPLAY_CACHE_ENTRIES = 100_000;

export function createReplayCache(opts: ReplayCacheOptions): ReplayCache {
  const max = Math.max(1, opts.maxEntries ?? DEFAULT_REPLAY_CACHE_ENTRIES);
  const entries = new Map<string, number>();
  let evicted = 0;
  const sweepEvery = Math.max(1, Math.floor(max / 16));
  let insertsSinceSweep = sweepEvery;
  const sweep = (now: number) => {
    if (insertsSinceSweep < sweepEvery) return;
    insertsSinceSweep = 0;
    for (const [k, exp] of entries) if (exp < now) entries.delete(k);
  };
  return {
    checkAndStore(key, expiresAtMs) {
      const now = opts.now();
      const seen = entries.get(key);
      if (seen !== undefined && seen >= now) return false;
      if (entries.size >= max) sweep(now);
      while (entries.size >= max) {
        const oldest = entries.keys().next().value as string;
        entries.delete(oldest);
        evicted++;
      }
      entries.delete(key);
      entries.set(key, expiresAtMs);
      insertsSinceSweep++;
      return true;
    },
    get size() {
      return entries.size;
    },
    get evicted() {
      return evicted;
    },
  };
}
