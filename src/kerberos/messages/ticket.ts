/**
 * Ticket (RFC 4120 §5.3).
 *
 * ```
 * Ticket          ::= [APPLICATION 1] SEQUENCE {
 *         tkt-vno         [0] INTEGER (5),
 *         realm           [1] Realm,
 *         sname           [2] PrincipalName,
 *         enc-part        [3] EncryptedData -- EncTicketPart
 * }
 * ```
 */
import { type DerNode, readApplication } from "../../asn1/der.js";
import { derApplication, derInteger } from "../../asn1/writer.js";
import { derEncryptedData, type EncryptedData, readEncryptedData } from "./encrypted-data.js";
import { MSG_TYPE } from "./msg-type.js";
import {
  derPrincipalName,
  derRealm,
  type PrincipalName,
  readPrincipalName,
  readRealm,
} from "./principal-name.js";
import { decodeWith, derFields, PVNO, readPvno, SequenceReader } from "./primitives.js";

export interface Ticket {
  realm: string;
  sname: PrincipalName;
  encPart: EncryptedData;
}

export function readTicket(node: DerNode): Ticket {
  const r = new SequenceReader(readApplication(node, MSG_TYPE.TICKET));
  r.req(0, "tkt-vno", readPvno);
  const realm = r.req(1, "realm", readRealm);
  const sname = r.req(2, "sname", readPrincipalName);
  const encPart = r.req(3, "enc-part", readEncryptedData);
  r.end();
  return { realm, sname, encPart };
}

export function derTicket(t: Ticket): Uint8Array {
  return derApplication(
    MSG_TYPE.TICKET,
    derFields([
      [0, derInteger(PVNO)],
      [1, derRealm(t.realm)],
      [2, derPrincipalName(t.sname)],
      [3, derEncryptedData(t.encPart)],
    ]),
  );
}

export function encodeTicket(t: Ticket): Uint8Array {
  return derTicket(t);
}

export function decodeTicket(bytes: Uint8Array): Ticket {
  return decodeWith(bytes, "Ticket", readTicket);
}
