/**
 * The anti-replay window (RFC 4303 §3.4.3) as RFC 6479's bitmap: ceil(W/32)+1 words of 32
 * bits in a ring, so moving the window clears whole words instead of shifting bits.
 * A sequence number s is acceptable when s > top - W and its bit is clear; the window moves
 * only after the ICV verified (`check` before opening, `accept` after).
 *
 * With ESN (RFC 4303 Appendix A2.2) the receiver sees only the low 32 bits and infers the
 * high half from the window's position. Sequence numbers are held in JS numbers (exact to
 * 2^53, far beyond any SA's life). Pure state, no clock.
 */

export interface ReplayWindow {
  readonly size: number;
  /** The full sequence number if `seqLow` may be accepted, or null (replay / too old / zero). */
  check(seqLow: number): number | null;
  /** Records `seq` (returned by check and authenticated). */
  accept(seq: number): void;
  /** Highest accepted sequence number (0 before the first). */
  top(): number;
}

const TWO32 = 2 ** 32;

export function createReplayWindow(size: number, esn: boolean): ReplayWindow {
  if (!Number.isInteger(size) || size < 32 || size % 32 !== 0) {
    throw new RangeError(`replay window ${size} must be a positive multiple of 32`);
  }
  const words = size / 32 + 1;
  const bitmap = new Uint32Array(words);
  let top = 0;

  const infer = (seqLow: number): number => {
    if (!esn) return seqLow;
    const th = Math.floor(top / TWO32);
    const tl = top % TWO32;
    if (tl >= size - 1) {
      return (seqLow >= tl - size + 1 ? th : th + 1) * TWO32 + seqLow;
    }
    const low = (tl - size + 1 + TWO32) % TWO32;
    const hi = seqLow >= low ? th - 1 : th;
    return hi < 0 ? 0 : hi * TWO32 + seqLow;
  };

  const wordOf = (seq: number): number => Math.floor(seq / 32) % words;
  const bitOf = (seq: number): number => 1 << (seq % 32);

  return {
    size,
    check(seqLow) {
      const seq = infer(seqLow >>> 0);
      if (seq === 0) return null;
      if (seq > top) return seq;
      if (seq + size <= top) return null;
      return (bitmap[wordOf(seq)] as number) & bitOf(seq) ? null : seq;
    },
    accept(seq) {
      if (seq > top) {
        const from = Math.floor(top / 32);
        const to = Math.floor(seq / 32);
        const clear = Math.min(to - from, words);
        for (let i = 1; i <= clear; i++) bitmap[(from + i) % words] = 0;
        top = seq;
      } else if (seq + size <= top) {
        return;
      }
      const w = wordOf(seq);
      bitmap[w] = ((bitmap[w] as number) | bitOf(seq)) >>> 0;
    },
    top: () => top,
  };
}
