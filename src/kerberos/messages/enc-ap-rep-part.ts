/**
 * EncAPRepPart (RFC 4120 §5.5.2): the mutual-authentication reply, encrypted in the
 * session key (key usage 12).
 *
 * ```
 * EncAPRepPart    ::= [APPLICATION 27] SEQUENCE {
 *         ctime           [0] KerberosTime,
 *         cusec           [1] Microseconds,
 *         subkey          [2] EncryptionKey OPTIONAL,
 *         seq-number      [3] UInt32 OPTIONAL
 * }
 * ```
 */
import { type DerNode, readApplication } from "../../asn1/der.js";
import { derApplication } from "../../asn1/writer.js";
import { derEncryptionKey, type EncryptionKey, readEncryptionKey } from "./encryption-key.js";
import { MSG_TYPE } from "./msg-type.js";
import {
  compact,
  decodeWith,
  derFields,
  derKerberosTime,
  derMicroseconds,
  derUInt32,
  readKerberosTime,
  readMicroseconds,
  readSeqNumber,
  SequenceReader,
} from "./primitives.js";

export interface EncApRepPart {
  ctime: Date;
  cusec: number;
  subkey?: EncryptionKey;
  seqNumber?: number;
}

export function readEncApRepPart(node: DerNode): EncApRepPart {
  const r = new SequenceReader(readApplication(node, MSG_TYPE.ENC_AP_REP_PART));
  const part: EncApRepPart = {
    ctime: r.req(0, "ctime", readKerberosTime),
    cusec: r.req(1, "cusec", readMicroseconds),
    subkey: r.opt(2, "subkey", readEncryptionKey),
    seqNumber: r.opt(3, "seq-number", readSeqNumber),
  };
  r.end();
  return compact(part);
}

export function encodeEncApRepPart(p: EncApRepPart): Uint8Array {
  return derApplication(
    MSG_TYPE.ENC_AP_REP_PART,
    derFields([
      [0, derKerberosTime(p.ctime)],
      [1, derMicroseconds(p.cusec)],
      [2, p.subkey && derEncryptionKey(p.subkey)],
      [3, p.seqNumber === undefined ? undefined : derUInt32(p.seqNumber)],
    ]),
  );
}

export function decodeEncApRepPart(bytes: Uint8Array): EncApRepPart {
  return decodeWith(bytes, "EncAPRepPart", readEncApRepPart);
}
