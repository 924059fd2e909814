/**
 * Per-source limits of the API: a token bucket per client address for failed
 * authentications and one for join attempts. A source whose bucket is empty is answered 429
 * (with Retry-After) before any work is done for it. Memory is bounded: at `maxSources`
 * the source that spent least recently is forgotten (the Map keeps spending order), in
 * O(1). Clock injected, no timers.
 */
export interface RateLimitOptions {
  /** Events a source may spend at once. */
  burst: number;
  /** Events per minute a source gets back. */
  perMinute: number;
  maxSources?: number;
}

export interface RateLimiter {
  /** 0 when `source` may go on, else the seconds until it may. */
  retryAfter(source: string): number;
  /** Spends one event of `source`. */
  spend(source: string): void;
  readonly sources: number;
}

export function createRateLimiter(opts: RateLimitOptions, now: () => number): RateLimiter {
  const max = opts.maxSources ?? 10_000;
  const perMs = opts.perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const level = (source: string) => {
    const b = buckets.get(source);
    if (!b) return opts.burst;
    return Math.min(opts.burst, b.tokens + (now() - b.at) * perMs);
  };
  return {
    retryAfter(source) {
      const l = level(source);
      return l >= 1 ? 0 : Math.ceil((1 - l) / perMs / 1000);
    },
    spend(source) {
      const tokens = level(source) - 1;
      buckets.delete(source);
      while (buckets.size >= max) buckets.delete(buckets.keys().next().value as string);
      buckets.set(source, { tokens: Math.max(tokens, 0), at: now() });
    },
    get sources() {
      return buckets.size;
    },
  };
}

/** The API's limits; each may be changed by `dc start` options or a test. */
export interface ApiLimits {
  failedAuth: RateLimitOptions;
  joins: RateLimitOptions;
  /** TCP connections open at once, in all and per source address. */
  maxConnections: number;
  maxConnectionsPerSource: number;
  /** A connection with no byte in or out for this long is closed (TLS handshake included). */
  idleTimeoutMs: number;
  /** Largest request body (413 above it). */
  maxBodyBytes: number;
  /** A request whose headers (or whole self) take longer is cut off (slow-drip clients). */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  failedAuth: { burst: 20, perMinute: 10 },
  joins: { burst: 20, perMinute: 20 },
  maxConnections: 256,
  maxConnectionsPerSource: 32,
  idleTimeoutMs: 15_000,
  maxBodyBytes: 64 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
};
