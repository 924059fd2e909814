/**
 * EncKDCRepPart, EncASRepPart and EncTGSRepPart (RFC 4120 §5.4.2), with RFC 6806 §11's
 * encrypted-pa-data [12].
 *
 * ```
 * EncASRepPart    ::= [APPLICATION 25] EncKDCRepPart
 *
 * EncTGSRepPart   ::= [APPLICATION 26] EncKDCRepPart
 *
 * EncKDCRepPart   ::= SEQUENCE {
 *         key             [0] EncryptionKey,
 *         last-req        [1] LastReq,
 *         nonce           [2] UInt32,
 *         key-expiration  [3] KerberosTime OPTIONAL,
 *         flags           [4] TicketFlags,
 *         authtime        [5] KerberosTime,
 *         starttime       [6] KerberosTime OPTIONAL,
 *         endtime         [7] KerberosTime,
 *         renew-till      [8] KerberosTime OPTIONAL,
 *         srealm          [9] Realm,
 *         sname           [10] PrincipalName,
 *         caddr           [11] HostAddresses OPTIONAL,
 *         encrypted-pa-data [12] METHOD-DATA OPTIONAL -- RFC 6806
 * }
 * ```
 *
 * RFC 4120 §5.4.2 notes that some KDCs send tag 26 inside an AS-REP too, and lets a
 * client relax the check: `decodeEncKdcRepPart` accepts either and says which arrived.
 */
import { Asn1Error, type DerNode, readApplication } from "../../asn1/der.js";
import { derApplication } from "../../asn1/writer.js";
import { derEncryptionKey, type EncryptionKey, readEncryptionKey } from "./encryption-key.js";
import { derHostAddresses, type HostAddress, readHostAddresses } from "./host-address.js";
import { derLastReq, type LastReqEntry, readLastReq } from "./last-req.js";
import { MSG_TYPE } from "./msg-type.js";
import { derMethodData, type PaData, readMethodData } from "./pa-data.js";
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
  derUInt32,
  readKerberosFlags,
  readKerberosTime,
  readUInt32,
  SequenceReader,
} from "./primitives.js";

export interface EncKdcRepPart {
  key: EncryptionKey;
  lastReq: LastReqEntry[];
  nonce: number;
  keyExpiration?: Date;
  flags: number;
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  srealm: string;
  sname: PrincipalName;
  caddr?: HostAddress[];
  encryptedPaData?: PaData[];
}

function readBody(node: DerNode): EncKdcRepPart {
  const r = new SequenceReader(node);
  const part: EncKdcRepPart = {
    key: r.req(0, "key", readEncryptionKey),
    lastReq: r.req(1, "last-req", readLastReq),
    nonce: r.req(2, "nonce", readUInt32),
    keyExpiration: r.opt(3, "key-expiration", readKerberosTime),
    flags: r.req(4, "flags", readKerberosFlags),
    authtime: r.req(5, "authtime", readKerberosTime),
    starttime: r.opt(6, "starttime", readKerberosTime),
    endtime: r.req(7, "endtime", readKerberosTime),
    renewTill: r.opt(8, "renew-till", readKerberosTime),
    srealm: r.req(9, "srealm", readRealm),
    sname: r.req(10, "sname", readPrincipalName),
    caddr: r.opt(11, "caddr", readHostAddresses),
    encryptedPaData: r.opt(12, "encrypted-pa-data", readMethodData),
  };
  r.end();
  return compact(part);
}

function derBody(p: EncKdcRepPart): Uint8Array {
  return derFields([
    [0, derEncryptionKey(p.key)],
    [1, derLastReq(p.lastReq)],
    [2, derUInt32(p.nonce)],
    [3, p.keyExpiration && derKerberosTime(p.keyExpiration)],
    [4, derKerberosFlags(p.flags)],
    [5, derKerberosTime(p.authtime)],
    [6, p.starttime && derKerberosTime(p.starttime)],
    [7, derKerberosTime(p.endtime)],
    [8, p.renewTill && derKerberosTime(p.renewTill)],
    [9, derRealm(p.srealm)],
    [10, derPrincipalName(p.sname)],
    [11, p.caddr && derHostAddresses(p.caddr)],
    [12, p.encryptedPaData && derMethodData(p.encryptedPaData)],
  ]);
}

export function encodeEncAsRepPart(p: EncKdcRepPart): Uint8Array {
  return derApplication(MSG_TYPE.ENC_AS_REP_PART, derBody(p));
}

export function decodeEncAsRepPart(bytes: Uint8Array): EncKdcRepPart {
  return decodeWith(bytes, "EncASRepPart", (n) =>
    readBody(readApplication(n, MSG_TYPE.ENC_AS_REP_PART)),
  );
}

export function encodeEncTgsRepPart(p: EncKdcRepPart): Uint8Array {
  return derApplication(MSG_TYPE.ENC_TGS_REP_PART, derBody(p));
}

export function decodeEncTgsRepPart(bytes: Uint8Array): EncKdcRepPart {
  return decodeWith(bytes, "EncTGSRepPart", (n) =>
    readBody(readApplication(n, MSG_TYPE.ENC_TGS_REP_PART)),
  );
}

/** Either tag (25 or 26), as RFC 4120 §5.4.2's compatibility note allows a client. */
export function decodeEncKdcRepPart(bytes: Uint8Array): { tag: 25 | 26; part: EncKdcRepPart } {
  return decodeWith(bytes, "EncKDCRepPart", (n) => {
    if (n.cls !== "application" || (n.tag !== 25 && n.tag !== 26)) {
      throw new Asn1Error(n.path, "expected [APPLICATION 25] or [APPLICATION 26]");
    }
    const tag = n.tag as 25 | 26;
    return { tag, part: readBody(readApplication(n, tag)) };
  });
}
