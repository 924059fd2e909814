/**
 * The PAC as typed buffers (MS-PAC §2.4 ulType values): `decodePac` decodes the buffers
 * postern reads and keeps the others raw, in their original order; `encodePac` lays them
 * out again. Signing and verification are in sign.ts / verify.ts.
 */
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
    case "signature":
    case "raw":
      return b.type;
  }
}

/** Decodes a PAC; throws PacError "pac-malformed" naming the buffer and field at fault. */
export function decodePac(bytes: Uint8Array): Pac {
  const seen = new Set<number>();
  const buffers = decodePacContainer(bytes).map((raw): PacBuffer => {
    const type = raw.type;
    const known = type === 1 || type === 10 || type === 12 || SIGNATURE_TYPES.includes(type);
    if (known && seen.has(type)) {
      throw new PacError("pac-malformed", `PAC: more than one buffer of type ${type}`);
    }
    seen.add(type);
    if (type === PAC_TYPE.LOGON_INFO)
      return { kind: "logon-info", value: decodeLogonInfo(raw.data) };
    if (type === PAC_TYPE.CLIENT_INFO)
      return { kind: "client-info", value: decodeClientInfo(raw.data) };
    if (type === PAC_TYPE.UPN_DNS_INFO)
      return { kind: "upn-dns-info", value: decodeUpnDnsInfo(raw.data) };
    if (SIGNATURE_TYPES.includes(type)) {
      const value = decodeSignatureData(raw.data, `PAC ${SIGNATURE_NAME[type]}`);
      return { kind: "signature", type: type as SignatureBufferType, value };
    }
    return { kind: "raw", type, data: Uint8Array.from(raw.data) };
  });
  return { buffers };
}

export function encodePacBuffer(b: PacBuffer): Uint8Array {
  switch (b.kind) {
    case "logon-info":
      return encodeLogonInfo(b.value);
    case "client-info":
      return encodeClientInfo(b.value);
    case "upn-dns-info":
      return encodeUpnDnsInfo(b.value);
    case "signature":
      return encodeSignatureData(b.value);
    case "raw":
      return b.data;
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
