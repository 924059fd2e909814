/**
 * KRB-ERROR (RFC 4120 §5.9.1). For KDC_ERR_PREAUTH_REQUIRED the e-data is a METHOD-DATA
 * (pa-data.ts) carrying PA-ETYPE-INFO2; codes are in error-codes.ts.
 *
 * ```
 * KRB-ERROR       ::= [APPLICATION 30] SEQUENCE {
 *         pvno            [0] INTEGER (5),
 *         msg-type        [1] INTEGER (30),
 *         ctime           [2] KerberosTime OPTIONAL,
 *         cusec           [3] Microseconds OPTIONAL,
 *         stime           [4] KerberosTime,
 *         susec           [5] Microseconds,
 *         error-code      [6] Int32,
 *         crealm          [7] Realm OPTIONAL,
 *         cname           [8] PrincipalName OPTIONAL,
 *         realm           [9] Realm -- service realm --,
 *         sname           [10] PrincipalName -- service name --,
 *         e-text          [11] KerberosString OPTIONAL,
 *         e-data          [12] OCTET STRING OPTIONAL
 * }
 * ```
 */
import { type DerNode, readApplication } from "../../asn1/der.js";
import { derApplication, derInteger } from "../../asn1/writer.js";
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
  derInt32,
  derKerberosString,
  derKerberosTime,
  derMicroseconds,
  derOctetString,
  PVNO,
  readInt32,
  readKerberosString,
  readKerberosTime,
  readMicroseconds,
  readMsgType,
  readOctetString,
  readPvno,
  SequenceReader,
} from "./primitives.js";

export interface KrbError {
  ctime?: Date;
  cusec?: number;
  stime: Date;
  susec: number;
  errorCode: number;
  crealm?: string;
  cname?: PrincipalName;
  realm: string;
  sname: PrincipalName;
  eText?: string;
  eData?: Uint8Array;
}

export function readKrbError(node: DerNode): KrbError {
  const r = new SequenceReader(readApplication(node, MSG_TYPE.KRB_ERROR));
  r.req(0, "pvno", readPvno);
  r.req(1, "msg-type", (n) => readMsgType(n, MSG_TYPE.KRB_ERROR));
  const e: KrbError = {
    ctime: r.opt(2, "ctime", readKerberosTime),
    cusec: r.opt(3, "cusec", readMicroseconds),
    stime: r.req(4, "stime", readKerberosTime),
    susec: r.req(5, "susec", readMicroseconds),
    errorCode: r.req(6, "error-code", readInt32),
    crealm: r.opt(7, "crealm", readRealm),
    cname: r.opt(8, "cname", readPrincipalName),
    realm: r.req(9, "realm", readRealm),
    sname: r.req(10, "sname", readPrincipalName),
    eText: r.opt(11, "e-text", readKerberosString),
    eData: r.opt(12, "e-data", readOctetString),
  };
  r.end();
  return compact(e);
}

export function encodeKrbError(e: KrbError): Uint8Array {
  return derApplication(
    MSG_TYPE.KRB_ERROR,
    derFields([
      [0, derInteger(PVNO)],
      [1, derInteger(MSG_TYPE.KRB_ERROR)],
      [2, e.ctime && derKerberosTime(e.ctime)],
      [3, e.cusec === undefined ? undefined : derMicroseconds(e.cusec)],
      [4, derKerberosTime(e.stime)],
      [5, derMicroseconds(e.susec)],
      [6, derInt32(e.errorCode)],
      [7, e.crealm === undefined ? undefined : derRealm(e.crealm)],
      [8, e.cname && derPrincipalName(e.cname)],
      [9, derRealm(e.realm)],
      [10, derPrincipalName(e.sname)],
      [11, e.eText === undefined ? undefined : derKerberosString(e.eText)],
      [12, e.eData && derOctetString(e.eData)],
    ]),
  );
}

export function decodeKrbError(bytes: Uint8Array): KrbError {
  return decodeWith(bytes, "KRB-ERROR", readKrbError);
}
