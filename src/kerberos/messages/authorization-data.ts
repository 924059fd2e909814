/**
 * AuthorizationData (RFC 4120 §5.2.6) and AD-IF-RELEVANT (§5.2.6.1); ad-type numbers from
 * §7.5.4 and MS-PAC's AD-WIN2K-PAC (128).
 *
 * ```
 * AuthorizationData       ::= SEQUENCE OF SEQUENCE {
 *         ad-type         [0] Int32,
 *         ad-data         [1] OCTET STRING
 * }
 *
 * AD-IF-RELEVANT          ::= AuthorizationData
 * ```
 *
 * A PAC travels as `AD-IF-RELEVANT { AD-WIN2K-PAC pac-bytes }` in EncTicketPart's
 * authorization-data.
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

export const AD_TYPE = {
  AD_IF_RELEVANT: 1,
  AD_INTENDED_FOR_SERVER: 2,
  AD_INTENDED_FOR_APPLICATION_CLASS: 3,
  AD_KDC_ISSUED: 4,
  AD_AND_OR: 5,
  AD_MANDATORY_TICKET_EXTENSIONS: 6,
  AD_IN_TICKET_EXTENSIONS: 7,
  AD_MANDATORY_FOR_KDC: 8,
  OSF_DCE: 64,
  SESAME: 65,
  AD_OSF_DCE_PKI_CERTID: 66,
  AD_WIN2K_PAC: 128,
  AD_ETYPE_NEGOTIATION: 129,
} as const;

export interface AuthorizationDataEntry {
  adType: number;
  adData: Uint8Array;
}

export type AuthorizationData = AuthorizationDataEntry[];

function readEntry(node: DerNode): AuthorizationDataEntry {
  const r = new SequenceReader(node);
  const adType = r.req(0, "ad-type", readInt32);
  const adData = r.req(1, "ad-data", readOctetString);
  r.end();
  return { adType, adData };
}

export function readAuthorizationData(node: DerNode): AuthorizationData {
  return readSequenceOf(node, readEntry);
}

export function derAuthorizationData(ad: readonly AuthorizationDataEntry[]): Uint8Array {
  return derSequence(
    ad.map((e) =>
      derFields([
        [0, derInt32(e.adType)],
        [1, derOctetString(e.adData)],
      ]),
    ),
  );
}

export function encodeAuthorizationData(ad: readonly AuthorizationDataEntry[]): Uint8Array {
  return derAuthorizationData(ad);
}

export function decodeAuthorizationData(bytes: Uint8Array): AuthorizationData {
  return decodeWith(bytes, "AuthorizationData", readAuthorizationData);
}

/** The ad-data of an AD-IF-RELEVANT element is itself AuthorizationData. */
export function encodeAdIfRelevant(
  inner: readonly AuthorizationDataEntry[],
): AuthorizationDataEntry {
  return { adType: AD_TYPE.AD_IF_RELEVANT, adData: derAuthorizationData(inner) };
}

export function decodeAdIfRelevant(adData: Uint8Array): AuthorizationData {
  return decodeWith(adData, "AD-IF-RELEVANT", readAuthorizationData);
}

/**
 * Every element of `ad` of type `adType`, looking inside AD-IF-RELEVANT containers
 * (nested ones too, to a bounded depth), as an acceptor looks for AD-WIN2K-PAC.
 */
export function findAuthorizationData(
  ad: readonly AuthorizationDataEntry[],
  adType: number,
  depth = 0,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const e of ad) {
    if (e.adType === adType) out.push(e.adData);
    else if (e.adType === AD_TYPE.AD_IF_RELEVANT && depth < 4) {
      out.push(...findAuthorizationData(decodeAdIfRelevant(e.adData), adType, depth + 1));
    }
  }
  return out;
}
