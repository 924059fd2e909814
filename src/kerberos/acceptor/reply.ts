/**
 * What an acceptor sends back: the AP-REP for mutual authentication (RFC 4120 §3.2.4,
 * §5.5.2: EncAPRepPart with the client's ctime/cusec, encrypted in the session key, usage
 * 12), or a KRB-ERROR for a refused AP-REQ (§5.9.1).
 */
import { getEnctype, KeyUsage } from "../crypto/index.js";
import { encodeApRep } from "../messages/ap-rep.js";
import { type EncApRepPart, encodeEncApRepPart } from "../messages/enc-ap-rep-part.js";
import type { EncryptionKey } from "../messages/encryption-key.js";
import { encodeKrbError } from "../messages/krb-error.js";
import type { Principal } from "../principal.js";
import type { AcceptedContext } from "./accept.js";
import type { AcceptorError } from "./errors.js";

export interface ApRepOptions {
  randomBytes(n: number): Uint8Array;
  /** The acceptor's subkey, if it chooses one. */
  subkey?: EncryptionKey;
  seqNumber?: number;
}

/** What an AP-REP is made of: an acceptor may keep just this, not the whole AcceptedContext. */
export type ApRepBasis = Pick<AcceptedContext, "sessionKey"> & {
  authenticator: Pick<AcceptedContext["authenticator"], "ctime" | "cusec">;
};

export function buildApRep(ctx: ApRepBasis, opts: ApRepOptions): Uint8Array {
  const part: EncApRepPart = { ctime: ctx.authenticator.ctime, cusec: ctx.authenticator.cusec };
  if (opts.subkey) part.subkey = opts.subkey;
  if (opts.seqNumber !== undefined) part.seqNumber = opts.seqNumber;
  const enc = getEnctype(ctx.sessionKey.keytype, { randomBytes: opts.randomBytes });
  const cipher = enc.encrypt(
    ctx.sessionKey.keyvalue,
    KeyUsage.AP_REP_ENC_PART,
    encodeEncApRepPart(part),
  );
  return encodeApRep({ encPart: { etype: enc.etype, cipher } });
}

/** The KRB-ERROR a service returns for a refused AP-REQ. */
export function buildApError(err: AcceptorError, service: Principal, nowMs: number): Uint8Array {
  const ms = Math.floor(nowMs);
  return encodeKrbError({
    stime: new Date(ms - (ms % 1000)),
    susec: (ms % 1000) * 1000,
    errorCode: err.krbErrorCode,
    realm: service.realm,
    sname: service.name,
    eText: err.message,
  });
}
