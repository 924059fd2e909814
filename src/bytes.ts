/**
 * Short-lived byte arrays without a backing store each. Above 64 bytes `new Uint8Array(n)`
 * makes V8 allocate (and later sweep) an off-heap backing store, ~1-3 us per array on this
 * VM (measured: 1,000 bytes 2.5 us, Buffer.allocUnsafe's pooled slice 0.6 us). The KDC,
 * the DER and NDR writers and the Kerberos enctypes make a dozen such arrays per exchange,
 * so they take them here: views carved from a shared 64 KiB slab, the way Node's
 * `Buffer.allocUnsafe` pool works but handing out plain, zero-filled Uint8Arrays (no byte of
 * a slab is handed out twice, and each piece is zeroed when it is).
 *
 * A view shares its ArrayBuffer with others: use `byteOffset` with `.buffer` (a DataView
 * on `.buffer` alone is wrong), never transfer it, and copy it (`copyBytes`, `.slice()`)
 * before posting it to another thread (structured clone copies the whole slab). A view
 * kept long keeps its slab alive: fine for caches of replies, wasteful for one small key
 * kept for a day (take `new Uint8Array` there).
 */
const SLAB_BYTES = 65536;
/** Larger arrays get their own backing store (the slab would be used up by a few). */
const MAX_POOLED = 8192;

/** An allocator with a slab of its own. */
export interface ByteSlab {
  /** `n` zero bytes: a view into the slab (64 bytes or less, above 8 KiB: an array of its own). */
  alloc(n: number): Uint8Array;
  /** `n` bytes of any content, for a caller that writes every one of them (the DER writer). */
  allocFilled(n: number): Uint8Array;
  /** A copy of `src` (of a range of it). */
  copy(src: Uint8Array, start?: number, end?: number): Uint8Array;
}

/**
 * A slab for bytes of one lifetime. Short-lived temporaries share the default one
 * (`allocBytes`); a cache that keeps copies for minutes takes its own, so that its entries
 * do not keep alive the slabs where the temporaries were (one kept view pins 64 KiB), and
 * its slabs die in the order its entries expire.
 */
export function createByteSlab(): ByteSlab {
  let buf = new ArrayBuffer(0);
  let off = 0;
  /** `n` bytes of the slab, not zeroed (the slab comes unzeroed from the allocator). */
  const carve = (n: number): Uint8Array => {
    if (n <= 64 || n > MAX_POOLED) return new Uint8Array(n);
    if (off + n > buf.byteLength) {
      // Not zeroed by the allocator (`new ArrayBuffer` memsets all 64 KiB at once): pieces
      // are zeroed as they are handed out, unless their taker writes them whole.
      buf = Buffer.allocUnsafeSlow(SLAB_BYTES).buffer;
      off = 0;
    }
    const out = new Uint8Array(buf, off, n);
    off += (n + 7) & ~7;
    return out;
  };
  const alloc = (n: number): Uint8Array =>
    n <= 64 || n > MAX_POOLED ? carve(n) : carve(n).fill(0);
  return {
    alloc,
    allocFilled: carve,
    copy(src, start = 0, end = src.length) {
      const out = carve(end - start);
      out.set(src.subarray(start, end));
      return out;
    },
  };
}

const temporaries = createByteSlab();

/** `n` zero bytes for a short-lived array (not kept by a cache: see createByteSlab). */
export const allocBytes: (n: number) => Uint8Array = temporaries.alloc;

/** `n` short-lived bytes of any content, for a caller that writes every one (the DER writer). */
export const allocFilled: (n: number) => Uint8Array = temporaries.allocFilled;

/** A short-lived copy of `src` (of a range of it). */
export const copyBytes: (src: Uint8Array, start?: number, end?: number) => Uint8Array =
  temporaries.copy;
