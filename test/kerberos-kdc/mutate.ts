/** Reproducible byte mutations of real messages (bit flips, byte sets, truncation, insertion, deletion). */
/** xorshift32: reproducible mutations. */
export function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

export function mutate(seed: Uint8Array, r: (n: number) => number): Uint8Array {
  const b = Array.from(seed);
  const ops = 1 + r(3);
  for (let i = 0; i < ops; i++) {
    const at = r(Math.max(1, b.length));
    switch (r(5)) {
      case 0:
        b[at] = (b[at] ?? 0) ^ (1 << r(8));
        break;
      case 1:
        b[at] = r(256);
        break;
      case 2:
        b.length = at;
        break;
      case 3:
        b.splice(at, 0, r(256));
        break;
      default:
        b.splice(at, 1 + r(4));
    }
  }
  return Uint8Array.from(b);
}
