/**
 * An IKE message: the header and its chain of payloads (RFC 7296 §3.2 generic header).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Decoding validates every generic header length against what is left before it decodes
 * a body; an unknown payload is kept as "unknown" with its critical bit so the caller can
 * answer UNSUPPORTED_CRITICAL_PAYLOAD (§2.5).
 */
import { assertNever } from "../errors.js";
import { PayloadType } from "./constants.js";
import { malformed } from "./errors.js";
import { type AuthPayload, decodeAuth, encodeAuth } from "./payloads/auth.js";
import { type CertPayload, decodeCert, encodeCert } from "./payloads/cert.js";
import { type CertReqPayload, decodeCertReq, encodeCertReq } from "./payloads/certreq.js";
import { type DeletePayload, decodeDelete, encodeDelete } from "./payloads/delete.js";
import {
  decodeHeader,
  encodeHeader,
  IKE_HEADER_LENGTH,
  type IkeHeader,
} from "./payloads/header.js";
import { decodeId, encodeId, type IdPayload } from "./payloads/id.js";
import { decodeKe, encodeKe, type KePayload } from "./payloads/ke.js";
import { decodeNonce, encodeNonce, type NoncePayload } from "./payloads/nonce.js";
import { decodeNotify, encodeNotify, type NotifyPayload } from "./payloads/notify.js";
import { decodeSa, encodeSa, type SaPayload } from "./payloads/sa.js";
import { decodeSk, encodeSk, type SkPayload } from "./payloads/sk.js";
import { decodeTs, encodeTs, type TsPayload } from "./payloads/ts.js";
import { decodeVendor, encodeVendor, type VendorPayload } from "./payloads/vendor.js";

export interface UnknownPayload {
  type: "unknown";
  payloadType: number;
  critical: boolean;
  body: Buffer;
}

export type Payload =
  | SaPayload
  | KePayload
  | NoncePayload
  | IdPayload
  | AuthPayload
  | CertPayload
  | CertReqPayload
  | NotifyPayload
  | DeletePayload
  | VendorPayload
  | TsPayload
  | SkPayload
  | UnknownPayload;

export interface IkeMessage {
  header: IkeHeader;
  payloads: Payload[];
}

export const GENERIC_HEADER_LENGTH = 4;

export function payloadTypeOf(p: Payload): number {
  switch (p.type) {
    case "SA":
      return PayloadType.SA;
    case "KE":
      return PayloadType.KE;
    case "NONCE":
      return PayloadType.NONCE;
    case "IDi":
      return PayloadType.IDi;
    case "IDr":
      return PayloadType.IDr;
    case "AUTH":
      return PayloadType.AUTH;
    case "CERT":
      return PayloadType.CERT;
    case "CERTREQ":
      return PayloadType.CERTREQ;
    case "N":
      return PayloadType.N;
    case "D":
      return PayloadType.D;
    case "V":
      return PayloadType.V;
    case "TSi":
      return PayloadType.TSi;
    case "TSr":
      return PayloadType.TSr;
    case "SK":
      return PayloadType.SK;
    case "unknown":
      return p.payloadType;
    default:
      return assertNever(p, "payload");
  }
}

export function encodeBody(p: Payload): Buffer {
  switch (p.type) {
    case "SA":
      return encodeSa(p);
    case "KE":
      return encodeKe(p);
    case "NONCE":
      return encodeNonce(p);
    case "IDi":
    case "IDr":
      return encodeId(p);
    case "AUTH":
      return encodeAuth(p);
    case "CERT":
      return encodeCert(p);
    case "CERTREQ":
      return encodeCertReq(p);
    case "N":
      return encodeNotify(p);
    case "D":
      return encodeDelete(p);
    case "V":
      return encodeVendor(p);
    case "TSi":
    case "TSr":
      return encodeTs(p);
    case "SK":
      return encodeSk(p);
    case "unknown":
      return Buffer.from(p.body);
    default:
      return assertNever(p, "payload");
  }
}

function decodeBody(type: number, body: Buffer, critical: boolean, next: number): Payload {
  switch (type) {
    case PayloadType.SA:
      return decodeSa(body);
    case PayloadType.KE:
      return decodeKe(body);
    case PayloadType.NONCE:
      return decodeNonce(body);
    case PayloadType.IDi:
      return decodeId(body, "IDi");
    case PayloadType.IDr:
      return decodeId(body, "IDr");
    case PayloadType.AUTH:
      return decodeAuth(body);
    case PayloadType.CERT:
      return decodeCert(body);
    case PayloadType.CERTREQ:
      return decodeCertReq(body);
    case PayloadType.N:
      return decodeNotify(body);
    case PayloadType.D:
      return decodeDelete(body);
    case PayloadType.V:
      return decodeVendor(body);
    case PayloadType.TSi:
      return decodeTs(body, "TSi");
    case PayloadType.TSr:
      return decodeTs(body, "TSr");
    case PayloadType.SK:
      return decodeSk(body, next);
    default:
      return { type: "unknown", payloadType: type, critical, body: Buffer.from(body) };
  }
}

/**
 * Encodes a payload chain. The SK payload's own Next Payload is its first inner payload
 * type, so the chain's "next" of SK is given by `innerFirst`, and SK must be last.
 */
export function encodeChain(payloads: readonly Payload[]): { first: number; bytes: Buffer } {
  const parts: Buffer[] = [];
  for (let i = 0; i < payloads.length; i++) {
    const p = payloads[i]!;
    const next =
      p.type === "SK" ? p.innerFirst : payloads[i + 1] ? payloadTypeOf(payloads[i + 1]!) : 0;
    const body = encodeBody(p);
    const gh = Buffer.alloc(GENERIC_HEADER_LENGTH);
    gh[0] = next;
    gh[1] = p.type === "unknown" && p.critical ? 0x80 : 0;
    gh.writeUInt16BE(GENERIC_HEADER_LENGTH + body.length, 2);
    parts.push(gh, body);
  }
  return { first: payloads[0] ? payloadTypeOf(payloads[0]) : 0, bytes: Buffer.concat(parts) };
}

/** Decodes a payload chain starting with type `first`; stops after an SK payload. */
export function decodeChain(buf: Uint8Array, first: number): Payload[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Payload[] = [];
  let type = first;
  let pos = 0;
  while (type !== PayloadType.NONE) {
    if (out.length >= 512) throw malformed("message: more than 512 payloads");
    if (b.length - pos < GENERIC_HEADER_LENGTH) {
      throw malformed(`payload ${type}: generic header needs 4 bytes, ${b.length - pos} left`);
    }
    const next = b[pos]!;
    const critical = (b[pos + 1]! & 0x80) !== 0;
    const len = b.readUInt16BE(pos + 2);
    if (len < GENERIC_HEADER_LENGTH) throw malformed(`payload ${type}: length ${len} < minimum 4`);
    if (len > b.length - pos)
      throw malformed(`payload ${type}: length ${len} exceeds the ${b.length - pos} bytes left`);
    const body = b.subarray(pos + GENERIC_HEADER_LENGTH, pos + len);
    out.push(decodeBody(type, body, critical, next));
    pos += len;
    if (type === PayloadType.SK) {
      if (pos !== b.length) throw malformed("SK payload: not the last payload");
      return out;
    }
    type = next;
  }
  if (pos !== b.length) throw malformed(`message: ${b.length - pos} bytes after the last payload`);
  return out;
}

/** Encodes a message with plaintext payloads (IKE_SA_INIT, or SK already sealed). */
export function encodeMessage(
  header: Omit<IkeHeader, "nextPayload" | "length">,
  payloads: readonly Payload[],
): Buffer {
  const chain = encodeChain(payloads);
  const h = encodeHeader({
    ...header,
    nextPayload: chain.first,
    length: IKE_HEADER_LENGTH + chain.bytes.length,
  });
  return Buffer.concat([h, chain.bytes]);
}

/** Decodes a datagram into header and payloads; throws IkeError("malformed") naming the field. */
export function decodeMessage(datagram: Uint8Array): IkeMessage {
  const header = decodeHeader(datagram);
  const payloads = decodeChain(datagram.subarray(IKE_HEADER_LENGTH), header.nextPayload);
  return { header, payloads };
}

/** Finds the first payload of a type (with narrowing). */
export function find<T extends Payload["type"]>(
  payloads: readonly Payload[],
  type: T,
): PayloadOf<T> | undefined {
  return payloads.find((p) => p.type === type) as PayloadOf<T> | undefined;
}

/** The payload record whose `type` can be T (TSi and TSr share TsPayload). */
export type PayloadOf<T extends Payload["type"]> = Payload extends infer P
  ? P extends { type: infer U }
    ? T extends U
      ? P
      : never
    : never
  : never;

/** Finds a notify of a type. */
export function findNotify(
  payloads: readonly Payload[],
  notifyType: number,
): NotifyPayload | undefined {
  return payloads.find((p): p is NotifyPayload => p.type === "N" && p.notifyType === notifyType);
}
