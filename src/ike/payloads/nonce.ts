/**
 * The Nonce payload (RFC 7296 §3.9). Nonce data is 16 to 256 octets.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                            Nonce Data                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { malformed } from "../errors.js";

export interface NoncePayload {
  type: "NONCE";
  data: Buffer;
}

export const NONCE_MIN = 16;
export const NONCE_MAX = 256;

export function encodeNonce(p: NoncePayload): Buffer {
  return Buffer.from(p.data);
}

export function decodeNonce(body: Uint8Array): NoncePayload {
  if (body.length < NONCE_MIN || body.length > NONCE_MAX) {
    throw malformed(`Nonce payload: length ${body.length} outside ${NONCE_MIN}-${NONCE_MAX}`);
  }
  return { type: "NONCE", data: Buffer.from(body) };
}
