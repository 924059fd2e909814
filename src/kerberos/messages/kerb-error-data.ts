/**
 * KERB-ERROR-DATA (MS-KILE §2.2.1): the e-data Windows and Samba KDCs put in some
 * KRB-ERRORs; with data-type KERB_ERR_TYPE_EXTENDED (3) the value is KERB-EXT-ERROR, an
 * NTSTATUS (little-endian) and two reserved 32-bit words.
 *
 * ```
 * KERB-ERROR-DATA ::= SEQUENCE {
 *         data-type      [1] INTEGER,
 *         data-value     [2] OCTET STRING OPTIONAL
 * }
 * ```
 */
import type { DerNode } from "../../asn1/der.js";
import { derInteger } from "../../asn1/writer.js";
import {
  decodeWith,
  derFields,
  derOctetString,
  readInt32,
  readOctetString,
  SequenceReader,
} from "./primitives.js";

export const KERB_ERR_TYPE_EXTENDED = 3;
export const KERB_AP_ERR_TYPE_SKEW_RECOVERY = 2;

export interface KerbErrorData {
  dataType: number;
  dataValue?: Uint8Array;
}

export function readKerbErrorData(node: DerNode): KerbErrorData {
  const r = new SequenceReader(node);
  const e: KerbErrorData = { dataType: r.req(1, "data-type", readInt32) };
  const v = r.opt(2, "data-value", readOctetString);
  if (v !== undefined) e.dataValue = v;
  r.end();
  return e;
}

export function encodeKerbErrorData(e: KerbErrorData): Uint8Array {
  return derFields([
    [1, derInteger(e.dataType)],
    [2, e.dataValue && derOctetString(e.dataValue)],
  ]);
}

export function decodeKerbErrorData(bytes: Uint8Array): KerbErrorData {
  return decodeWith(bytes, "KERB-ERROR-DATA", readKerbErrorData);
}

/** The NTSTATUS of a KERB_ERR_TYPE_EXTENDED value (12 octets, little-endian first word). */
export function extendedErrorStatus(e: KerbErrorData): number | undefined {
  const v = e.dataValue;
  if (e.dataType !== KERB_ERR_TYPE_EXTENDED || !v || v.length !== 12) return undefined;
  return (v[0]! | (v[1]! << 8) | (v[2]! << 16) | (v[3]! << 24)) >>> 0;
}
