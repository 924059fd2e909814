/**
 * MS-RPCE §2.2.6 type serialization version 1: how a PAC's LOGON_INFO wraps its NDR body.
 *
 *   Common type header (8 bytes):  Version=1 | Endianness=0x10 (LE) | CommonHeaderLength=8 (u16)
 *                                  | Filler=0xcccccccc
 *   Private header (8 bytes):      ObjectBufferLength (u32, multiple of 8) | Filler=0
 *   Object buffer:                 the NDR-encoded top-level type, zero-padded to 8
 */
import { NdrError } from "./errors.js";
import { createNdrReader, type NdrReader } from "./reader.js";
import { createNdrWriter, type NdrWriter } from "./writer.js";

/** Validates both headers and returns a reader positioned on the object buffer. */
export function openTypeSerialization(buf: Uint8Array, what: string): NdrReader {
  if (buf.length < 16) {
    throw new NdrError(
      "ndr-truncated",
      `${what}: ${buf.length} bytes, less than the 16-byte headers`,
    );
  }
  const version = buf[0];
  const endianness = buf[1];
  const headerLength = buf[2]! | (buf[3]! << 8);
  if (version !== 1 || endianness !== 0x10 || headerLength !== 8) {
    throw new NdrError(
      "ndr-malformed",
      `${what}: serialization header version ${version}, endianness 0x${endianness?.toString(16)}, length ${headerLength}; expected 1, 0x10 (little-endian), 8`,
    );
  }
  const objectLength = new DataView(buf.buffer, buf.byteOffset + 8, 4).getUint32(0, true);
  if (objectLength > buf.length - 16) {
    throw new NdrError(
      "ndr-truncated",
      `${what}: object buffer length ${objectLength} exceeds the ${buf.length - 16} bytes present`,
    );
  }
  // Alignment is relative to the object buffer start (offset 16, itself 8-aligned).
  return createNdrReader(buf.subarray(16, 16 + objectLength));
}

/** Wraps an NDR body written by `body` in the two serialization headers. */
export function sealTypeSerialization(body: (w: NdrWriter) => void): Uint8Array {
  // The body is written after 16 reserved bytes (8-aligned: alignment as from its own start).
  const w = createNdrWriter(undefined, 16);
  body(w);
  w.align(8);
  const out = w.finish();
  out.set([0x01, 0x10, 0x08, 0x00, 0xcc, 0xcc, 0xcc, 0xcc]);
  new DataView(out.buffer, out.byteOffset).setUint32(8, out.length - 16, true);
  return out;
}
