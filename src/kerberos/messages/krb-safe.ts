/**
 * KRB-SAFE (RFC 4120 §5.6.1): integrity-protected application data (key usage 15).
 *
 * ```
 * KRB-SAFE        ::= [APPLICATION 20] SEQUENCE {
 *         pvno            [0] INTEGER (5),
 *         msg-type        [1] INTEGER (20),
 *         safe-body       [2] KRB-SAFE-BODY,
 *         cksum           [3] Checksum
 * }
 *
 * KRB-SAFE-BODY   ::= SEQUENCE {
 *         user-data       [0] OCTET STRING,
 *         timestamp       [1] KerberosTime OPTIONAL,
 *         usec            [2] Microseconds OPTIONAL,
 *         seq-number      [3] UInt32 OPTIONAL,
 *         s-address       [4] HostAddress,
 *         r-address       [5] HostAddress OPTIONAL
 * }
 * ```
 * EncKrbPrivPart (krb-priv.ts) has the same fields, so both use `readSafeBody`.
 */
import { type DerNode, readApplication } from "../../asn1/der.js";
import { derApplication, derInteger } from "../../asn1/writer.js";
import { type Checksum, derChecksum, readChecksum } from "./checksum.js";
import { derHostAddress, type HostAddress, readHostAddress } from "./host-address.js";
import { MSG_TYPE } from "./msg-type.js";
import {
  compact,
  decodeWith,
  derFields,
  derKerberosTime,
  derMicroseconds,
  derOctetString,
  derUInt32,
  PVNO,
  readKerberosTime,
  readMicroseconds,
  readMsgType,
  readOctetString,
  readPvno,
  readSeqNumber,
  SequenceReader,
} from "./primitives.js";

export interface KrbSafeBody {
  userData: Uint8Array;
  timestamp?: Date;
  usec?: number;
  seqNumber?: number;
  sAddress: HostAddress;
  rAddress?: HostAddress;
}

export interface KrbSafe {
  safeBody: KrbSafeBody;
  cksum: Checksum;
}

export function readSafeBody(node: DerNode): KrbSafeBody {
  const r = new SequenceReader(node);
  const b: KrbSafeBody = {
    userData: r.req(0, "user-data", readOctetString),
    timestamp: r.opt(1, "timestamp", readKerberosTime),
    usec: r.opt(2, "usec", readMicroseconds),
    seqNumber: r.opt(3, "seq-number", readSeqNumber),
    sAddress: r.req(4, "s-address", readHostAddress),
    rAddress: r.opt(5, "r-address", readHostAddress),
  };
  r.end();
  return compact(b);
}

export function derSafeBody(b: KrbSafeBody): Uint8Array {
  return derFields([
    [0, derOctetString(b.userData)],
    [1, b.timestamp && derKerberosTime(b.timestamp)],
    [2, b.usec === undefined ? undefined : derMicroseconds(b.usec)],
    [3, b.seqNumber === undefined ? undefined : derUInt32(b.seqNumber)],
    [4, derHostAddress(b.sAddress)],
    [5, b.rAddress && derHostAddress(b.rAddress)],
  ]);
}

export function readKrbSafe(node: DerNode): KrbSafe {
  const r = new SequenceReader(readApplication(node, MSG_TYPE.KRB_SAFE));
  r.req(0, "pvno", readPvno);
  r.req(1, "msg-type", (n) => readMsgType(n, MSG_TYPE.KRB_SAFE));
  const safeBody = r.req(2, "safe-body", readSafeBody);
  const cksum = r.req(3, "cksum", readChecksum);
  r.end();
  return { safeBody, cksum };
}

export function encodeKrbSafe(s: KrbSafe): Uint8Array {
  return derApplication(
    MSG_TYPE.KRB_SAFE,
    derFields([
      [0, derInteger(PVNO)],
      [1, derInteger(MSG_TYPE.KRB_SAFE)],
      [2, derSafeBody(s.safeBody)],
      [3, derChecksum(s.cksum)],
    ]),
  );
}

export function decodeKrbSafe(bytes: Uint8Array): KrbSafe {
  return decodeWith(bytes, "KRB-SAFE", readKrbSafe);
}
