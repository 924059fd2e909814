import { allocBytes } from "../bytes.js";

/**
 * A little-endian NDR writer (C706 §14, MS-RPCE §2.2.5). Referent ids for unique pointers
 * are handed out in write order from 0x00020000 in steps of 4, as Windows marshals them.
 */
export interface NdrWriter {
  readonly length: number;
  align(n: 2 | 4 | 8): void;
  u8(v: number): void;
  u16(v: number): void;
  u32(v: number): void;
  u64(v: bigint): void;
  bytes(b: Uint8Array): void;
  /** `s` as UTF-16LE code units, no terminator, no alignment. */
  utf16(s: string): void;
  /** Writes a referent id (or 0 for NULL) and returns whether the pointee must follow. */
  pointer(present: boolean): boolean;
  finish(): Uint8Array;
}

/**
 * `reserve` bytes at the start are left zero for the caller's header (a multiple of 8, so
 * alignment is the same as from the body's start) and `finish()` includes them. The buffer
 * is short-lived memory (src/bytes.ts): `finish()` returns a view of it, the caller's to
 * copy if it keeps it.
 */
export function createNdrWriter(firstReferent = 0x00020000, reserve = 0): NdrWriter {
  let buf = allocBytes(1024); // a LOGON_INFO is 500-1,000 bytes: no regrowth
  let dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let len = reserve;
  let referent = firstReferent;
  const grow = (n: number) => {
    if (len + n <= buf.length) return;
    let cap = buf.length * 2;
    while (cap < len + n) cap *= 2;
    const next = allocBytes(cap);
    next.set(buf.subarray(0, len));
    buf = next;
    dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  };
  // One DataView over the whole buffer (renewed when it grows); no object per value.
  const w: NdrWriter = {
    get length() {
      return len;
    },
    align(n) {
      const pad = (n - (len % n)) % n;
      if (pad === 0) return;
      grow(pad);
      buf.fill(0, len, len + pad);
      len += pad;
    },
    u8(v) {
      grow(1);
      dv.setUint8(len, v);
      len += 1;
    },
    u16(v) {
      w.align(2);
      grow(2);
      dv.setUint16(len, v, true);
      len += 2;
    },
    u32(v) {
      w.align(4);
      grow(4);
      dv.setUint32(len, v >>> 0, true);
      len += 4;
    },
    u64(v) {
      w.align(8);
      grow(8);
      dv.setBigUint64(len, v, true);
      len += 8;
    },
    bytes(b) {
      grow(b.length);
      buf.set(b, len);
      len += b.length;
    },
    utf16(s) {
      grow(2 * s.length);
      for (let i = 0; i < s.length; i++) dv.setUint16(len + 2 * i, s.charCodeAt(i), true);
      len += 2 * s.length;
    },
    pointer(present) {
      if (!present) {
        w.u32(0);
        return false;
      }
      w.u32(referent);
      referent += 4;
      return true;
    },
    finish: () => buf.subarray(0, len),
  };
  return w;
}
