/**
 * The Certificate payload (RFC 7296 §3.6).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Cert Encoding |                                               |
 * +-+-+-+-+-+-+-+-+                                               |
 * ~                       Certificate Data                        ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { createReader } from "./reader.js";

export interface CertPayload {
  type: "CERT";
  encoding: number;
  data: Buffer;
}

export function encodeCert(p: CertPayload): Buffer {
  return Buffer.concat([Buffer.from([p.encoding]), p.data]);
}

export function decodeCert(body: Uint8Array): CertPayload {
  const r = createReader(body, "CERT payload");
  return { type: "CERT", encoding: r.u8("cert encoding"), data: r.rest() };
}
