/**
 * The Internet checksum (RFC 1071) for the segmentation and coalescing paths, on 32-bit
 * big-endian words: the one's complement sum of 32-bit words folds to the same 16-bit sum
 * (2^16 = 1 modulo 2^16 - 1), with half the loop iterations of a 16-bit loop.
 */

/** Sum of p[from, to) as big-endian 16-bit words (an odd tail padded with zero), plus `sum`; not folded. */
export function onesSum(p: Uint8Array, from: number, to: number, sum = 0): number {
  let s = sum;
  let i = from;
  if (to - from >= 64) {
    // Four sums in flight: the loop's additions do not wait on each other (about 30 % less
    // time per 1,400-byte segment than one sum here). Each stays below 2^53 for 64 KiB.
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
    let b = 0;
    let c = 0;
    let d = 0;
    for (; i + 15 < to; i += 16) {
      s += v.getUint32(i);
      b += v.getUint32(i + 4);
      c += v.getUint32(i + 8);
      d += v.getUint32(i + 12);
    }
    s += b + c + d;
    for (; i + 3 < to; i += 4) s += v.getUint32(i);
  }
  for (; i + 1 < to; i += 2) s += ((p[i] as number) << 8) | (p[i + 1] as number);
  if (i < to) s += (p[i] as number) << 8;
  return s;
}

/** Folds a sum to 16 bits (end-around carry). */
export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/**
 * Recomputes the TCP or UDP checksum of an unfragmented IPv4 packet in place (RFC 793/768
 * pseudo-header with the packet's own addresses); false when there is none to fix (other
 * protocols, fragments, a UDP checksum of 0, a short packet). Transport mode behind a NAT
 * (RFC 3948 §3.1.2): the sender summed its private address, the header we rebuild holds
 * the NAT's, so the checksum must be made again (ESP's ICV already proved the bytes).
 */
export function fixL4Checksum(p: Uint8Array): boolean {
  if (p.length < 20 || (p[0] as number) >> 4 !== 4) return false;
  const ihl = ((p[0] as number) & 0x0f) * 4;
  const total = ((p[2] as number) << 8) | (p[3] as number);
  if (total > p.length || total < ihl || (((p[6] as number) << 8) | (p[7] as number)) & 0x3fff)
    return false;
  const proto = p[9] as number;
  const at = proto === 6 ? ihl + 16 : proto === 17 ? ihl + 6 : -1;
  if (at < 0 || at + 2 > total) return false;
  if (proto === 17 && p[at] === 0 && p[at + 1] === 0) return false;
  p[at] = 0;
  p[at + 1] = 0;
  const len = total - ihl;
  let c = ~fold(onesSum(p, ihl, total, onesSum(p, 12, 20) + proto + len)) & 0xffff;
  if (proto === 17 && c === 0) c = 0xffff;
  p[at] = c >> 8;
  p[at + 1] = c & 0xff;
  return true;
}
