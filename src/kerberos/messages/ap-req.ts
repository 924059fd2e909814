/**
 * AP-REQ (RFC 4120 §5.5.1).
 *
 * ```
 * AP-REQ          ::= [APPLICATION 14] SEQUENCE {
 *         pvno            [0] INTEGER (5),
 *         msg-type        [1] INTEGER (14),
 *         ap-options      [2] APOptions,
 *         ticket          [3] Ticket,
 *         authenticator   [4] EncryptedData -- Authenticator
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
  derKerberosFlags,
  PVNO,
  readKerberosFlags,
  readMsgType,
  readPvno,
  SequenceReader,
} from "./primitives.js";
import { derTicket, readTicket, type Ticket } from "./ticket.js";

export interface ApReq {
  apOptions: number;
  ticket: Ticket;
  authenticator: EncryptedData;
}

export function readApReq(node: DerNode): ApReq {
  const r = new SequenceReader(readApplication(node, MSG_TYPE.AP_REQ));
  r.req(0, "pvno", readPvno);
  r.req(1, "msg-type", (n) => readMsgType(n, MSG_TYPE.AP_REQ));
  const apOptions = r.req(2, "ap-options", readKerberosFlags);
  const ticket = r.req(3, "ticket", readTicket);
  const authenticator = r.req(4, "authenticator", readEncryptedData);
  r.end();
  return { apOptions, ticket, authenticator };
}

export function encodeApReq(a: ApReq): Uint8Array {
  return derApplication(
    MSG_TYPE.AP_REQ,
    derFields([
      [0, derInteger(PVNO)],
      [1, derInteger(MSG_TYPE.AP_REQ)],
      [2, derKerberosFlags(a.apOptions)],
      [3, derTicket(a.ticket)],
      [4, derEncryptedData(a.authenticator)],
    ]),
  );
}

export function decodeApReq(bytes: Uint8Array): ApReq {
  return decodeWith(bytes, "AP-REQ", readApReq);
}
