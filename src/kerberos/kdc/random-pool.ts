/**
 * Randomness for the KDC (session keys, confounders) drawn from one 4 KiB CSPRNG buffer
 * refilled when used up, instead of one system call per 16 or 32 bytes. Each call returns a
 * fresh copy; the pool lives in the KDC object (no module state).
 */
export function createRandomPool(
  source: (n: number) => Uint8Array,
  poolBytes = 4096,
): (n: number) => Uint8Array {
  let pool: Uint8Array = new Uint8Array(0);
  let off = 0;
  return (n) => {
    if (n > poolBytes) return source(n);
    if (off + n > pool.length) {
      pool = source(poolBytes);
      off = 0;
    }
    // A copy made explicitly: `source` may return a Buffer, whose slice() is a view, and
    // zeroing the pool behind a view handed out all-zero session keys and confounders.
    const out = new Uint8Array(pool.subarray(off, off + n));
    pool.fill(0, off, off + n);
    off += n;
    return out;
  };
}
