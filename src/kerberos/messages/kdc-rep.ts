/**
 * KDC-REP, AS-REP and TGS-REP (RFC 4120 §5.4.2).
 *
 * ```
 * AS-REP          ::= [APPLICATION 11] KDC-REP
 *
 * TGS-REP         ::= [APPLICATION 13] KDC-REP
 *
 * KDC-REP         ::= SEQUENCE {
 *         pvno            [0] INTEGER (5),
 *         msg-type        [1] INTEGER (11 -- AS -- | 13 -- TGS --),
 *         padata          [2] SEQUENCE OF PA-DATA OPTIONAL
 *                                 -- NOTE: not empty --,
 *         crealm          [3] Realm,
 *         cname           [4] PrincipalName,
 *         ticket          [5] Ticket,
 *         enc-part        [6] EncryptedData
 *                                 -- EncASRepPart or EncTGSRepPart,
 *                                 -- as appropriate
 * }
 * ```
 */
import { type DerNode, readApplication, SequenceReader } from "../../asn1/der.js";
import { derApplication, derInteger, derSequence } from "../../asn1/writer.js";
import { derEncryptedData, type EncryptedData, readEncryptedData } from "./encrypted-data.js";
import { MSG_TYPE } from "./msg-type.js";
import { derPaData, type PaData, readPaData } from "./pa-data.js";
import {
  derPrincipalName,
  derRealm,
  type PrincipalName,
  readPrincipalName,
  readRealm,
} from "./principal-name.js";
import {
  compact,
  decodeWith,
  derFields,
  PVNO,
  readMsgType,
  readPvno,
  readSequenceOf,
} from "./primitives.js";
import { derTicket, readTicket, type Ticket } from "./ticket.js";

export interface KdcRep {
  padata?: PaData[];
  crealm: string;
  cname: PrincipalName;
  ticket: Ticket;
  encPart: EncryptedData;
}

type KdcRepType = typeof MSG_TYPE.AS_REP | typeof MSG_TYPE.TGS_REP;

function readKdcRep(node: DerNode, msgType: KdcRepType): KdcRep {
  const r = new SequenceReader(readApplication(node, msgType));
  r.req(0, "pvno", readPvno);
  r.req(1, "msg-type", (n) => readMsgType(n, msgType));
  const rep: KdcRep = {
    padata: r.opt(2, "padata", (n) => readSequenceOf(n, readPaData)),
    crealm: r.req(3, "crealm", readRealm),
    cname: r.req(4, "cname", readPrincipalName),
    ticket: r.req(5, "ticket", readTicket),
    encPart: r.req(6, "enc-part", readEncryptedData),
  };
  r.end();
  return compact(rep);
}

function derKdcRep(rep: KdcRep, msgType: KdcRepType): Uint8Array {
  return derApplication(
    msgType,
    derFields([
      [0, derInteger(PVNO)],
      [1, derInteger(msgType)],
      [2, rep.padata && derSequence(rep.padata.map(derPaData))],
      [3, derRealm(rep.crealm)],
      [4, derPrincipalName(rep.cname)],
      [5, derTicket(rep.ticket)],
      [6, derEncryptedData(rep.encPart)],
    ]),
  );
}

export const readAsRep = (node: DerNode): KdcRep => readKdcRep(node, MSG_TYPE.AS_REP);
export const readTgsRep = (node: DerNode): KdcRep => readKdcRep(node, MSG_TYPE.TGS_REP);

export function encodeAsRep(rep: KdcRep): Uint8Array {
  return derKdcRep(rep, MSG_TYPE.AS_REP);
}

export function decodeAsRep(bytes: Uint8Array): KdcRep {
  return decodeWith(bytes, "AS-REP", readAsRep);
}

export function encodeTgsRep(rep: KdcRep): Uint8Array {
  return derKdcRep(rep, MSG_TYPE.TGS_REP);
}

export function decodeTgsRep(bytes: Uint8Array): KdcRep {
  return decodeWith(bytes, "TGS-REP", readTgsRep);
}
