/**
 * The Key Exchange payload (RFC 7296 §3.4).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Diffie-Hellman Group Num    |           RESERVED            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       Key Exchange Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { createReader, u16 } from "./reader.js";

export interface KePayload {
  type: "KE";
  group: number;
  data: Buffer;
}

export function encodeKe(p: KePayload): Buffer {
  return Buffer.concat([u16(p.group), u16(0), p.data]);
}

export function decodeKe(body: Uint8Array): KePayload {
  const r = createReader(body, "KE payload");
  const group = r.u16("DH group");
  r.u16("reserved");
  return { type: "KE", group, data: r.rest() };
}
