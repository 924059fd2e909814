/**
 * A bounds-checked little-endian NDR reader (C706 §14, MS-RPCE §2.2.5). Alignment is
 * relative to the start of the stream, as NDR's is. Every read checks the remaining length
 * first, and every count read from the wire is checked against what is left before anything
 * is allocated, so a hostile length cannot make us allocate or loop.
 */
import { NdrError } from "./errors.js";

export interface NdrReader {
  readonly offset: number;
  readonly remaining: number;
  align(n: 2 | 4 | 8): void;
  u8(what: string): number;
  u16(what: string): number;
  u32(what: string): number;
  u64(what: string): bigint;
  bytes(n: number, what: string): Uint8Array;
  /** A unique/full pointer's referent id: 0 means NULL. */
  pointer(what: string): number;
  /** A conformance/variance count, checked so that count * elemSize bytes can follow. */
  count(elemSize: number, what: string): number;
}

export function createNdrReader(input: Uint8Array): NdrReader {
  // A plain Uint8Array view, so that slices are plain too whatever the caller passed.
  const buf = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  const need = (n: number, what: string) => {
    if (off + n > buf.length) {
      throw new NdrError(
        "ndr-truncated",
        `NDR: ${what} needs ${n} bytes at offset ${off}, only ${buf.length - off} left`,
      );
    }
  };
  const r: NdrReader = {
    get offset() {
      return off;
    },
    get remaining() {
      return buf.length - off;
    },
    align(n) {
      const pad = (n - (off % n)) % n;
      need(pad, "alignment padding");
      off += pad;
    },
    u8(what) {
      need(1, what);
      return buf[off++]!;
    },
    u16(what) {
      r.align(2);
      need(2, what);
      const v = dv.getUint16(off, true);
      off += 2;
      return v;
    },
    u32(what) {
      r.align(4);
      need(4, what);
      const v = dv.getUint32(off, true);
      off += 4;
      return v;
    },
    u64(what) {
      r.align(8);
      need(8, what);
      const v = dv.getBigUint64(off, true);
      off += 8;
      return v;
    },
    bytes(n, what) {
      need(n, what);
      const v = buf.slice(off, off + n);
      off += n;
      return v;
    },
    pointer(what) {
      return r.u32(what);
    },
    count(elemSize, what) {
      const n = r.u32(what);
      if (n * elemSize > buf.length - off) {
        throw new NdrError(
          "ndr-malformed",
          `NDR: ${what} ${n} needs ${n * elemSize} bytes, only ${buf.length - off} left`,
        );
      }
      return n;
    },
  };
  return r;
}
