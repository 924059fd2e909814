/**
 * Authenticating a TGS-REQ (RFC 4120 §3.3.2): the PA-TGS-REQ AP-REQ's ticket must be our
 * TGT, its authenticator must decrypt with the TGT session key (usage 7), name the TGT's
 * client, be within the skew, and, when it carries a checksum (AD does not require one),
 * that must be a keyed checksum (usage 6) over the req-body bytes as received.
 */
import {
  type CryptoDeps,
  getChecksumType,
  getEnctype,
  KerberosCryptoError,
  KeyUsage,
} from "../crypto/index.js";
import {
  type Authenticator,
  decodeApReq,
  decodeAuthenticator,
  type EncTicketPart,
  findPaData,
  type KdcReq,
  PA_TYPE,
  type Ticket,
} from "../messages/index.js";
import type { Pac, PacLayout } from "../pac/index.js";
import type { ResolvedKdcConfig } from "./config.js";
import { isKrbtgt, nameText } from "./context.js";
import type { PrincipalKey } from "./database.js";
import { kdcError } from "./errors.js";
import { bytesKey, type ExpiringCache, replayTag } from "./replay.js";
import { openTicket } from "./ticket.js";

export interface TgsAuth {
  tgt: EncTicketPart;
  krbtgtKey: PrincipalKey;
  authenticator: Authenticator;
  /** The opened TGT as cached: its verified PAC is kept here once checked. */
  opened: OpenedTgt;
}

/**
 * A TGT this KDC decrypted, by its ciphertext: a client uses one TGT for many TGS-REQs,
 * and the same ciphertext under the same krbtgt key always opens to the same part (it is
 * integrity-protected), so it is decrypted and its PAC verified once. Everything about the
 * request (authenticator, skew, replay, times, the client's account) is checked every time.
 * `pac` is set after the first successful PAC check, in the exchange's order.
 */
export interface OpenedTgt {
  /** The ciphertext it was opened from: a cache hit must be these very bytes. */
  cipher: Uint8Array;
  part: EncTicketPart;
  key: PrincipalKey;
  pac?: Pac;
  /** Layouts of the PAC as carried into tickets (ticket.ts), by key types and ticket kind. */
  layouts?: Map<string, PacLayout>;
}

function openTgt(
  ticket: Ticket,
  cfg: ResolvedKdcConfig,
  nowMs: number,
  deps: CryptoDeps,
  cache: ExpiringCache<OpenedTgt> | undefined,
): OpenedTgt {
  const { cipher, etype, kvno } = ticket.encPart;
  if (!cache) return { cipher, ...openTicket(ticket, cfg.krbtgtKeys, "krbtgt", deps) };
  // Looked up by the integrity tag at the end, then compared whole (no hashing).
  const tail = cipher.subarray(Math.max(0, cipher.length - 16));
  const id = `${etype}:${kvno ?? ""}:${cipher.length}:${bytesKey(tail)}`;
  const hit = cache.get(id, nowMs);
  if (hit && Buffer.compare(hit.cipher, cipher) === 0) return hit;
  const opened: OpenedTgt = {
    cipher: new Uint8Array(cipher),
    ...openTicket(ticket, cfg.krbtgtKeys, "krbtgt", deps),
  };
  cache.set(id, opened, nowMs);
  return opened;
}

function decryptAuthenticator(tgt: EncTicketPart, cipher: Uint8Array, deps: CryptoDeps) {
  try {
    const e = getEnctype(tgt.key.keytype, deps);
    return decodeAuthenticator(e.decrypt(tgt.key.keyvalue, KeyUsage.TGS_REQ_AUTH, cipher));
  } catch (e) {
    if (e instanceof KerberosCryptoError)
      throw kdcError("KRB_AP_ERR_BAD_INTEGRITY", "TGS-REQ authenticator does not decrypt");
    throw e;
  }
}

function checkBodyChecksum(
  tgt: EncTicketPart,
  a: Authenticator,
  bodyBytes: Uint8Array,
  deps: CryptoDeps,
) {
  // Windows accepts a TGS-REQ authenticator without a checksum (impacket's getST.py sends
  // none and works against AD): the reply is sealed to the session key or subkey, so a
  // body swapped in transit yields nothing its sender can open. A checksum that is there
  // must fit the session key and verify.
  if (!a.cksum) return;
  let ok: boolean;
  try {
    const ck = getChecksumType(a.cksum.cksumtype, deps);
    if (ck.etype !== tgt.key.keytype)
      throw kdcError(
        "KRB_AP_ERR_INAPP_CKSUM",
        `checksum type ${a.cksum.cksumtype} does not fit the session key`,
      );
    ok = ck.verify(tgt.key.keyvalue, KeyUsage.TGS_REQ_AUTH_CKSUM, bodyBytes, a.cksum.checksum);
  } catch (e) {
    if (e instanceof KerberosCryptoError) throw kdcError("KDC_ERR_SUMTYPE_NOSUPP", e.message);
    throw e;
  }
  if (!ok) throw kdcError("KRB_AP_ERR_MODIFIED", "TGS-REQ body checksum does not verify");
}

/** Steps above; `renewing` allows an expired TGT whose renew-till has not passed. */
export function authenticateTgsReq(
  req: KdcReq,
  bodyBytes: Uint8Array,
  cfg: ResolvedKdcConfig,
  nowMs: number,
  renewing: boolean,
  deps: CryptoDeps,
  seen: ExpiringCache<true>,
  tgts?: ExpiringCache<OpenedTgt>,
): TgsAuth {
  const pa = findPaData(req.padata, PA_TYPE.PA_TGS_REQ);
  if (!pa) throw kdcError("KDC_ERR_PADATA_TYPE_NOSUPP", "TGS-REQ without PA-TGS-REQ");
  const apReq = decodeApReq(pa.padataValue);
  const ours = isKrbtgt(apReq.ticket.sname, cfg.realm) && apReq.ticket.realm === cfg.realm;
  // Renewing a service ticket: Windows answers KDC_ERR_POLICY (Samba's kdc_tgs_tests
  // `test_renew_service_ticket`, run against Windows), other requests with one NOT_US.
  if (!ours && renewing)
    throw kdcError("KDC_ERR_POLICY", "only a TGT can be renewed at this KDC, not a service ticket");
  if (!ours)
    throw kdcError(
      "KRB_AP_ERR_NOT_US",
      `ticket is for ${nameText(apReq.ticket.sname)}@${apReq.ticket.realm}`,
    );
  const opened = openTgt(apReq.ticket, cfg, nowMs, deps, tgts);
  const { part: tgt, key } = opened;
  const a = decryptAuthenticator(tgt, apReq.authenticator.cipher, deps);
  if (a.crealm !== tgt.crealm || nameText(a.cname) !== nameText(tgt.cname))
    throw kdcError("KRB_AP_ERR_BADMATCH", "authenticator client differs from the ticket's");
  const ctime = a.ctime.getTime() + Math.floor(a.cusec / 1000);
  if (Math.abs(ctime - nowMs) > cfg.skewMs)
    throw kdcError("KRB_AP_ERR_SKEW", "client clock skew too great");
  checkBodyChecksum(tgt, a, bodyBytes, deps);
  const tagLength = getEnctype(tgt.key.keytype, deps).checksumLength;
  const id = replayTag(tgt.key.keytype, apReq.authenticator.cipher, tagLength);
  if (seen.get(id, nowMs)) throw kdcError("KRB_AP_ERR_REPEAT", "TGS-REQ authenticator replayed");
  seen.set(id, true, nowMs);
  const start = (tgt.starttime ?? tgt.authtime).getTime();
  if (start > nowMs + cfg.skewMs) throw kdcError("KRB_AP_ERR_TKT_NYV", "TGT not yet valid");
  if (renewing) {
    if (!tgt.renewTill) throw kdcError("KDC_ERR_BADOPTION", "ticket is not renewable");
    if (tgt.renewTill.getTime() < nowMs)
      throw kdcError("KRB_AP_ERR_TKT_EXPIRED", "TGT renew-till has passed");
  } else if (tgt.endtime.getTime() < nowMs - cfg.skewMs) {
    throw kdcError("KRB_AP_ERR_TKT_EXPIRED", "TGT has expired");
  }
  return { tgt, krbtgtKey: key, authenticator: a, opened };
}
