/**
 * Building an AS-REQ (RFC 4120 §3.1.1, §5.4.1):
 *
 *   1. req-body: forwardable|renewable-ok, cname, realm, sname krbtgt/REALM, till (and rtime
 *      when renewable), a fresh nonce, our enctypes in preference order;
 *   2. padata: PA-PAC-REQUEST (MS-KILE 2.2.3) always; PA-ENC-TIMESTAMP (§5.2.7.2, key usage 1)
 *      once the KDC has told us (PREAUTH_REQUIRED + ETYPE-INFO2) which salt to use.
 */
import { getEnctype, KeyUsage } from "../crypto/index.js";
import { KDC_OPTIONS } from "../messages/kdc-options.js";
import { encodeAsReq } from "../messages/kdc-req.js";
import type { KdcReqBody } from "../messages/kdc-req-body.js";
import { PA_TYPE, type PaData } from "../messages/pa-data.js";
import { encodePaEncTimestamp, encodePaEncTsEnc } from "../messages/pa-enc-ts-enc.js";
import { encodePaPacRequest } from "../messages/pa-pac-request.js";
import type { Principal } from "../principal.js";
import type { ClientKey } from "./keys.js";

export interface AsReqInput {
  client: Principal;
  server: Principal;
  etypes: readonly number[];
  nowMs: number;
  nonce: number;
  lifetimeSec: number;
  /** Ask for a renewable ticket for this long (0: not renewable). */
  renewLifetimeSec: number;
  forwardable: boolean;
  /** PA-PAC-REQUEST include-pac (default true). */
  pac: boolean;
  padata: readonly PaData[];
}

export function asReqBody(i: AsReqInput): KdcReqBody {
  let options = i.forwardable ? KDC_OPTIONS.forwardable : 0;
  if (i.renewLifetimeSec > 0) options |= KDC_OPTIONS.renewable;
  const body: KdcReqBody = {
    kdcOptions: options >>> 0,
    cname: i.client.name,
    realm: i.client.realm,
    sname: i.server.name,
    till: new Date(Math.floor(i.nowMs / 1000) * 1000 + i.lifetimeSec * 1000),
    nonce: i.nonce,
    etype: [...i.etypes],
  };
  if (i.renewLifetimeSec > 0)
    body.rtime = new Date(Math.floor(i.nowMs / 1000) * 1000 + i.renewLifetimeSec * 1000);
  return body;
}

export function buildAsReq(i: AsReqInput): Uint8Array {
  const padata = [
    ...i.padata,
    { padataType: PA_TYPE.PA_PAC_REQUEST, padataValue: encodePaPacRequest({ includePac: i.pac }) },
  ];
  return encodeAsReq({ padata, reqBody: asReqBody(i) });
}

/** PA-ENC-TIMESTAMP: our time (corrected by the KDC offset) encrypted in the client key. */
export function encTimestampPadata(
  key: ClientKey,
  nowMs: number,
  randomBytes: (n: number) => Uint8Array,
): PaData {
  const ms = Math.floor(nowMs);
  const plain = encodePaEncTsEnc({
    patimestamp: new Date(ms - (ms % 1000)),
    pausec: (ms % 1000) * 1000,
  });
  const cipher = getEnctype(key.etype, { randomBytes }).encrypt(
    key.key,
    KeyUsage.AS_REQ_PA_ENC_TIMESTAMP,
    plain,
  );
  return {
    padataType: PA_TYPE.PA_ENC_TIMESTAMP,
    padataValue: encodePaEncTimestamp({ etype: key.etype, cipher }),
  };
}

/** A 31-bit nonce from 4 random bytes (MIT keeps nonces positive too). */
export function randomNonce(randomBytes: (n: number) => Uint8Array): number {
  const b = randomBytes(4);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) & 0x7fffffff;
}
