/**
 * PA-DATA and METHOD-DATA (RFC 4120 §5.2.7); padata-type numbers from §7.5.2, MS-KILE
 * (128, 129), MS-SFU and RFC 6113 (FAST, listed so we can recognise and refuse it).
 *
 * ```
 * PA-DATA         ::= SEQUENCE {
 *         -- NOTE: first tag is [1], not [0]
 *         padata-type     [1] Int32,
 *         padata-value    [2] OCTET STRING -- might be encoded AP-REQ
 * }
 *
 * METHOD-DATA     ::= SEQUENCE OF PA-DATA
 * ```
 */
import type { DerNode } from "../../asn1/der.js";
import {
  decodeWith,
  derFields,
  derInt32,
  derOctetString,
  derSequence,
  readInt32,
  readOctetString,
  readSequenceOf,
  SequenceReader,
} from "./primitives.js";

export const PA_TYPE = {
  PA_TGS_REQ: 1,
  PA_ENC_TIMESTAMP: 2,
  PA_PW_SALT: 3,
  PA_ENC_UNIX_TIME: 5,
  PA_SANDIA_SECUREID: 6,
  PA_SESAME: 7,
  PA_OSF_DCE: 8,
  PA_CYBERSAFE_SECUREID: 9,
  PA_AFS3_SALT: 10,
  PA_ETYPE_INFO: 11,
  PA_SAM_CHALLENGE: 12,
  PA_SAM_RESPONSE: 13,
  PA_PK_AS_REQ_OLD: 14,
  PA_PK_AS_REP_OLD: 15,
  PA_PK_AS_REQ: 16,
  PA_PK_AS_REP: 17,
  PA_ETYPE_INFO2: 19,
  PA_USE_SPECIFIED_KVNO: 20,
  PA_SAM_REDIRECT: 21,
  PA_GET_FROM_TYPED_DATA: 22,
  PA_SAM_ETYPE_INFO: 23,
  PA_ALT_PRINC: 24,
  PA_SAM_CHALLENGE2: 30,
  PA_SAM_RESPONSE2: 31,
  PA_EXTRA_TGT: 41,
  PA_PAC_REQUEST: 128,
  PA_FOR_USER: 129,
  PA_FX_COOKIE: 133,
  PA_FX_FAST: 136,
  PA_FX_ERROR: 137,
  PA_ENCRYPTED_CHALLENGE: 138,
  PA_REQ_ENC_PA_REP: 149,
  PA_AS_FRESHNESS: 150,
  PA_SPAKE: 151,
  PA_PAC_OPTIONS: 167,
} as const;

export interface PaData {
  padataType: number;
  padataValue: Uint8Array;
}

export function readPaData(node: DerNode): PaData {
  const r = new SequenceReader(node);
  const padataType = r.req(1, "padata-type", readInt32);
  const padataValue = r.req(2, "padata-value", readOctetString);
  r.end();
  return { padataType, padataValue };
}

export function derPaData(p: PaData): Uint8Array {
  return derFields([
    [1, derInt32(p.padataType)],
    [2, derOctetString(p.padataValue)],
  ]);
}

export function readMethodData(node: DerNode): PaData[] {
  return readSequenceOf(node, readPaData);
}

export function derMethodData(list: readonly PaData[]): Uint8Array {
  return derSequence(list.map(derPaData));
}

export function encodePaData(p: PaData): Uint8Array {
  return derPaData(p);
}

export function decodePaData(bytes: Uint8Array): PaData {
  return decodeWith(bytes, "PA-DATA", readPaData);
}

/** METHOD-DATA: the e-data of KDC_ERR_PREAUTH_REQUIRED (RFC 4120 §5.9.1). */
export function encodeMethodData(list: readonly PaData[]): Uint8Array {
  return derMethodData(list);
}

export function decodeMethodData(bytes: Uint8Array): PaData[] {
  return decodeWith(bytes, "METHOD-DATA", readMethodData);
}

/** The first PA-DATA of `type`, if any. */
export function findPaData(list: readonly PaData[] | undefined, type: number): PaData | undefined {
  return list?.find((p) => p.padataType === type);
}
