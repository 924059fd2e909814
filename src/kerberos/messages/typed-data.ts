/**
 * TYPED-DATA (RFC 4120 §5.9.1): the e-data of KRB-ERRORs other than
 * KDC_ERR_PREAUTH_REQUIRED, when a KDC sends structured data (TD-* types; TD-PADATA 22).
 *
 * ```
 * TYPED-DATA      ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE {
 *         data-type       [0] Int32,
 *         data-value      [1] OCTET STRING OPTIONAL
 * }
 * ```
 */
import { Asn1Error, type DerNode } from "../../asn1/der.js";
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

export interface TypedDataEntry {
  dataType: number;
  dataValue?: Uint8Array;
}

function readEntry(node: DerNode): TypedDataEntry {
  const r = new SequenceReader(node);
  const e: TypedDataEntry = { dataType: r.req(0, "data-type", readInt32) };
  const v = r.opt(1, "data-value", readOctetString);
  if (v !== undefined) e.dataValue = v;
  r.end();
  return e;
}

export function readTypedData(node: DerNode): TypedDataEntry[] {
  const list = readSequenceOf(node, readEntry);
  if (list.length === 0) throw new Asn1Error(node.path, "TYPED-DATA is empty (SIZE (1..MAX))");
  return list;
}

export function encodeTypedData(list: readonly TypedDataEntry[]): Uint8Array {
  if (list.length === 0) throw new Asn1Error("writer", "TYPED-DATA is empty (SIZE (1..MAX))");
  return derSequence(
    list.map((e) =>
      derFields([
        [0, derInt32(e.dataType)],
        [1, e.dataValue && derOctetString(e.dataValue)],
      ]),
    ),
  );
}

export function decodeTypedData(bytes: Uint8Array): TypedDataEntry[] {
  return decodeWith(bytes, "TYPED-DATA", readTypedData);
}
