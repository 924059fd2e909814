/**
 * PAC_CLIENT_INFO (MS-PAC §2.7), not NDR-encoded:
 *
 *   ClientId (8, FILETIME: the TGT's authtime) | NameLength (2, bytes) | Name (UTF-16LE)
 */
import { PacError } from "./errors.js";

export interface PacClientInfo {
  clientId: bigint;
  name: string;
}

export function decodeClientInfo(buf: Uint8Array): PacClientInfo {
  if (buf.length < 10) throw new PacError("pac-malformed", `CLIENT_INFO: ${buf.length} bytes < 10`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const nameLength = dv.getUint16(8, true);
  if (nameLength % 2 !== 0 || 10 + nameLength > buf.length) {
    throw new PacError(
      "pac-malformed",
      `CLIENT_INFO: NameLength ${nameLength} does not fit the ${buf.length - 10} bytes present`,
    );
  }
  return {
    clientId: dv.getBigUint64(0, true),
    name: new TextDecoder("utf-16le").decode(buf.subarray(10, 10 + nameLength)),
  };
}

export function encodeClientInfo(v: PacClientInfo): Uint8Array {
  const name = utf16le(v.name);
  if (name.length > 0xffff) throw new PacError("pac-malformed", "CLIENT_INFO: name too long");
  const out = new Uint8Array(10 + name.length);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, v.clientId, true);
  dv.setUint16(8, name.length, true);
  out.set(name, 10);
  return out;
}

export function utf16le(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    out[2 * i] = s.charCodeAt(i) & 0xff;
    out[2 * i + 1] = s.charCodeAt(i) >> 8;
  }
  return out;
}
