/**
 * TransitedEncoding (RFC 4120 §5.3; tr-type 1 is DOMAIN-X500-COMPRESS, §3.3.3.2).
 *
 * ```
 * -- encoded Transited field
 * TransitedEncoding       ::= SEQUENCE {
 *         tr-type         [0] Int32 -- must be registered --,
 *         contents        [1] OCTET STRING
 * }
 * ```
 */
import type { DerNode } from "../../asn1/der.js";
import {
  decodeWith,
  derFields,
  derInt32,
  derOctetString,
  readInt32,
  readOctetString,
  SequenceReader,
} from "./primitives.js";

export const TR_TYPE_DOMAIN_X500_COMPRESS = 1;

export interface TransitedEncoding {
  trType: number;
  contents: Uint8Array;
}

export function readTransitedEncoding(node: DerNode): TransitedEncoding {
  const r = new SequenceReader(node);
  const trType = r.req(0, "tr-type", readInt32);
  const contents = r.req(1, "contents", readOctetString);
  r.end();
  return { trType, contents };
}

export function derTransitedEncoding(t: TransitedEncoding): Uint8Array {
  return derFields([
    [0, derInt32(t.trType)],
    [1, derOctetString(t.contents)],
  ]);
}

export function encodeTransitedEncoding(t: TransitedEncoding): Uint8Array {
  return derTransitedEncoding(t);
}

export function decodeTransitedEncoding(bytes: Uint8Array): TransitedEncoding {
  return decodeWith(bytes, "TransitedEncoding", readTransitedEncoding);
}
