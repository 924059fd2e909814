/**
 * EncTicketPart (RFC 4120 §5.3): the encrypted part of a Ticket (key usage 2). A PAC rides
 * in authorization-data as AD-IF-RELEVANT { AD-WIN2K-PAC }.
 *
 * ```
 * -- Encrypted part of ticket
 * EncTicketPart   ::= [APPLICATION 3] SEQUENCE {
 *         flags                   [0] TicketFlags,
 *         key                     [1] EncryptionKey,
 *         crealm                  [2] Realm,
 *         cname                   [3] PrincipalName,
 *         transited               [4] TransitedEncoding,
 *         authtime                [5] KerberosTime,
 *         starttime               [6] KerberosTime OPTIONAL,
 *         endtime                 [7] KerberosTime,
 *         renew-till              [8] KerberosTime OPTIONAL,
 *         caddr                   [9] HostAddresses OPTIONAL,
 *         authorization-data      [10] AuthorizationData OPTIONAL
 * }
 * ```
 */
import { type DerNode, readApplication } from "../../asn1/der.js";
import { derApplication } from "../../asn1/writer.js";
import {
  type AuthorizationData,
  derAuthorizationData,
  readAuthorizationData,
} from "./authorization-data.js";
import { derEncryptionKey, type EncryptionKey, readEncryptionKey } from "./encryption-key.js";
import { derHostAddresses, type HostAddress, readHostAddresses } from "./host-address.js";
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
  readKerberosFlags,
  readKerberosTime,
  SequenceReader,
} from "./primitives.js";
import {
  derTransitedEncoding,
  readTransitedEncoding,
  type TransitedEncoding,
} from "./transited-encoding.js";

export interface EncTicketPart {
  flags: number;
  key: EncryptionKey;
  crealm: string;
  cname: PrincipalName;
  transited: TransitedEncoding;
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  caddr?: HostAddress[];
  authorizationData?: AuthorizationData;
}

export function readEncTicketPart(node: DerNode): EncTicketPart {
  const r = new SequenceReader(readApplication(node, MSG_TYPE.ENC_TICKET_PART));
  const part: EncTicketPart = {
    flags: r.req(0, "flags", readKerberosFlags),
    key: r.req(1, "key", readEncryptionKey),
    crealm: r.req(2, "crealm", readRealm),
    cname: r.req(3, "cname", readPrincipalName),
    transited: r.req(4, "transited", readTransitedEncoding),
    authtime: r.req(5, "authtime", readKerberosTime),
    starttime: r.opt(6, "starttime", readKerberosTime),
    endtime: r.req(7, "endtime", readKerberosTime),
    renewTill: r.opt(8, "renew-till", readKerberosTime),
    caddr: r.opt(9, "caddr", readHostAddresses),
    authorizationData: r.opt(10, "authorization-data", readAuthorizationData),
  };
  r.end();
  return compact(part);
}

export function encodeEncTicketPart(p: EncTicketPart): Uint8Array {
  return encodeEncTicketPartWith(p)(p.authorizationData);
}

/**
 * An encoder of `p` with varying authorization-data: fields [0]-[9] are encoded once. A KDC
 * encodes a service ticket's part twice (MS-PAC §2.8.3: once with the PAC replaced by a
 * zero byte for the ticket signature, once with the signed PAC).
 */
export function encodeEncTicketPartWith(
  p: Omit<EncTicketPart, "authorizationData">,
): (authorizationData: AuthorizationData | undefined) => Uint8Array {
  const head: [number, Uint8Array | undefined][] = [
    [0, derKerberosFlags(p.flags)],
    [1, derEncryptionKey(p.key)],
    [2, derRealm(p.crealm)],
    [3, derPrincipalName(p.cname)],
    [4, derTransitedEncoding(p.transited)],
    [5, derKerberosTime(p.authtime)],
    [6, p.starttime && derKerberosTime(p.starttime)],
    [7, derKerberosTime(p.endtime)],
    [8, p.renewTill && derKerberosTime(p.renewTill)],
    [9, p.caddr && derHostAddresses(p.caddr)],
  ];
  return (ad) =>
    derApplication(
      MSG_TYPE.ENC_TICKET_PART,
      derFields([...head, [10, ad && derAuthorizationData(ad)]]),
    );
}

export function decodeEncTicketPart(bytes: Uint8Array): EncTicketPart {
  return decodeWith(bytes, "EncTicketPart", readEncTicketPart);
}
