/**
 * KRB-PRIV and EncKrbPrivPart (RFC 4120 §5.7.1): encrypted application data (key usage 13).
 *
 * ```
 * KRB-PRIV        ::= [APPLICATION 21] SEQUENCE {
 *         pvno            [0] INTEGER (5),
 *         msg-type        [1] INTEGER (21),
 *                         -- NOTE: there is no [2] tag
 *         enc-part        [3] EncryptedData -- EncKrbPrivPart
 * }
 *
 * EncKrbPrivPart  ::= [APPLICATION 28] SEQUENCE {
 *         user-data       [0] OCTET STRING,
 *         timestamp       [1] KerberosTime OPTIONAL,
 *         usec            [2] Microseconds OPTIONAL,
 *         seq-number      [3] UInt32 OPTIONAL,
 *         s-address       [4] HostAddress -- sender's addr --,
 *         r-address       [5] HostAddress OPTIONAL -- recip's addr
 * }
 * ```
 */
import { type DerNode, readApplication } from "../../asn1/der.js";
import { derApplication, derInteger } from "../../asn1/writer.js";
import { derEncryptedData, type EncryptedData, readEncryptedData } from "./encrypted-data.js";
import { derSafeBody, type KrbSafeBody, readSafeBody } from "./krb-safe.js";
import { MSG_TYPE } from "./msg-type.js";
import {
  decodeWith,
  derFields,
  PVNO,
  readMsgType,
  readPvno,
  SequenceReader,
} from "./primitives.js";

export interface KrbPriv {
  encPart: EncryptedData;
}

export type EncKrbPrivPart = KrbSafeBody;

export function readKrbPriv(node: DerNode): KrbPriv {
  const r = new SequenceReader(readApplication(node, MSG_TYPE.KRB_PRIV));
  r.req(0, "pvno", readPvno);
  r.req(1, "msg-type", (n) => readMsgType(n, MSG_TYPE.KRB_PRIV));
  const encPart = r.req(3, "enc-part", readEncryptedData);
  r.end();
  return { encPart };
}

export function encodeKrbPriv(p: KrbPriv): Uint8Array {
  return derApplication(
    MSG_TYPE.KRB_PRIV,
    derFields([
      [0, derInteger(PVNO)],
      [1, derInteger(MSG_TYPE.KRB_PRIV)],
      [3, derEncryptedData(p.encPart)],
    ]),
  );
}

export function decodeKrbPriv(bytes: Uint8Array): KrbPriv {
  return decodeWith(bytes, "KRB-PRIV", readKrbPriv);
}

export function encodeEncKrbPrivPart(p: EncKrbPrivPart): Uint8Array {
  return derApplication(MSG_TYPE.ENC_KRB_PRIV_PART, derSafeBody(p));
}

export function decodeEncKrbPrivPart(bytes: Uint8Array): EncKrbPrivPart {
  return decodeWith(bytes, "EncKrbPrivPart", (n) =>
    readSafeBody(readApplication(n, MSG_TYPE.ENC_KRB_PRIV_PART)),
  );
}
