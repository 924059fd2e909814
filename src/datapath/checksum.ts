/**
 * The Internet checksum (RFC 1071) for the segmentation and coalescing paths, on 32-bit
 * big-endian words: the one's complement sum of 32-bit words folds to the same 16-bit sum
 * (2^16 = 1 modulo 2^16 - 1), with half the loop iterations of a 16-bit loop.
 */

/** Sum of p[from, to) as big-endian 16-bit words (an odd tail padded with zero), plus `sum`; not folded. */
export function onesSum(p: Uint8Array, from: number, to: number, sum = 0): number {
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  let s = sum;
  let i = from;
  for (; i + 3 < to; i += 4) s += v.getUint32(i);
  if (i + 1 < to) {
    s += v.getUint16(i);
    i += 2;
  }
  if (i < to) s += (p[i] as number) << 8;
  return s;
}

/** Folds a sum to 16 bits (end-around carry). */
export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}
