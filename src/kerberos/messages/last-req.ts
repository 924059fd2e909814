/**
 * LastReq (RFC 4120 §5.4.2).
 *
 * ```
 * LastReq         ::=     SEQUENCE OF SEQUENCE {
 *         lr-type         [0] Int32,
 *         lr-value        [1] KerberosTime
 * }
 * ```
 */
import type { DerNode } from "../../asn1/der.js";
import {
  decodeWith,
  derFields,
  derInt32,
  derKerberosTime,
  derSequence,
  readInt32,
  readKerberosTime,
  readSequenceOf,
  SequenceReader,
} from "./primitives.js";

export interface LastReqEntry {
  lrType: number;
  lrValue: Date;
}

function readEntry(node: DerNode): LastReqEntry {
  const r = new SequenceReader(node);
  const lrType = r.req(0, "lr-type", readInt32);
  const lrValue = r.req(1, "lr-value", readKerberosTime);
  r.end();
  return { lrType, lrValue };
}

export function readLastReq(node: DerNode): LastReqEntry[] {
  return readSequenceOf(node, readEntry);
}

export function derLastReq(list: readonly LastReqEntry[]): Uint8Array {
  return derSequence(
    list.map((e) =>
      derFields([
        [0, derInt32(e.lrType)],
        [1, derKerberosTime(e.lrValue)],
      ]),
    ),
  );
}

export function encodeLastReq(list: readonly LastReqEntry[]): Uint8Array {
  return derLastReq(list);
}

export function decodeLastReq(bytes: Uint8Array): LastReqEntry[] {
  return decodeWith(bytes, "LastReq", readLastReq);
}
