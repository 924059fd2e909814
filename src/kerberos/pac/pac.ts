/**
 * The PAC as typed buffers (MS-PAC §2.4 ulType values): `decodePac` decodes the buffers
 * postern reads and keeps the others raw, in their original order; `encodePac` lays them
 * out again. Signing and verification are in sign.ts / verify.ts.
 */
import {
  decodeAttributesInfo,
  decodeRequesterSid,
  encodeAttributesInfo,
  encodeRequesterSid,
  type PacAttributesInfo,
} from "./attributes.js";
import { type PacClientInfo, decodeClientInfo, encodeClientInfo } from "./client-info.js";
import { PacError } from "./errors.js";
import { decodeLogonInfo, encodeLogonInfo, type KerbValidationInfo } from "./logon-info.js";
import { decodePacContainer, encodePacContainer } from "./pactype.js";
import {
  decodeSignatureData,
  encodeSignatureData,
  type PacSignatureData,
} from "./signature-data.js";
import { decodeUpnDnsInfo, encodeUpnDnsInfo, type UpnDnsInfo } from "./upn-dns-info.js";
import { assertNever } from "../../errors.js";

export const PAC_TYPE = {
  LOGON_INFO: 1,
  CREDENTIALS_INFO: 2,
  SERVER_CHECKSUM: 6,
  PRIVSVR_CHECKSUM: 7,
  CLIENT_INFO: 10,
  DELEGATION_INFO: 11,
  UPN_DNS_INFO: 12,
  CLIENT_CLAIMS_INFO: 13,
  DEVICE_INFO: 14,
  DEVICE_CLAIMS_INFO: 15,
  TICKET_CHECKSUM: 16,
  ATTRIBUTES_INFO: 17,
  REQUESTER_SID: 18,
  FULL_CHECKSUM: 19,
} as const;

export type SignatureBufferType = 6 | 7 | 16 | 19;
export const SIGNATURE_TYPES: readonly number[] = [6, 7, 16, 19];

export type PacBuffer =
  | { kind: "logon-info"; value: KerbValidationInfo }
  | { kind: "client-info"; value: PacClientInfo }
  | { kind: "upn-dns-info"; value: UpnDnsInfo }
  | { kind: "attributes-info"; value: PacAttributesInfo }
  | { kind: "requester-sid"; value: string }
  | { kind: "signature"; type: SignatureBufferType; value: PacSignatureData }
  | { kind: "raw"; type: number; data: Uint8Array };

export interface Pac {
  buffers: PacBuffer[];
}

const SIGNATURE_NAME: Readonly<Record<number, string>> = {
  6: "server signature",
  7: "KDC signature",
  16: "ticket signature",
  19: "extended KDC signature",
};

/** The ulType of a buffer. */
export function pacBufferType(b: PacBuffer): number {
  switch (b.kind) {
    case "logon-info":
      return PAC_TYPE.LOGON_INFO;
    case "client-info":
      return PAC_TYPE.CLIENT_INFO;
    case "upn-dns-info":
      return PAC_TYPE.UPN_DNS_INFO;
    case "attributes-info":
      return PAC_TYPE.ATTRIBUTES_INFO;
    case "requester-sid":
      return PAC_TYPE.REQUESTER_SID;
    case "signature":
    case "raw":
      return b.type;
    default:
      return assertNever(b, "b kind");
  }
}

/** Decodes a PAC; throws PacError "pac-malformed" naming the buffer and field at fault. */
export function decodePac(bytes: Uint8Array): Pac {
  const seen = new Set<number>();
  const buffers = decodePacContainer(bytes).map((raw): PacBuffer => {
    const b = decodeBuffer(raw.type, raw.data);
    if (b.kind !== "raw" && seen.has(raw.type)) {
      throw new PacError("pac-malformed", `PAC: more than one buffer of type ${raw.type}`);
    }
    seen.add(raw.type);
    return b;
  });
  return { buffers };
}

function decodeBuffer(type: number, data: Uint8Array): PacBuffer {
  switch (type) {
    case PAC_TYPE.LOGON_INFO:
      return { kind: "logon-info", value: decodeLogonInfo(data) };
    case PAC_TYPE.CLIENT_INFO:
      return { kind: "client-info", value: decodeClientInfo(data) };
    case PAC_TYPE.UPN_DNS_INFO:
      return { kind: "upn-dns-info", value: decodeUpnDnsInfo(data) };
    case PAC_TYPE.ATTRIBUTES_INFO:
      return { kind: "attributes-info", value: decodeAttributesInfo(data) };
    case PAC_TYPE.REQUESTER_SID:
      return { kind: "requester-sid", value: decodeRequesterSid(data) };
    case 6:
    case 7:
    case 16:
    case 19:
      return {
        kind: "signature",
        type,
        value: decodeSignatureData(data, `PAC ${SIGNATURE_NAME[type]}`),
      };
    default:
      return { kind: "raw", type, data: Uint8Array.from(data) };
  }
}

export function encodePacBuffer(b: PacBuffer): Uint8Array {
  switch (b.kind) {
    case "logon-info":
      return encodeLogonInfo(b.value);
    case "client-info":
      return encodeClientInfo(b.value);
    case "upn-dns-info":
      return encodeUpnDnsInfo(b.value);
    case "attributes-info":
      return encodeAttributesInfo(b.value);
    case "requester-sid":
      return encodeRequesterSid(b.value);
    case "signature":
      return encodeSignatureData(b.value);
    case "raw":
      return b.data;
    default:
      return assertNever(b, "b kind");
  }
}

/** Encodes a PAC (signatures as they are in the model; see signPac to sign). */
export function encodePac(pac: Pac): Uint8Array {
  return encodePacContainer(
    pac.buffers.map((b) => ({ type: pacBufferType(b), data: encodePacBuffer(b) })),
  ).bytes;
}

/** The first buffer of a kind, typed. */
export function findBuffer<K extends PacBuffer["kind"]>(
  pac: Pac,
  kind: K,
): Extract<PacBuffer, { kind: K }> | undefined {
  return pac.buffers.find((b) => b.kind === kind) as Extract<PacBuffer, { kind: K }> | undefined;
}

export function findSignature(pac: Pac, type: SignatureBufferType): PacSignatureData | undefined {
  const b = pac.buffers.find((x) => x.kind === "signature" && x.type === type);
  return b?.kind === "signature" ? b.value : undefined;
}
