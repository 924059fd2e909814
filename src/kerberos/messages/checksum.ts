/**
 * Checksum (RFC 4120 §5.2.9).
 *
 * ```
 * Checksum        ::= SEQUENCE {
 *         cksumtype       [0] Int32,
 *         checksum        [1] OCTET STRING
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

export interface Checksum {
  cksumtype: number;
  checksum: Uint8Array;
}

export function readChecksum(node: DerNode): Checksum {
  const r = new SequenceReader(node);
  const cksumtype = r.req(0, "cksumtype", readInt32);
  const checksum = r.req(1, "checksum", readOctetString);
  r.end();
  return { cksumtype, checksum };
}

export function derChecksum(c: Checksum): Uint8Array {
  return derFields([
    [0, derInt32(c.cksumtype)],
    [1, derOctetString(c.checksum)],
  ]);
}

export function encodeChecksum(c: Checksum): Uint8Array {
  return derChecksum(c);
}

export function decodeChecksum(bytes: Uint8Array): Checksum {
  return decodeWith(bytes, "Checksum", readChecksum);
}
