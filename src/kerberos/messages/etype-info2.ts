/**
 * ETYPE-INFO2 (RFC 4120 §5.2.7.5): the enctypes, salts and string-to-key parameters a KDC
 * offers in KDC_ERR_PREAUTH_REQUIRED and in the AS-REP's padata.
 *
 * ```
 * ETYPE-INFO2-ENTRY       ::= SEQUENCE {
 *         etype           [0] Int32,
 *         salt            [1] KerberosString OPTIONAL,
 *         s2kparams       [2] OCTET STRING OPTIONAL
 * }
 *
 * ETYPE-INFO2             ::= SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY
 * ```
 */
import { Asn1Error, type DerNode } from "../../asn1/der.js";
import {
  decodeWith,
  derFields,
  derInt32,
  derKerberosString,
  derOctetString,
  derSequence,
  readInt32,
  readKerberosString,
  readOctetString,
  readSequenceOf,
  SequenceReader,
} from "./primitives.js";

export interface EtypeInfo2Entry {
  etype: number;
  salt?: string;
  s2kparams?: Uint8Array;
}

export function readEtypeInfo2Entry(node: DerNode): EtypeInfo2Entry {
  const r = new SequenceReader(node);
  const e: EtypeInfo2Entry = { etype: r.req(0, "etype", readInt32) };
  const salt = r.opt(1, "salt", readKerberosString);
  if (salt !== undefined) e.salt = salt;
  const s2kparams = r.opt(2, "s2kparams", readOctetString);
  if (s2kparams !== undefined) e.s2kparams = s2kparams;
  r.end();
  return e;
}

export function derEtypeInfo2Entry(e: EtypeInfo2Entry): Uint8Array {
  return derFields([
    [0, derInt32(e.etype)],
    [1, e.salt === undefined ? undefined : derKerberosString(e.salt)],
    [2, e.s2kparams === undefined ? undefined : derOctetString(e.s2kparams)],
  ]);
}

export function readEtypeInfo2(node: DerNode): EtypeInfo2Entry[] {
  const list = readSequenceOf(node, readEtypeInfo2Entry);
  if (list.length === 0) throw new Asn1Error(node.path, "ETYPE-INFO2 is empty (SIZE (1..MAX))");
  return list;
}

export function encodeEtypeInfo2(list: readonly EtypeInfo2Entry[]): Uint8Array {
  if (list.length === 0) throw new Asn1Error("writer", "ETYPE-INFO2 is empty (SIZE (1..MAX))");
  return derSequence(list.map(derEtypeInfo2Entry));
}

export function decodeEtypeInfo2(bytes: Uint8Array): EtypeInfo2Entry[] {
  return decodeWith(bytes, "ETYPE-INFO2", readEtypeInfo2);
}

export function encodeEtypeInfo2Entry(e: EtypeInfo2Entry): Uint8Array {
  return derEtypeInfo2Entry(e);
}

export function decodeEtypeInfo2Entry(bytes: Uint8Array): EtypeInfo2Entry {
  return decodeWith(bytes, "ETYPE-INFO2-ENTRY", readEtypeInfo2Entry);
}
