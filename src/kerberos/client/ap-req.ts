/**
 * Building an AP-REQ (RFC 4120 §3.2.2, §5.5.1) and checking the AP-REP (§3.2.5, §5.5.2).
 *
 *   1. Authenticator: crealm/cname of the ticket's client, ctime/cusec from our clock (plus
 *      the KDC offset), optional checksum, a fresh subkey of the session key's enctype,
 *      optional seq-number;
 *   2. encrypt it in the session key (usage 11 for an application, 7 inside a TGS-REQ);
 *   3. AP-REQ = ap-options (mutual-required when asked) + ticket + encrypted authenticator;
 *   4. the AP-REP's EncAPRepPart (usage 12) must carry our ctime and cusec; its subkey and
 *      seq-number, when present, are the acceptor's.
 */
import { getEnctype, KeyUsage } from "../crypto/index.js";
import { AP_OPTIONS } from "../messages/ap-options.js";
import { decodeApRep } from "../messages/ap-rep.js";
import { type ApReq, encodeApReq } from "../messages/ap-req.js";
import { type Authenticator, encodeAuthenticator } from "../messages/authenticator.js";
import type { AuthorizationData } from "../messages/authorization-data.js";
import type { Checksum } from "../messages/checksum.js";
import { decodeEncApRepPart, type EncApRepPart } from "../messages/enc-ap-rep-part.js";
import type { EncryptionKey } from "../messages/encryption-key.js";
import type { Ticket } from "../messages/ticket.js";
import type { Principal } from "../principal.js";
import { KerberosClientError } from "./errors.js";

export interface ApReqInput {
  ticket: Ticket;
  sessionKey: EncryptionKey;
  client: Principal;
  /** Our clock corrected by the KDC offset, in ms. */
  nowMs: number;
  randomBytes(n: number): Uint8Array;
  mutualRequired?: boolean;
  /** Generate a subkey (default true). */
  subkey?: boolean;
  /** Include a random initial sequence number (default true when a subkey is made). */
  seqNumber?: boolean;
  cksum?: Checksum;
  authorizationData?: AuthorizationData;
  /** Key usage of the authenticator: 11 (AP-REQ, default) or 7 (PA-TGS-REQ). */
  usage?: number;
}

export interface BuiltApReq {
  bytes: Uint8Array;
  apReq: ApReq;
  authenticator: Authenticator;
  subkey?: EncryptionKey;
  seqNumber?: number;
}

/** A 31-bit random sequence number (MIT uses 30 bits so it never wraps negative). */
function randomSeq(randomBytes: (n: number) => Uint8Array): number {
  const b = randomBytes(4);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) & 0x3fffffff;
}

export function buildApReq(input: ApReqInput): BuiltApReq {
  const enc = getEnctype(input.sessionKey.keytype, { randomBytes: input.randomBytes });
  const ms = Math.floor(input.nowMs);
  const authenticator: Authenticator = {
    crealm: input.client.realm,
    cname: input.client.name,
    cusec: (ms % 1000) * 1000,
    ctime: new Date(ms - (ms % 1000)),
  };
  if (input.cksum) authenticator.cksum = input.cksum;
  let subkey: EncryptionKey | undefined;
  if (input.subkey !== false) {
    subkey = { keytype: enc.etype, keyvalue: enc.generateKey() };
    authenticator.subkey = subkey;
  }
  let seqNumber: number | undefined;
  if (input.seqNumber ?? subkey !== undefined) {
    seqNumber = randomSeq(input.randomBytes);
    authenticator.seqNumber = seqNumber;
  }
  if (input.authorizationData) authenticator.authorizationData = input.authorizationData;
  const usage = input.usage ?? KeyUsage.AP_REQ_AUTH;
  const cipher = enc.encrypt(input.sessionKey.keyvalue, usage, encodeAuthenticator(authenticator));
  const apReq: ApReq = {
    apOptions: input.mutualRequired ? AP_OPTIONS.mutualRequired : 0,
    ticket: input.ticket,
    authenticator: { etype: enc.etype, cipher },
  };
  const out: BuiltApReq = { bytes: encodeApReq(apReq), apReq, authenticator };
  if (subkey) out.subkey = subkey;
  if (seqNumber !== undefined) out.seqNumber = seqNumber;
  return out;
}

/**
 * Verifies an AP-REP against the authenticator we sent (mutual authentication); returns
 * the acceptor's part (its subkey and sequence number, when it chose them).
 */
export function verifyApRep(
  bytes: Uint8Array,
  sessionKey: EncryptionKey,
  sent: Authenticator,
): EncApRepPart {
  const rep = decodeApRep(bytes);
  if (rep.encPart.etype !== sessionKey.keytype) {
    throw new KerberosClientError(
      "mutual-failed",
      `AP-REP: encrypted with enctype ${rep.encPart.etype}, the session key is ${sessionKey.keytype}`,
    );
  }
  let part: EncApRepPart;
  try {
    const plain = getEnctype(sessionKey.keytype).decrypt(
      sessionKey.keyvalue,
      KeyUsage.AP_REP_ENC_PART,
      rep.encPart.cipher,
    );
    part = decodeEncApRepPart(plain);
  } catch (e) {
    throw new KerberosClientError(
      "mutual-failed",
      `AP-REP does not decrypt with the session key: ${(e as Error).message}`,
    );
  }
  if (part.ctime.getTime() !== sent.ctime.getTime() || part.cusec !== sent.cusec) {
    throw new KerberosClientError(
      "mutual-failed",
      `AP-REP: ctime ${part.ctime.toISOString()}.${part.cusec} does not echo our authenticator's ${sent.ctime.toISOString()}.${sent.cusec}`,
    );
  }
  return part;
}
