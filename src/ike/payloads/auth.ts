/**
 * The Authentication payload (RFC 7296 §3.8).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Auth Method   |                RESERVED                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                      Authentication Data                      ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { createReader } from "./reader.js";

export interface AuthPayload {
  type: "AUTH";
  method: number;
  data: Buffer;
}

export function encodeAuth(p: AuthPayload): Buffer {
  return Buffer.concat([Buffer.from([p.method, 0, 0, 0]), p.data]);
}

export function decodeAuth(body: Uint8Array): AuthPayload {
  const r = createReader(body, "AUTH payload");
  const method = r.u8("auth method");
  r.bytes(3, "reserved");
  return { type: "AUTH", method, data: r.rest() };
}
