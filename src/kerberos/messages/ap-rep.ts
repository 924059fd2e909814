/**
 * AP-REP (RFC 4120 §5.5.2).
 *
 * ```
 * AP-REP          ::= [APPLICATION 15] SEQUENCE {
 *         pvno            [0] INTEGER (5),
 *         msg-type        [1] INTEGER (15),
 *         enc-part        [2] EncryptedData -- EncAPRepPart
 * }
 * ```
 */
import { type DerNode, readApplication } from "../../asn1/der.js";
import { derApplication, derInteger } from "../../asn1/writer.js";
import { derEncryptedData, type EncryptedData, readEncryptedData } from "./encrypted-data.js";
import { MSG_TYPE } from "./msg-type.js";
import {
  decodeWith,
  derFields,
  PVNO,
  readMsgType,
  readPvno,
  SequenceReader,
} from "./primitives.js";

export interface ApRep {
  encPart: EncryptedData;
}

export function readApRep(node: DerNode): ApRep {
  const r = new SequenceReader(readApplication(node, MSG_TYPE.AP_REP));
  r.req(0, "pvno", readPvno);
  r.req(1, "msg-type", (n) => readMsgType(n, MSG_TYPE.AP_REP));
  const encPart = r.req(2, "enc-part", readEncryptedData);
  r.end();
  return { encPart };
}

export function encodeApRep(a: ApRep): Uint8Array {
  return derApplication(
    MSG_TYPE.AP_REP,
    derFields([
      [0, derInteger(PVNO)],
      [1, derInteger(MSG_TYPE.AP_REP)],
      [2, derEncryptedData(a.encPart)],
    ]),
  );
}

export function decodeApRep(bytes: Uint8Array): ApRep {
  return decodeWith(bytes, "AP-REP", readApRep);
}
