/**
 * The Certificate Request payload (RFC 7296 §3.7). For X.509 the data is a concatenated
 * list of SHA-1 hashes of trusted CAs' public keys (20 bytes each).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Cert Encoding |                                               |
 * +-+-+-+-+-+-+-+-+                                               |
 * ~                    Certification Authority                    ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { createReader } from "./reader.js";

export interface CertReqPayload {
  type: "CERTREQ";
  encoding: number;
  data: Buffer;
}

export function encodeCertReq(p: CertReqPayload): Buffer {
  return Buffer.concat([Buffer.from([p.encoding]), p.data]);
}

export function decodeCertReq(body: Uint8Array): CertReqPayload {
  const r = createReader(body, "CERTREQ payload");
  return { type: "CERTREQ", encoding: r.u8("cert encoding"), data: r.rest() };
}
