/**
 * KRB-CRED, EncKrbCredPart and KrbCredInfo (RFC 4120 §5.8.1): forwarding credentials
 * (key usage 14).
 *
 * ```
 * KRB-CRED        ::= [APPLICATION 22] SEQUENCE {
 *         pvno            [0] INTEGER (5),
 *         msg-type        [1] INTEGER (22),
 *         tickets         [2] SEQUENCE OF Ticket,
 *         enc-part        [3] EncryptedData -- EncKrbCredPart
 * }
 *
 * EncKrbCredPart  ::= [APPLICATION 29] SEQUENCE {
 *         ticket-info     [0] SEQUENCE OF KrbCredInfo,
 *         nonce           [1] UInt32 OPTIONAL,
 *         timestamp       [2] KerberosTime OPTIONAL,
 *         usec            [3] Microseconds OPTIONAL,
 *         s-address       [4] HostAddress OPTIONAL,
 *         r-address       [5] HostAddress OPTIONAL
 * }
 *
 * KrbCredInfo     ::= SEQUENCE {
 *         key             [0] EncryptionKey,
 *         prealm          [1] Realm OPTIONAL,
 *         pname           [2] PrincipalName OPTIONAL,
 *         flags           [3] TicketFlags OPTIONAL,
 *         authtime        [4] KerberosTime OPTIONAL,
 *         starttime       [5] KerberosTime OPTIONAL,
 *         endtime         [6] KerberosTime OPTIONAL,
 *         renew-till      [7] KerberosTime OPTIONAL,
 *         srealm          [8] Realm OPTIONAL,
 *         sname           [9] PrincipalName OPTIONAL,
 *         caddr           [10] HostAddresses OPTIONAL
 * }
 * ```
 */
import { type DerNode, readApplication } from "../../asn1/der.js";
import { derApplication, derInteger, derSequence } from "../../asn1/writer.js";
import { derEncryptedData, type EncryptedData, readEncryptedData } from "./encrypted-data.js";
import { derEncryptionKey, type EncryptionKey, readEncryptionKey } from "./encryption-key.js";
import {
  derHostAddress,
  derHostAddresses,
  type HostAddress,
  readHostAddress,
  readHostAddresses,
} from "./host-address.js";
import { MSG_TYPE } from "./msg-type.js";
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
  derKerberosFlags,
  derKerberosTime,
  derMicroseconds,
  derUInt32,
  PVNO,
  readKerberosFlags,
  readKerberosTime,
  readMicroseconds,
  readMsgType,
  readPvno,
  readSequenceOf,
  readUInt32,
  SequenceReader,
} from "./primitives.js";
import { derTicket, readTicket, type Ticket } from "./ticket.js";

export interface KrbCred {
  tickets: Ticket[];
  encPart: EncryptedData;
}

export interface KrbCredInfo {
  key: EncryptionKey;
  prealm?: string;
  pname?: PrincipalName;
  flags?: number;
  authtime?: Date;
  starttime?: Date;
  endtime?: Date;
  renewTill?: Date;
  srealm?: string;
  sname?: PrincipalName;
  caddr?: HostAddress[];
}

export interface EncKrbCredPart {
  ticketInfo: KrbCredInfo[];
  nonce?: number;
  timestamp?: Date;
  usec?: number;
  sAddress?: HostAddress;
  rAddress?: HostAddress;
}

export function readKrbCred(node: DerNode): KrbCred {
  const r = new SequenceReader(readApplication(node, MSG_TYPE.KRB_CRED));
  r.req(0, "pvno", readPvno);
  r.req(1, "msg-type", (n) => readMsgType(n, MSG_TYPE.KRB_CRED));
  const tickets = r.req(2, "tickets", (n) => readSequenceOf(n, readTicket));
  const encPart = r.req(3, "enc-part", readEncryptedData);
  r.end();
  return { tickets, encPart };
}

export function encodeKrbCred(c: KrbCred): Uint8Array {
  return derApplication(
    MSG_TYPE.KRB_CRED,
    derFields([
      [0, derInteger(PVNO)],
      [1, derInteger(MSG_TYPE.KRB_CRED)],
      [2, derSequence(c.tickets.map(derTicket))],
      [3, derEncryptedData(c.encPart)],
    ]),
  );
}

export function decodeKrbCred(bytes: Uint8Array): KrbCred {
  return decodeWith(bytes, "KRB-CRED", readKrbCred);
}

function readCredInfo(node: DerNode): KrbCredInfo {
  const r = new SequenceReader(node);
  const i: KrbCredInfo = {
    key: r.req(0, "key", readEncryptionKey),
    prealm: r.opt(1, "prealm", readRealm),
    pname: r.opt(2, "pname", readPrincipalName),
    flags: r.opt(3, "flags", readKerberosFlags),
    authtime: r.opt(4, "authtime", readKerberosTime),
    starttime: r.opt(5, "starttime", readKerberosTime),
    endtime: r.opt(6, "endtime", readKerberosTime),
    renewTill: r.opt(7, "renew-till", readKerberosTime),
    srealm: r.opt(8, "srealm", readRealm),
    sname: r.opt(9, "sname", readPrincipalName),
    caddr: r.opt(10, "caddr", readHostAddresses),
  };
  r.end();
  return compact(i);
}

function derCredInfo(i: KrbCredInfo): Uint8Array {
  return derFields([
    [0, derEncryptionKey(i.key)],
    [1, i.prealm === undefined ? undefined : derRealm(i.prealm)],
    [2, i.pname && derPrincipalName(i.pname)],
    [3, i.flags === undefined ? undefined : derKerberosFlags(i.flags)],
    [4, i.authtime && derKerberosTime(i.authtime)],
    [5, i.starttime && derKerberosTime(i.starttime)],
    [6, i.endtime && derKerberosTime(i.endtime)],
    [7, i.renewTill && derKerberosTime(i.renewTill)],
    [8, i.srealm === undefined ? undefined : derRealm(i.srealm)],
    [9, i.sname && derPrincipalName(i.sname)],
    [10, i.caddr && derHostAddresses(i.caddr)],
  ]);
}

export function readEncKrbCredPart(node: DerNode): EncKrbCredPart {
  const r = new SequenceReader(readApplication(node, MSG_TYPE.ENC_KRB_CRED_PART));
  const p: EncKrbCredPart = {
    ticketInfo: r.req(0, "ticket-info", (n) => readSequenceOf(n, readCredInfo)),
    nonce: r.opt(1, "nonce", readUInt32),
    timestamp: r.opt(2, "timestamp", readKerberosTime),
    usec: r.opt(3, "usec", readMicroseconds),
    sAddress: r.opt(4, "s-address", readHostAddress),
    rAddress: r.opt(5, "r-address", readHostAddress),
  };
  r.end();
  return compact(p);
}

export function encodeEncKrbCredPart(p: EncKrbCredPart): Uint8Array {
  return derApplication(
    MSG_TYPE.ENC_KRB_CRED_PART,
    derFields([
      [0, derSequence(p.ticketInfo.map(derCredInfo))],
      [1, p.nonce === undefined ? undefined : derUInt32(p.nonce)],
      [2, p.timestamp && derKerberosTime(p.timestamp)],
      [3, p.usec === undefined ? undefined : derMicroseconds(p.usec)],
      [4, p.sAddress && derHostAddress(p.sAddress)],
      [5, p.rAddress && derHostAddress(p.rAddress)],
    ]),
  );
}

export function decodeEncKrbCredPart(bytes: Uint8Array): EncKrbCredPart {
  return decodeWith(bytes, "EncKrbCredPart", readEncKrbCredPart);
}
