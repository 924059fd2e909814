/**
 * The PAC container (MS-PAC §2.3, §2.4), not NDR-encoded, all little-endian:
 *
 *   PACTYPE:          cBuffers (4) | Version (4, MUST be 0) | Buffers[cBuffers]
 *   PAC_INFO_BUFFER:  ulType (4) | cbBufferSize (4) | Offset (8, from the PACTYPE start)
 *
 * "All PAC elements MUST be placed on an 8-byte boundary" (§2.3): the encoder pads each
 * buffer with zeros to a multiple of 8 and the decoder refuses unaligned offsets, offsets
 * inside the header, and buffers that run past the end.
 */
import { PacError } from "./errors.js";

export interface RawPacBuffer {
  type: number;
  /** Offset of the buffer from the start of the PAC. */
  offset: number;
  data: Uint8Array;
}

/** Upper bound on cBuffers: far above what any KDC emits (Windows: under 16). */
export const MAX_PAC_BUFFERS = 256;

export function decodePacContainer(bytes: Uint8Array): RawPacBuffer[] {
  if (bytes.length < 8)
    throw new PacError("pac-malformed", `PAC: ${bytes.length} bytes < 8-byte PACTYPE header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = dv.getUint32(0, true);
  const version = dv.getUint32(4, true);
  if (version !== 0) throw new PacError("pac-malformed", `PAC: Version ${version}, expected 0`);
  if (count === 0 || count > MAX_PAC_BUFFERS) {
    throw new PacError("pac-malformed", `PAC: cBuffers ${count} is outside 1..${MAX_PAC_BUFFERS}`);
  }
  const headerLength = 8 + 16 * count;
  if (headerLength > bytes.length) {
    throw new PacError(
      "pac-malformed",
      `PAC: ${count} buffer headers need ${headerLength} bytes, have ${bytes.length}`,
    );
  }
  const out: RawPacBuffer[] = [];
  for (let i = 0; i < count; i++) {
    const at = 8 + 16 * i;
    const type = dv.getUint32(at, true);
    const size = dv.getUint32(at + 4, true);
    const offset64 = dv.getBigUint64(at + 8, true);
    if (
      offset64 + BigInt(size) > BigInt(bytes.length) ||
      offset64 < BigInt(headerLength) ||
      offset64 % 8n !== 0n
    ) {
      throw new PacError(
        "pac-malformed",
        `PAC: buffer ${i} (type ${type}) at offset ${offset64} size ${size} is unaligned or outside ${headerLength}..${bytes.length}`,
      );
    }
    const offset = Number(offset64);
    out.push({ type, offset, data: bytes.subarray(offset, offset + size) });
  }
  return out;
}

/** Lays out buffers in order, each on an 8-byte boundary; returns bytes and offsets. */
export function encodePacContainer(buffers: { type: number; data: Uint8Array }[]): {
  bytes: Uint8Array;
  offsets: number[];
} {
  if (buffers.length === 0 || buffers.length > MAX_PAC_BUFFERS) {
    throw new PacError(
      "pac-malformed",
      `PAC: ${buffers.length} buffers is outside 1..${MAX_PAC_BUFFERS}`,
    );
  }
  let off = 8 + 16 * buffers.length;
  const offsets = buffers.map((b) => {
    const at = off;
    off = (off + b.data.length + 7) & ~7;
    return at;
  });
  const bytes = new Uint8Array(off);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, buffers.length, true);
  dv.setUint32(4, 0, true);
  buffers.forEach((b, i) => {
    dv.setUint32(8 + 16 * i, b.type, true);
    dv.setUint32(12 + 16 * i, b.data.length, true);
    dv.setBigUint64(16 + 16 * i, BigInt(offsets[i]!), true);
    bytes.set(b.data, offsets[i]!);
  });
  return { bytes, offsets };
}
