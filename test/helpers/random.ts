/**
 * Seeded randomness for generators shared by tests and benchmarks (test/evaluator/large.test.ts
 * and bench/evaluator.ts): the same seed gives the same policies and packets, so a failure
 * names its seed and reruns the same.
 */

/** xorshift32: a deterministic stream of numbers in [0, 1). */
export function createRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** One element of xs, chosen by rnd. */
export function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)] as T;
}
