/**
 * FAST at the KDC (RFC 6113), as MIT's KDC (src/kdc/fast_util.c, kdc_preauth_ec.c) and AD
 * do it:
 *
 *   - armor key: AS-REQ, armor type 1 (an AP-REQ with our TGT and a subkey): KRB-FX-CF2(
 *     subkey, "subkeyarmor", TGT session key, "ticketarmor"); TGS-REQ, no armor field: the
 *     same from the PA-TGS-REQ authenticator's subkey and the TGT's session key;
 *   - enc-fast-req decrypts with the armor key (usage 51) to the inner padata and req-body,
 *     which replace the outer ones; req-checksum (usage 50) covers the outer req-body (AS)
 *     or the PA-TGS-REQ AP-REQ (TGS); unknown critical FAST options are refused;
 *   - the reply: a fresh strengthen key; the reply key becomes KRB-FX-CF2(strengthen key,
 *     "strengthenkey", reply key, "replykey"); the padata moves into an encrypted
 *     KrbFastResponse (usage 52) with KrbFastFinished (checksum of the ticket, usage 53);
 *   - errors once the armor key is known: the KRB-ERROR inside as PA-FX-ERROR, with the
 *     METHOD-DATA it carried, in the KrbFastResponse; the outer KRB-ERROR keeps its code;
 *   - PA-ENCRYPTED-CHALLENGE (§5.4.6): the client's timestamp in KRB-FX-CF2(armor key,
 *     "clientchallengearmor", client key, "challengelongterm") (usage 54); the KDC answers
 *     with its own in the "kdcchallengearmor" key (usage 55).
 *
 * `FastHolder.state` is set as soon as the armor key is known, so kdc.ts wraps any later
 * error for the client (before that, errors go out plain, as MIT's).
 */
import {
  type Cf2Key,
  getChecksumType,
  getEnctype,
  KerberosCryptoError,
  KeyUsage,
  krbFxCf2,
} from "../crypto/index.js";
import {
  decodeApReq,
  decodeAuthenticator,
  decodeEncryptedData,
  decodeKrbFastReq,
  decodeMethodData,
  decodePaEncTsEnc,
  decodePaFxFastRequest,
  type EncryptionKey,
  encodeChecksum,
  encodeEncryptedData,
  encodeKrbFastResponse,
  encodeMethodData,
  encodePaEncTsEnc,
  encodePaFxFastReply,
  encodeTicket,
  FAST_OPTIONS,
  FX_FAST_ARMOR_AP_REQUEST,
  findPaData,
  type KdcReq,
  type KrbFastArmoredReq,
  kdcReqBodyBytes,
  PA_TYPE,
  type PaData,
  type Ticket,
} from "../messages/index.js";
import type { PrincipalName } from "../principal.js";
import { isKrbtgt, type KdcContext, nameText } from "./context.js";
import type { PrincipalKey } from "./database.js";
import { kdcError } from "./errors.js";
import { openTicket } from "./ticket.js";

/** Critical FastOptions bits (0-15) other than hide-client-names (1): MIT's mask. */
const UNSUPPORTED_CRITICAL = 0xbfff0000;

/** What an armored exchange keeps: the armor key, the options, the inner nonce. */
export interface FastState {
  armorKey: Cf2Key;
  options: number;
  nonce: number;
}

/** Filled when the armor key is known (kdc.ts wraps errors from then on). */
export interface FastHolder {
  state?: FastState;
}

const toCf2 = (k: EncryptionKey): Cf2Key => ({ etype: k.keytype, key: k.keyvalue });

/** Armor type 1: the AP-REQ's ticket must be our TGT and its authenticator carry a subkey. */
function apRequestArmorKey(ctx: KdcContext, armorValue: Uint8Array): Cf2Key {
  const apReq = decodeApReq(armorValue);
  const { realm } = ctx.config;
  if (!isKrbtgt(apReq.ticket.sname, realm) || apReq.ticket.realm !== realm)
    throw kdcError("KDC_ERR_SERVER_NOMATCH", "FAST armor ticket is not for the local TGS");
  const { part } = openTicket(apReq.ticket, ctx.config.krbtgtKeys, "krbtgt", ctx.crypto);
  const e = getEnctype(part.key.keytype, ctx.crypto);
  let a: ReturnType<typeof decodeAuthenticator>;
  try {
    a = decodeAuthenticator(
      e.decrypt(part.key.keyvalue, KeyUsage.AP_REQ_AUTH, apReq.authenticator.cipher),
    );
  } catch (err) {
    if (err instanceof KerberosCryptoError)
      throw kdcError("KRB_AP_ERR_BAD_INTEGRITY", "FAST armor authenticator does not decrypt");
    throw err;
  }
  if (a.crealm !== part.crealm || nameText(a.cname) !== nameText(part.cname))
    throw kdcError("KRB_AP_ERR_BADMATCH", "FAST armor authenticator names another client");
  const now = ctx.now();
  const ctime = a.ctime.getTime() + Math.floor(a.cusec / 1000);
  if (Math.abs(ctime - now) > ctx.config.skewMs)
    throw kdcError("KRB_AP_ERR_SKEW", "FAST armor authenticator outside the clock skew");
  if (part.endtime.getTime() < now - ctx.config.skewMs)
    throw kdcError("KRB_AP_ERR_TKT_EXPIRED", "FAST armor ticket has expired");
  if (!a.subkey) throw kdcError("KDC_ERR_POLICY", "FAST armor AP-REQ without a subkey");
  return krbFxCf2(toCf2(a.subkey), "subkeyarmor", toCf2(part.key), "ticketarmor", ctx.crypto);
}

/** Decrypt the inner request, check the req-checksum and the options (fast_util.c order). */
function openArmored(
  ctx: KdcContext,
  req: KdcReq,
  armored: KrbFastArmoredReq,
  armorKey: Cf2Key,
  checksummed: Uint8Array,
  holder: FastHolder,
): KdcReq {
  holder.state = { armorKey, options: 0, nonce: req.reqBody.nonce };
  if (armored.encFastReq.etype !== armorKey.etype)
    throw kdcError("KRB_AP_ERR_BAD_INTEGRITY", "enc-fast-req is not in the armor key's enctype");
  const plain = getEnctype(armorKey.etype, ctx.crypto).decrypt(
    armorKey.key,
    KeyUsage.FAST_ENC,
    armored.encFastReq.cipher,
  );
  const inner = decodeKrbFastReq(plain);
  holder.state.nonce = inner.reqBody.nonce;
  const ck = armored.reqChecksum;
  const type = getChecksumType(ck.cksumtype, ctx.crypto);
  if (type.etype !== armorKey.etype)
    throw kdcError(
      "KRB_AP_ERR_INAPP_CKSUM",
      `req-checksum type ${ck.cksumtype} does not fit the armor key`,
    );
  if (!type.verify(armorKey.key, KeyUsage.FAST_REQ_CHKSUM, checksummed, ck.checksum))
    throw kdcError("KRB_AP_ERR_MODIFIED", "FAST req-checksum invalid: request modified");
  if ((inner.fastOptions & UNSUPPORTED_CRITICAL) !== 0)
    throw kdcError("KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTION", "unknown critical FAST option");
  holder.state.options = inner.fastOptions;
  return { padata: inner.padata, reqBody: inner.reqBody };
}

/**
 * An AS-REQ with PA-FX-FAST: the inner request (armor type 1 required); without
 * PA-FX-FAST the request itself. `packet` is the AS-REQ as received.
 */
export function unwrapAsFast(
  ctx: KdcContext,
  req: KdcReq,
  packet: Uint8Array,
  holder: FastHolder,
): KdcReq {
  const pa = findPaData(req.padata, PA_TYPE.PA_FX_FAST);
  if (!pa) return req;
  const armored = decodePaFxFastRequest(pa.padataValue);
  if (!armored.armor)
    throw kdcError("KDC_ERR_PREAUTH_FAILED", "FAST AS-REQ without armor: no armor key");
  if (armored.armor.armorType !== FX_FAST_ARMOR_AP_REQUEST)
    throw kdcError("KDC_ERR_PREAUTH_FAILED", `unknown FAST armor type ${armored.armor.armorType}`);
  const armorKey = apRequestArmorKey(ctx, armored.armor.armorValue);
  return openArmored(ctx, req, armored, armorKey, kdcReqBodyBytes(packet), holder);
}

/**
 * A TGS-REQ with PA-FX-FAST (already authenticated): the inner padata and body; the armor
 * key comes from the authenticator's subkey and the TGT's session key.
 */
export function unwrapTgsFast(
  ctx: KdcContext,
  req: KdcReq,
  tgs: { subkey: EncryptionKey | undefined; sessionKey: EncryptionKey },
  holder: FastHolder,
): KdcReq {
  const pa = findPaData(req.padata, PA_TYPE.PA_FX_FAST);
  if (!pa) return req;
  const armored = decodePaFxFastRequest(pa.padataValue);
  if (armored.armor)
    throw kdcError("KDC_ERR_PREAUTH_FAILED", "AP-REQ armor is not permitted in a TGS-REQ");
  if (!tgs.subkey)
    throw kdcError("KDC_ERR_PREAUTH_FAILED", "FAST TGS-REQ without an authenticator subkey");
  const armorKey = krbFxCf2(
    toCf2(tgs.subkey),
    "subkeyarmor",
    toCf2(tgs.sessionKey),
    "ticketarmor",
    ctx.crypto,
  );
  // The caller authenticated the request with its PA-TGS-REQ: it is there.
  const tgsReq = findPaData(req.padata, PA_TYPE.PA_TGS_REQ) as PaData;
  const inner = openArmored(ctx, req, armored, armorKey, tgsReq.padataValue, holder);
  // PA-TGS-REQ stays; the rest of the padata is the inner list.
  return { padata: [tgsReq, ...(inner.padata ?? [])], reqBody: inner.reqBody };
}

/** The two PA-ENCRYPTED-CHALLENGE keys for one client key (RFC 6113 §5.4.6). */
function challengeKey(ctx: KdcContext, armorKey: Cf2Key, k: PrincipalKey, who: string): Cf2Key {
  return krbFxCf2(armorKey, who, { etype: k.etype, key: k.key }, "challengelongterm", ctx.crypto);
}

/**
 * Verify the client's encrypted challenge: the client key whose challenge key decrypts it,
 * and the KDC's PA-ENCRYPTED-CHALLENGE for the reply. PREAUTH_FAILED if none decrypts.
 */
export function verifyEncryptedChallenge(
  ctx: KdcContext,
  fast: FastState,
  keys: readonly PrincipalKey[],
  value: Uint8Array,
): { key: PrincipalKey; padata: PaData } {
  const enc = decodeEncryptedData(value);
  for (const k of keys) {
    const ck = challengeKey(ctx, fast.armorKey, k, "clientchallengearmor");
    if (ck.etype !== enc.etype) continue;
    let plain: Uint8Array;
    try {
      plain = getEnctype(ck.etype, ctx.crypto).decrypt(
        ck.key,
        KeyUsage.ENC_CHALLENGE_CLIENT,
        enc.cipher,
      );
    } catch {
      continue;
    }
    const ts = decodePaEncTsEnc(plain);
    const t = ts.patimestamp.getTime() + Math.floor((ts.pausec ?? 0) / 1000);
    const now = ctx.now();
    if (Math.abs(t - now) > ctx.config.skewMs)
      throw kdcError("KRB_AP_ERR_SKEW", "client clock skew too great");
    const kdcKey = challengeKey(ctx, fast.armorKey, k, "kdcchallengearmor");
    const mine = encodePaEncTsEnc({
      patimestamp: new Date(Math.floor(now / 1000) * 1000),
      pausec: (now % 1000) * 1000,
    });
    const cipher = getEnctype(kdcKey.etype, ctx.crypto).encrypt(
      kdcKey.key,
      KeyUsage.ENC_CHALLENGE_KDC,
      mine,
    );
    const padata = {
      padataType: PA_TYPE.PA_ENCRYPTED_CHALLENGE,
      padataValue: encodeEncryptedData({ etype: kdcKey.etype, cipher }),
    };
    return { key: k, padata };
  }
  throw kdcError("KDC_ERR_PREAUTH_FAILED", "incorrect password in encrypted challenge");
}

/** The name a hide-client-names reply carries outside (RFC 6113 §5.4.1, RFC 6112 §3). */
export const ANONYMOUS: PrincipalName = { nameType: 11, nameString: ["WELLKNOWN", "ANONYMOUS"] };
export const ANONYMOUS_REALM = "WELLKNOWN:ANONYMOUS";

export function hidesClient(fast: FastState | undefined): boolean {
  return fast !== undefined && (fast.options & FAST_OPTIONS.hideClientNames) !== 0;
}

/**
 * The armored reply: a strengthen key of `replyKey`'s enctype, the strengthened reply key,
 * and the reply's padata replaced by PA-FX-FAST (KrbFastResponse with KrbFastFinished).
 */
export function fastReply(
  ctx: KdcContext,
  fast: FastState,
  r: {
    replyKey: { etype: number; key: Uint8Array; kvno?: number };
    padata: PaData[];
    ticket: Ticket;
    crealm: string;
    cname: PrincipalName;
  },
): { replyKey: { etype: number; key: Uint8Array; kvno?: number }; padata: PaData[] } {
  const e = getEnctype(r.replyKey.etype, ctx.crypto);
  const strengthen = { etype: r.replyKey.etype, key: e.generateKey() };
  const strong = krbFxCf2(strengthen, "strengthenkey", r.replyKey, "replykey", ctx.crypto);
  const armor = getEnctype(fast.armorKey.etype, ctx.crypto);
  const now = ctx.now();
  const response = encodeKrbFastResponse({
    padata: r.padata,
    strengthenKey: { keytype: strengthen.etype, keyvalue: strengthen.key },
    finished: {
      timestamp: new Date(Math.floor(now / 1000) * 1000),
      usec: (now % 1000) * 1000,
      crealm: r.crealm,
      cname: r.cname,
      ticketChecksum: {
        cksumtype: armor.checksumType,
        checksum: armor.checksum(fast.armorKey.key, KeyUsage.FAST_FINISHED, encodeTicket(r.ticket)),
      },
    },
    nonce: fast.nonce,
  });
  const padata = [
    { padataType: PA_TYPE.PA_FX_FAST, padataValue: sealResponse(ctx, fast, response) },
  ];
  const replyKey = {
    etype: strong.etype,
    key: strong.key,
    ...(r.replyKey.kvno === undefined ? {} : { kvno: r.replyKey.kvno }),
  };
  return { replyKey, padata };
}

function sealResponse(ctx: KdcContext, fast: FastState, response: Uint8Array): Uint8Array {
  const { etype, key } = fast.armorKey;
  const cipher = getEnctype(etype, ctx.crypto).encrypt(key, KeyUsage.FAST_REP, response);
  return encodePaFxFastReply({ etype, cipher });
}

/**
 * The outer KRB-ERROR's e-data for an armored request: METHOD-DATA [PA-FX-FAST] whose
 * KrbFastResponse holds the error's own METHOD-DATA (if any) and PA-FX-ERROR (`inner`, the
 * same KRB-ERROR without e-data), as fast_util.c's kdc_fast_handle_error.
 */
export function fastErrorEData(
  ctx: KdcContext,
  fast: FastState,
  inner: Uint8Array,
  eData: Uint8Array | undefined,
): Uint8Array {
  let methods: PaData[] = [];
  if (eData) {
    try {
      methods = decodeMethodData(eData);
    } catch {
      methods = [];
    }
  }
  const response = encodeKrbFastResponse({
    padata: [...methods, { padataType: PA_TYPE.PA_FX_ERROR, padataValue: inner }],
    nonce: fast.nonce,
  });
  return encodeMethodData([
    { padataType: PA_TYPE.PA_FX_FAST, padataValue: sealResponse(ctx, fast, response) },
  ]);
}

/**
 * RFC 6806 §11 protected negotiation, as MIT's kdc_handle_protected_negotiation and AD:
 * when the request carries PA-REQ-ENC-PA-REP, the AS-REP's encrypted padata holds the
 * checksum of the whole AS-REQ as received (reply key, usage 56) and an empty PA-FX-FAST
 * (FAST is available: MIT's client then armours its TGS requests).
 */
export function encPaRep(
  ctx: KdcContext,
  req: KdcReq,
  packet: Uint8Array,
  replyKey: { etype: number; key: Uint8Array },
): PaData[] | undefined {
  if (!findPaData(req.padata, PA_TYPE.PA_REQ_ENC_PA_REP)) return undefined;
  const e = getEnctype(replyKey.etype, ctx.crypto);
  const checksum = encodeChecksum({
    cksumtype: e.checksumType,
    checksum: e.checksum(replyKey.key, KeyUsage.AS_REQ, packet),
  });
  return [
    { padataType: PA_TYPE.PA_REQ_ENC_PA_REP, padataValue: checksum },
    { padataType: PA_TYPE.PA_FX_FAST, padataValue: new Uint8Array(0) },
  ];
}
