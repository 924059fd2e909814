/**
 * KDC-REQ-BODY (RFC 4120 §5.4.1): the part of an AS-REQ or TGS-REQ that the TGS-REQ's
 * authenticator checksum covers. Because a checksum covers the bytes as sent, a KDC takes
 * them from `kdcReqBodyBytes()` (kdc-req.ts), not from a re-encoding.
 *
 * ```
 * KDC-REQ-BODY    ::= SEQUENCE {
 *         kdc-options             [0] KDCOptions,
 *         cname                   [1] PrincipalName OPTIONAL
 *                                     -- Used only in AS-REQ --,
 *         realm                   [2] Realm
 *                                     -- Server's realm
 *                                     -- Also client's in AS-REQ --,
 *         sname                   [3] PrincipalName OPTIONAL,
 *         from                    [4] KerberosTime OPTIONAL,
 *         till                    [5] KerberosTime,
 *         rtime                   [6] KerberosTime OPTIONAL,
 *         nonce                   [7] UInt32,
 *         etype                   [8] SEQUENCE OF Int32 -- EncryptionType
 *                                     -- in preference order --,
 *         addresses               [9] HostAddresses OPTIONAL,
 *         enc-authorization-data  [10] EncryptedData OPTIONAL
 *                                     -- AuthorizationData --,
 *         additional-tickets      [11] SEQUENCE OF Ticket OPTIONAL
 *                                        -- NOTE: not empty
 * }
 * ```
 */
import type { DerNode } from "../../asn1/der.js";
import { derSequence } from "../../asn1/writer.js";
import { derEncryptedData, type EncryptedData, readEncryptedData } from "./encrypted-data.js";
import { derHostAddresses, type HostAddress, readHostAddresses } from "./host-address.js";
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
  derInt32,
  derKerberosFlags,
  derKerberosTime,
  derUInt32,
  readInt32,
  readKerberosFlags,
  readKerberosTime,
  readSequenceOf,
  readUInt32,
  SequenceReader,
} from "./primitives.js";
import { derTicket, readTicket, type Ticket } from "./ticket.js";

export interface KdcReqBody {
  kdcOptions: number;
  cname?: PrincipalName;
  realm: string;
  sname?: PrincipalName;
  from?: Date;
  till: Date;
  rtime?: Date;
  nonce: number;
  etype: number[];
  addresses?: HostAddress[];
  encAuthorizationData?: EncryptedData;
  additionalTickets?: Ticket[];
}

export function readKdcReqBody(node: DerNode): KdcReqBody {
  const r = new SequenceReader(node);
  const body: KdcReqBody = {
    kdcOptions: r.req(0, "kdc-options", readKerberosFlags),
    cname: r.opt(1, "cname", readPrincipalName),
    realm: r.req(2, "realm", readRealm),
    sname: r.opt(3, "sname", readPrincipalName),
    from: r.opt(4, "from", readKerberosTime),
    till: r.req(5, "till", readKerberosTime),
    rtime: r.opt(6, "rtime", readKerberosTime),
    nonce: r.req(7, "nonce", readUInt32),
    etype: r.req(8, "etype", (n) => readSequenceOf(n, readInt32)),
    addresses: r.opt(9, "addresses", readHostAddresses),
    encAuthorizationData: r.opt(10, "enc-authorization-data", readEncryptedData),
    additionalTickets: r.opt(11, "additional-tickets", (n) => readSequenceOf(n, readTicket)),
  };
  r.end();
  return compact(body);
}

export function derKdcReqBody(b: KdcReqBody): Uint8Array {
  return derFields([
    [0, derKerberosFlags(b.kdcOptions)],
    [1, b.cname && derPrincipalName(b.cname)],
    [2, derRealm(b.realm)],
    [3, b.sname && derPrincipalName(b.sname)],
    [4, b.from && derKerberosTime(b.from)],
    [5, derKerberosTime(b.till)],
    [6, b.rtime && derKerberosTime(b.rtime)],
    [7, derUInt32(b.nonce)],
    [8, derSequence(b.etype.map(derInt32))],
    [9, b.addresses && derHostAddresses(b.addresses)],
    [10, b.encAuthorizationData && derEncryptedData(b.encAuthorizationData)],
    [11, b.additionalTickets && derSequence(b.additionalTickets.map(derTicket))],
  ]);
}

export function encodeKdcReqBody(b: KdcReqBody): Uint8Array {
  return derKdcReqBody(b);
}

export function decodeKdcReqBody(bytes: Uint8Array): KdcReqBody {
  return decodeWith(bytes, "KDC-REQ-BODY", readKdcReqBody);
}
