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

/** Bit `bit` (0 = most significant of byte 0) of `data` rotated right by `rot` bits. */
function rotatedBit(data: Uint8Array, bitLen: number, rot: number, bit: number): number {
  const src = (((bit - rot) % bitLen) + bitLen) % bitLen;
  return ((data[src >> 3] ?? 0) >> (7 - (src & 7))) & 1;
}

/** n-fold `input` into `outBytes` bytes (n = 8 * outBytes). Input must be non-empty. */
export function nfold(input: Uint8Array, outBytes: number): Uint8Array {
  if (input.length === 0) throw new RangeError("n-fold: input is empty");
  const inBits = input.length * 8;
  const outBits = outBytes * 8;
  const lcm = (inBits * outBits) / gcd(inBits, outBits);
  // Build the replicated, rotated string one n-bit chunk at a time and add it in.
  const sum = new Uint8Array(outBytes);
  const chunk = new Uint8Array(outBytes);
  for (let off = 0; off < lcm; off += outBits) {
    chunk.fill(0);
    for (let i = 0; i < outBits; i++) {
      const pos = off + i;
      const copy = Math.floor(pos / inBits);
      const bit = rotatedBit(input, inBits, (13 * copy) % inBits, pos % inBits);
      if (bit) chunk[i >> 3]! |= 0x80 >> (i & 7);
    }
    onesComplementAdd(sum, chunk);
  }
  return sum;
}

/** sum += x in 1's-complement arithmetic (end-around carry), big-endian bytes. */
function onesComplementAdd(sum: Uint8Array, x: Uint8Array): void {
  let carry = 0;
  for (let i = sum.length - 1; i >= 0; i--) {
    const v = sum[i]! + x[i]! + carry;
    sum[i] = v & 0xff;
    carry = v >> 8;
  }
  while (carry) {
    for (let i = sum.length - 1; i >= 0 && carry; i--) {
      const v = sum[i]! + carry;
      sum[i] = v & 0xff;
      carry = v >> 8;
    }
  }
}
