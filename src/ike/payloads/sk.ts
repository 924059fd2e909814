/**
 * The Encrypted and Authenticated payload SK (RFC 7296 §3.14). The codec only splits the
 * body; ../crypto.ts seals and opens it (AES-CBC + HMAC, or AES-GCM per RFC 5282 §3).
 * The generic header's Next Payload names the first payload inside.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Initialization Vector                     |
 * |         (length is block size for encryption algorithm)       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                    Encrypted IKE Payloads                     ~
 * +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               |             Padding (0-255 octets)            |
 * +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
 * |                                               |  Pad Length   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                    Integrity Checksum Data                    ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export interface SkPayload {
  type: "SK";
  /** Payload type of the first inner payload. */
  innerFirst: number;
  /** IV || ciphertext || ICV, as on the wire. */
  body: Buffer;
}

export function encodeSk(p: SkPayload): Buffer {
  return Buffer.from(p.body);
}

export function decodeSk(body: Uint8Array, innerFirst: number): SkPayload {
  return { type: "SK", innerFirst, body: Buffer.from(body) };
}
