/**
 * n-fold (RFC 3961 §5.1): stretches or shrinks a byte string to n bits so that every input
 * bit affects the output.
 *
 *   "We first define a primitive called n-folding, which takes a variable-length input
 *    block and produces a fixed-length output sequence. [...] replicate the input value to
 *    a length that is the least common multiple of n and the length of the input. Before
 *    each repetition, the input is rotated to the right by 13 bit positions. The successive
 *    n-bit chunks are added together using 1's-complement addition (that is, with
 *    end-around carry) to yield a n-bit result."
 */

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * n-fold `input` into `outBytes` bytes (n = 8 * outBytes). Input must be non-empty.
 *
 * Works a byte at a time: byte k of the replicated string lies in copy j = k / inLen,
 * rotated right by 13*j bits, so it is the 8 input bits starting at bit (8*(k mod inLen) -
 * 13*j) mod inBits. The copies are added from the last byte backwards; a carry out of the top
 * of one n-bit chunk flows into the bottom of the next, which is the end-around carry.
 */
export function nfold(input: Uint8Array, outBytes: number): Uint8Array {
  const inLen = input.length;
  if (inLen === 0) throw new RangeError("n-fold: input is empty");
  const inBits = inLen * 8;
  const lcmBytes = (inLen * outBytes) / gcd(inLen, outBytes);
  const sum = new Uint8Array(outBytes);
  let carry = 0;
  for (let k = lcmBytes - 1; k >= 0; k--) {
    const copy = Math.floor(k / inLen);
    const start = (((8 * (k % inLen) - 13 * copy) % inBits) + inBits) % inBits;
    const hi = input[start >> 3]!;
    const lo = input[((start >> 3) + 1) % inLen]!;
    const byte = (((hi << 8) | lo) >> (8 - (start & 7))) & 0xff;
    const o = k % outBytes;
    const v = sum[o]! + byte + carry;
    sum[o] = v & 0xff;
    carry = v >> 8;
  }
  while (carry) {
    for (let o = outBytes - 1; o >= 0 && carry; o--) {
      const v = sum[o]! + carry;
      sum[o] = v & 0xff;
      carry = v >> 8;
    }
  }
  return sum;
}
