/**
 * The Identification payloads IDi and IDr (RFC 7296 §3.5).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   ID Type     |                 RESERVED                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                   Identification Data                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The body (ID Type, RESERVED, data) is also RestOfInitIDPayload / RestOfRespIDPayload
 * of the AUTH computation (§2.15).
 */
import { IdType } from "../constants.js";
import { malformed } from "../errors.js";
import { createReader } from "./reader.js";

export interface IdPayload {
  type: "IDi" | "IDr";
  idType: number;
  data: Buffer;
}

export function encodeId(p: IdPayload): Buffer {
  return Buffer.concat([Buffer.from([p.idType, 0, 0, 0]), p.data]);
}

export function decodeId(body: Uint8Array, type: "IDi" | "IDr"): IdPayload {
  const r = createReader(body, `${type} payload`);
  const idType = r.u8("ID type");
  r.bytes(3, "reserved");
  const data = r.rest();
  if (idType === IdType.IPV4_ADDR && data.length !== 4) {
    throw malformed(`${type} payload: ID_IPV4_ADDR data length ${data.length} is not 4`);
  }
  if (idType === IdType.IPV6_ADDR && data.length !== 16) {
    throw malformed(`${type} payload: ID_IPV6_ADDR data length ${data.length} is not 16`);
  }
  return { type, idType, data };
}

/** An identity as configured: "1.2.3.4", "fqdn:host.example", "keyid:abc", "user@x". */
export function parseIdentity(text: string): { idType: number; data: Buffer } {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) return { idType: IdType.IPV4_ADDR, data: Buffer.from(v4.slice(1).map(Number)) };
  if (text.startsWith("keyid:")) return { idType: IdType.KEY_ID, data: Buffer.from(text.slice(6)) };
  if (text.startsWith("fqdn:")) return { idType: IdType.FQDN, data: Buffer.from(text.slice(5)) };
  if (text.includes("@")) return { idType: IdType.RFC822_ADDR, data: Buffer.from(text) };
  return { idType: IdType.FQDN, data: Buffer.from(text) };
}

/** Prints an identity for logs and comparison. */
export function formatIdentity(idType: number, data: Uint8Array): string {
  switch (idType) {
    case IdType.IPV4_ADDR:
      return Array.from(data).join(".");
    case IdType.FQDN:
    case IdType.RFC822_ADDR:
      return Buffer.from(data).toString("utf8");
    case IdType.KEY_ID:
      return `keyid:${Buffer.from(data).toString("utf8")}`;
    default:
      return `id${idType}:${Buffer.from(data).toString("hex")}`;
  }
}
