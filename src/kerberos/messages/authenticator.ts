/**
 * Authenticator (RFC 4120 §5.5.1): encrypted in the session key inside an AP-REQ (key
 * usage 11, or 7 in a TGS-REQ's PA-TGS-REQ).
 *
 * ```
 * -- Unencrypted authenticator
 * Authenticator   ::= [APPLICATION 2] SEQUENCE  {
 *         authenticator-vno       [0] INTEGER (5),
 *         crealm                  [1] Realm,
 *         cname                   [2] PrincipalName,
 *         cksum                   [3] Checksum OPTIONAL,
 *         cusec                   [4] Microseconds,
 *         ctime                   [5] KerberosTime,
 *         subkey                  [6] EncryptionKey OPTIONAL,
 *         seq-number              [7] UInt32 OPTIONAL,
 *         authorization-data      [8] AuthorizationData OPTIONAL
 * }
 * ```
 */
import { type DerNode, readApplication } from "../../asn1/der.js";
import { derApplication, derInteger } from "../../asn1/writer.js";
import {
  type AuthorizationData,
  derAuthorizationData,
  readAuthorizationData,
} from "./authorization-data.js";
import { type Checksum, derChecksum, readChecksum } from "./checksum.js";
import { derEncryptionKey, type EncryptionKey, readEncryptionKey } from "./encryption-key.js";
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
  derKerberosTime,
  derMicroseconds,
  derUInt32,
  PVNO,
  readKerberosTime,
  readMicroseconds,
  readPvno,
  readSeqNumber,
  SequenceReader,
} from "./primitives.js";

export interface Authenticator {
  crealm: string;
  cname: PrincipalName;
  cksum?: Checksum;
  cusec: number;
  ctime: Date;
  subkey?: EncryptionKey;
  seqNumber?: number;
  authorizationData?: AuthorizationData;
}

export function readAuthenticator(node: DerNode): Authenticator {
  const r = new SequenceReader(readApplication(node, MSG_TYPE.AUTHENTICATOR));
  r.req(0, "authenticator-vno", readPvno);
  const a: Authenticator = {
    crealm: r.req(1, "crealm", readRealm),
    cname: r.req(2, "cname", readPrincipalName),
    cksum: r.opt(3, "cksum", readChecksum),
    cusec: r.req(4, "cusec", readMicroseconds),
    ctime: r.req(5, "ctime", readKerberosTime),
    subkey: r.opt(6, "subkey", readEncryptionKey),
    seqNumber: r.opt(7, "seq-number", readSeqNumber),
    authorizationData: r.opt(8, "authorization-data", readAuthorizationData),
  };
  r.end();
  return compact(a);
}

export function encodeAuthenticator(a: Authenticator): Uint8Array {
  return derApplication(
    MSG_TYPE.AUTHENTICATOR,
    derFields([
      [0, derInteger(PVNO)],
      [1, derRealm(a.crealm)],
      [2, derPrincipalName(a.cname)],
      [3, a.cksum && derChecksum(a.cksum)],
      [4, derMicroseconds(a.cusec)],
      [5, derKerberosTime(a.ctime)],
      [6, a.subkey && derEncryptionKey(a.subkey)],
      [7, a.seqNumber === undefined ? undefined : derUInt32(a.seqNumber)],
      [8, a.authorizationData && derAuthorizationData(a.authorizationData)],
    ]),
  );
}

export function decodeAuthenticator(bytes: Uint8Array): Authenticator {
  return decodeWith(bytes, "Authenticator", readAuthenticator);
}
