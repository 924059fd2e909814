/**
 * A bounds-checked reader over one payload body. Every read checks the remaining length
 * first and throws a "malformed" IkeError naming the payload and field, so decoders never
 * index past the end (iked's ikev2_validate_* style: validate, then decode).
 */
import { malformed } from "../errors.js";

export interface Reader {
  readonly remaining: number;
  u8(field: string): number;
  u16(field: string): number;
  u32(field: string): number;
  bytes(n: number, field: string): Buffer;
  rest(): Buffer;
  /** Throws unless every byte was consumed. */
  end(): void;
}

export function createReader(buf: Uint8Array, what: string): Reader {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const need = (n: number, field: string): void => {
    if (b.length - pos < n) {
      throw malformed(`${what}: ${field} needs ${n} bytes, ${b.length - pos} left`);
    }
  };
  return {
    get remaining() {
      return b.length - pos;
    },
    u8(field) {
      need(1, field);
      return b.readUInt8(pos++);
    },
    u16(field) {
      need(2, field);
      const v = b.readUInt16BE(pos);
      pos += 2;
      return v;
    },
    u32(field) {
      need(4, field);
      const v = b.readUInt32BE(pos);
      pos += 4;
      return v;
    },
    bytes(n, field) {
      need(n, field);
      const v = Buffer.from(b.subarray(pos, pos + n));
      pos += n;
      return v;
    },
    rest() {
      const v = Buffer.from(b.subarray(pos));
      pos = b.length;
      return v;
    },
    end() {
      if (pos !== b.length) throw malformed(`${what}: ${b.length - pos} trailing bytes`);
    },
  };
}

/** Big-endian helpers for encoders. */
export function u8(v: number): Buffer {
  return Buffer.from([v & 0xff]);
}
export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
}
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}
