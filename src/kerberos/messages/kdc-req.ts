/**
 * KDC-REQ, AS-REQ and TGS-REQ (RFC 4120 §5.4.1).
 *
 * ```
 * AS-REQ          ::= [APPLICATION 10] KDC-REQ
 *
 * TGS-REQ         ::= [APPLICATION 12] KDC-REQ
 *
 * KDC-REQ         ::= SEQUENCE {
 *         -- NOTE: first tag is [1], not [0]
 *         pvno            [1] INTEGER (5) ,
 *         msg-type        [2] INTEGER (10 -- AS -- | 12 -- TGS --),
 *         padata          [3] SEQUENCE OF PA-DATA OPTIONAL
 *                             -- NOTE: not empty --,
 *         req-body        [4] KDC-REQ-BODY
 * }
 * ```
 */
import { copyBytes } from "../../bytes.js";
import { Asn1Error, type DerNode, readApplication, SequenceReader } from "../../asn1/der.js";
import { derApplication, derInteger, derSequence } from "../../asn1/writer.js";
import { derKdcReqBody, type KdcReqBody, readKdcReqBody } from "./kdc-req-body.js";
import { MSG_TYPE } from "./msg-type.js";
import { derPaData, type PaData, readPaData } from "./pa-data.js";
import {
  compact,
  decodeWith,
  derFields,
  PVNO,
  readMsgType,
  readPvno,
  readSequenceOf,
} from "./primitives.js";

export interface KdcReq {
  padata?: PaData[];
  reqBody: KdcReqBody;
}

type KdcReqType = typeof MSG_TYPE.AS_REQ | typeof MSG_TYPE.TGS_REQ;

function readKdcReq(node: DerNode, msgType: KdcReqType): KdcReq {
  const r = new SequenceReader(readApplication(node, msgType));
  r.req(1, "pvno", readPvno);
  r.req(2, "msg-type", (n) => readMsgType(n, msgType));
  const padata = r.opt(3, "padata", (n) => readSequenceOf(n, readPaData));
  const reqBody = r.req(4, "req-body", readKdcReqBody);
  r.end();
  return compact({ padata, reqBody });
}

function derKdcReq(req: KdcReq, msgType: KdcReqType): Uint8Array {
  return derApplication(
    msgType,
    derFields([
      [1, derInteger(PVNO)],
      [2, derInteger(msgType)],
      [3, req.padata && derSequence(req.padata.map(derPaData))],
      [4, derKdcReqBody(req.reqBody)],
    ]),
  );
}

export const readAsReq = (node: DerNode): KdcReq => readKdcReq(node, MSG_TYPE.AS_REQ);
export const readTgsReq = (node: DerNode): KdcReq => readKdcReq(node, MSG_TYPE.TGS_REQ);

export function encodeAsReq(req: KdcReq): Uint8Array {
  return derKdcReq(req, MSG_TYPE.AS_REQ);
}

export function decodeAsReq(bytes: Uint8Array): KdcReq {
  return decodeWith(bytes, "AS-REQ", readAsReq);
}

export function encodeTgsReq(req: KdcReq): Uint8Array {
  return derKdcReq(req, MSG_TYPE.TGS_REQ);
}

export function decodeTgsReq(bytes: Uint8Array): KdcReq {
  return decodeWith(bytes, "TGS-REQ", readTgsReq);
}

/**
 * The req-body of an AS-REQ or TGS-REQ exactly as received (the TGS-REQ authenticator's
 * checksum covers these bytes, RFC 4120 §5.4.1). Call after `decodeTgsReq` succeeded.
 */
export function kdcReqBodyBytes(bytes: Uint8Array): Uint8Array {
  return decodeWith(bytes, "KDC-REQ", (node) => {
    if (
      node.cls !== "application" ||
      (node.tag !== MSG_TYPE.AS_REQ && node.tag !== MSG_TYPE.TGS_REQ)
    ) {
      throw new Asn1Error(node.path, "not an AS-REQ or TGS-REQ");
    }
    const r = new SequenceReader(readApplication(node, node.tag));
    r.req(1, "pvno", readPvno);
    r.req(2, "msg-type", (n) => readMsgType(n, node.tag));
    r.opt(3, "padata", (n) => n);
    const body = r.req(4, "req-body", (n) => n);
    r.end();
    return copyBytes(body.der);
  });
}
