/**
 * Building a TGS-REQ (RFC 4120 §3.3.1, §5.4.1):
 *
 *   1. req-body: sname/realm of the service, till, a fresh nonce, our enctypes;
 *   2. checksum of the req-body's DER (key usage 6, the session key's checksum type);
 *   3. an AP-REQ with the TGT and an authenticator (key usage 7) holding that checksum and
 *      a fresh subkey, in PA-TGS-REQ; the KDC answers encrypted in the subkey (usage 9);
 *   4. the bytes the KDC checks (`kdcReqBodyBytes` of the encoded request) must be the
 *      bytes we summed: the encoder is canonical DER, and we check it.
 */
import { getEnctype, KeyUsage } from "../crypto/index.js";
import type { Credential } from "../files/ccache.js";
import type { EncryptionKey } from "../messages/encryption-key.js";
import { KDC_OPTIONS } from "../messages/kdc-options.js";
import { TICKET_FLAGS } from "../messages/ticket-flags.js";
import { encodeTgsReq, kdcReqBodyBytes } from "../messages/kdc-req.js";
import { derKdcReqBody, type KdcReqBody } from "../messages/kdc-req-body.js";
import { PA_TYPE } from "../messages/pa-data.js";
import { encodePaPacRequest } from "../messages/pa-pac-request.js";
import { decodeTicket } from "../messages/ticket.js";
import type { Principal } from "../principal.js";
import { type BuiltApReq, buildApReq } from "./ap-req.js";
import { KerberosClientError } from "./errors.js";

export interface TgsReqInput {
  tgt: Credential;
  server: Principal;
  etypes: readonly number[];
  nowMs: number;
  nonce: number;
  lifetimeSec: number;
  randomBytes(n: number): Uint8Array;
  kdcOptions?: number;
}

export interface BuiltTgsReq {
  bytes: Uint8Array;
  body: KdcReqBody;
  ap: BuiltApReq;
  /** The key the reply is encrypted in, and its usage. */
  replyKey: { etype: number; key: Uint8Array; usage: number };
}

export function buildTgsReq(i: TgsReqInput): BuiltTgsReq {
  const body: KdcReqBody = {
    // forwardable only from a forwardable TGT: Samba's (Heimdal's) KDC answers BADOPTION to
    // the request otherwise, e.g. with MIT kinit's default TGT
    kdcOptions:
      (i.kdcOptions ??
        (i.tgt.ticketFlags & TICKET_FLAGS.forwardable
          ? KDC_OPTIONS.forwardable | KDC_OPTIONS.canonicalize
          : KDC_OPTIONS.canonicalize)) >>> 0,
    realm: i.server.realm,
    sname: i.server.name,
    till: new Date(Math.floor(i.nowMs / 1000) * 1000 + i.lifetimeSec * 1000),
    nonce: i.nonce,
    etype: [...i.etypes],
  };
  const bodyBytes = derKdcReqBody(body);
  const sessionKey: EncryptionKey = { keytype: i.tgt.key.keytype, keyvalue: i.tgt.key.keyvalue };
  const enc = getEnctype(sessionKey.keytype, { randomBytes: i.randomBytes });
  const cksum = {
    cksumtype: enc.checksumType,
    checksum: enc.checksum(sessionKey.keyvalue, KeyUsage.TGS_REQ_AUTH_CKSUM, bodyBytes),
  };
  const ap = buildApReq({
    ticket: decodeTicket(i.tgt.ticket),
    sessionKey,
    client: i.tgt.client,
    nowMs: i.nowMs,
    randomBytes: i.randomBytes,
    cksum,
    subkey: true,
    seqNumber: false,
    usage: KeyUsage.TGS_REQ_AUTH,
  });
  const bytes = encodeTgsReq({
    padata: [
      { padataType: PA_TYPE.PA_TGS_REQ, padataValue: ap.bytes },
      { padataType: PA_TYPE.PA_PAC_REQUEST, padataValue: encodePaPacRequest({ includePac: true }) },
    ],
    reqBody: body,
  });
  const sent = kdcReqBodyBytes(bytes);
  if (sent.length !== bodyBytes.length || sent.some((b, k) => b !== bodyBytes[k])) {
    throw new KerberosClientError(
      "kdc-reply-invalid",
      "TGS-REQ: encoded req-body differs from the summed bytes",
    );
  }
  const replyKey = ap.subkey
    ? { etype: ap.subkey.keytype, key: ap.subkey.keyvalue, usage: KeyUsage.TGS_REP_ENC_PART_SUBKEY }
    : {
        etype: sessionKey.keytype,
        key: sessionKey.keyvalue,
        usage: KeyUsage.TGS_REP_ENC_PART_SESSION_KEY,
      };
  return { bytes, body, ap, replyKey };
}
