/**
 * The AS exchange (RFC 4120 §3.1), pre-authentication required:
 *
 *   1. look up the client (C_PRINCIPAL_UNKNOWN, also for an SPN; CLIENT_REVOKED) and the service
 *   0. PA-FX-FAST (fast.ts): the armored request's inner padata and body replace the outer
 *   2. no pre-authentication -> PREAUTH_REQUIRED with an empty PA-FX-FAST (FAST offered),
 *      PA-ETYPE-INFO2 (the client's keys, in the client's etype order, with AD-style salts)
 *      and an empty PA-ENC-TIMESTAMP, or under FAST an empty PA-ENCRYPTED-CHALLENGE and a
 *      PA-FX-COOKIE (MIT's hint list, kdc_preauth.c)
 *   3. decrypt the timestamp with the client key of its etype (PREAUTH_FAILED), check skew;
 *      under FAST PA-ENCRYPTED-CHALLENGE is accepted too (and answered, fast.ts)
 *   4. session key and ticket etype (etype-choice.ts), times, flags (flags.ts); the PAC from
 *      the database with ATTRIBUTES_INFO saying what PA-PAC-REQUEST asked; seal the ticket
 *   5. AS-REP with PA-ETYPE-INFO2, enc-part in the key the client proved (key usage 3);
 *      under FAST that padata goes into PA-FX-FAST and the key is strengthened; with
 *      PA-REQ-ENC-PA-REP the encrypted padata of RFC 6806 (ENC-PA-REP flag)
 */
import { getEnctype, KerberosCryptoError, KeyUsage } from "../crypto/index.js";
import {
  decodePaEncTimestamp,
  TICKET_FLAGS,
  decodePaEncTsEnc,
  encodeEtypeInfo2,
  encodeMethodData,
  findPaData,
  type KdcReq,
  PA_TYPE,
  type PaData,
} from "../messages/index.js";
import { type KdcContext, nameText } from "./context.js";
import { adSalt, type PrincipalEntry, type PrincipalKey } from "./database.js";
import { kdcError } from "./errors.js";
import {
  ANONYMOUS,
  ANONYMOUS_REALM,
  encPaRep,
  type FastHolder,
  type FastState,
  fastReply,
  hidesClient,
  unwrapAsFast,
  verifyEncryptedChallenge,
} from "./fast.js";
import { asTicketFlags } from "./flags.js";
import { sessionEnctype, targetKey } from "./etype-choice.js";
import { keyFor, keyForRequest } from "./keys.js";
import { issueTimes } from "./lifetimes.js";
import { checkClientName, pacAttributeFlags } from "./pac-checks.js";
import { issuePacLayout } from "./pac-issue.js";
import { buildKdcRep } from "./reply.js";
import { lookupService } from "./service.js";
import { sealTicket } from "./ticket.js";

/** A FAST cookie (RFC 6113 §5.2): opaque; postern keeps no conversation state in it. */
const COOKIE = new TextEncoder().encode("postern");

/**
 * METHOD-DATA for PREAUTH_REQUIRED, in MIT's order: PA-FX-FAST (FAST is offered), ETYPE-INFO2
 * in the client's order, then ENC-TIMESTAMP, or under FAST ENCRYPTED-CHALLENGE and a cookie.
 */
function preauthMethods(
  ctx: KdcContext,
  client: PrincipalEntry,
  etypes: readonly number[],
  fast: FastState | undefined,
) {
  const salt = adSalt(ctx.config.realm, client.name, ctx.config.dnsDomain);
  const seen = new Set<number>();
  const entries = [];
  for (const etype of etypes) {
    if (seen.has(etype) || !keyForRequest(client.keys, [etype])) continue;
    seen.add(etype);
    entries.push({ etype, salt });
  }
  if (entries.length === 0) {
    throw kdcError(
      "KDC_ERR_ETYPE_NOSUPP",
      `${client.name} has no key in any requested enctype [${etypes.join(", ")}]`,
    );
  }
  const empty = new Uint8Array(0);
  return encodeMethodData([
    { padataType: PA_TYPE.PA_FX_FAST, padataValue: empty },
    { padataType: PA_TYPE.PA_ETYPE_INFO2, padataValue: encodeEtypeInfo2(entries) },
    ...(fast
      ? [
          { padataType: PA_TYPE.PA_ENCRYPTED_CHALLENGE, padataValue: empty },
          { padataType: PA_TYPE.PA_FX_COOKIE, padataValue: COOKIE },
        ]
      : [{ padataType: PA_TYPE.PA_ENC_TIMESTAMP, padataValue: empty }]),
  ]);
}

/**
 * The AS-REP's padata, as AD sends it: PA-ETYPE-INFO2 for the reply key (RFC 4120 §3.1.3
 * "the KDC ... SHOULD include PA-ETYPE-INFO2", RFC 6113 §5.4.1 "when the reply key is the
 * client's long-term key"), with its salt; no s2kparams, as every key here uses its
 * enctype's default iteration count (RFC 3962 §4, RFC 8009 §4); never PA-PW-SALT.
 */
function replyPadata(ctx: KdcContext, client: PrincipalEntry, key: PrincipalKey) {
  const salt = adSalt(ctx.config.realm, client.name, ctx.config.dnsDomain);
  return [
    {
      padataType: PA_TYPE.PA_ETYPE_INFO2,
      padataValue: encodeEtypeInfo2([{ etype: key.etype, salt }]),
    },
  ];
}

/**
 * Step 3: the client key that decrypts a timely PA-ENC-TIMESTAMP or (FAST only)
 * PA-ENCRYPTED-CHALLENGE, and the KDC's challenge for the reply's padata.
 */
function verifyPreauth(
  ctx: KdcContext,
  req: KdcReq,
  client: PrincipalEntry,
  fast: FastState | undefined,
): { key: PrincipalKey; padata?: PaData } {
  const challenge = fast && findPaData(req.padata, PA_TYPE.PA_ENCRYPTED_CHALLENGE);
  if (fast && challenge)
    return verifyEncryptedChallenge(ctx, fast, client.keys, challenge.padataValue);
  const pa = findPaData(req.padata, PA_TYPE.PA_ENC_TIMESTAMP);
  if (!pa) {
    throw kdcError(
      "KDC_ERR_PREAUTH_REQUIRED",
      "pre-authentication required",
      preauthMethods(ctx, client, req.reqBody.etype, fast),
    );
  }
  const enc = decodePaEncTimestamp(pa.padataValue);
  const key = keyFor(client.keys, enc.etype, undefined);
  if (!key) throw kdcError("KDC_ERR_PREAUTH_FAILED", `no client key of etype ${enc.etype}`);
  let ts: ReturnType<typeof decodePaEncTsEnc>;
  try {
    const plain = getEnctype(key.etype, ctx.crypto).decrypt(
      key.key,
      KeyUsage.AS_REQ_PA_ENC_TIMESTAMP,
      enc.cipher,
    );
    ts = decodePaEncTsEnc(plain);
  } catch (e) {
    if (e instanceof KerberosCryptoError)
      throw kdcError("KDC_ERR_PREAUTH_FAILED", "pre-authentication failed (wrong password or key)");
    throw e;
  }
  const t = ts.patimestamp.getTime() + Math.floor((ts.pausec ?? 0) / 1000);
  if (Math.abs(t - ctx.now()) > ctx.config.skewMs)
    throw kdcError("KRB_AP_ERR_SKEW", "client clock skew too great");
  return { key };
}

/**
 * `packet` is the AS-REQ as received (FAST's req-checksum covers its req-body, RFC 6806's
 * checksum all of it); `holder` learns the FAST state (kdc.ts wraps errors).
 */
export function handleAsReq(
  ctx: KdcContext,
  outer: KdcReq,
  packet: Uint8Array,
  holder: FastHolder,
): Uint8Array {
  const req = unwrapAsFast(ctx, outer, packet, holder);
  const fast = holder.state;
  const body = req.reqBody;
  const { realm } = ctx.config;
  if (!body.cname) throw kdcError("KDC_ERR_C_PRINCIPAL_UNKNOWN", "AS-REQ without cname");
  if (!body.sname) throw kdcError("KDC_ERR_S_PRINCIPAL_UNKNOWN", "AS-REQ without sname");
  if (body.realm.toUpperCase() !== realm)
    throw kdcError("KDC_ERR_WRONG_REALM", `realm ${body.realm} is not served here`);
  checkClientName(body.cname);
  const clientText = nameText(body.cname);
  const client = ctx.db.lookup(clientText, realm);
  if (!client) throw kdcError("KDC_ERR_C_PRINCIPAL_UNKNOWN", `client ${clientText} unknown`);
  if (!client.enabled) throw kdcError("KDC_ERR_CLIENT_REVOKED", `client ${clientText} is disabled`);
  const service = lookupService(ctx, body.sname);
  const proof = verifyPreauth(ctx, req, client, fast);
  const replyKey = proof.key;
  const wantsEncPaRep = findPaData(req.padata, PA_TYPE.PA_REQ_ENC_PA_REP) !== undefined;

  const now = ctx.now();
  const times = issueTimes(body, now, now, ctx.config);
  const etype = sessionEnctype(body.etype, ctx.config.sessionEnctypes, service.etypes);
  const part = {
    flags:
      (asTicketFlags(body, times.renewTill !== undefined) |
        (wantsEncPaRep ? TICKET_FLAGS.encPaRep : 0)) >>>
      0,
    key: { keytype: etype, keyvalue: getEnctype(etype, ctx.crypto).generateKey() },
    crealm: realm,
    cname: body.cname,
    transited: { trType: 1, contents: new Uint8Array(0) },
    ...times,
    ...(body.addresses ? { caddr: body.addresses } : {}),
  };
  const serverKey = targetKey(service.keys, service.etypes, nameText(body.sname));
  const kdcKey = targetKey(ctx.config.krbtgtKeys, ctx.config.krbtgtEnctypes, "krbtgt");
  const pacKeys = {
    serverEtype: serverKey.etype,
    kdcEtype: kdcKey.etype,
    forTgt: service.isTgt,
    attributeFlags: pacAttributeFlags(req),
    deps: ctx.crypto,
  };
  const ticket = sealTicket({
    part,
    pac: issuePacLayout(client, clientText, now, ctx.config, pacKeys, ctx.pacLayouts),
    realm,
    sname: body.sname,
    serverKey,
    kdcKey,
    isTgt: service.isTgt,
    deps: ctx.crypto,
  });
  const padata = [...replyPadata(ctx, client, replyKey), ...(proof.padata ? [proof.padata] : [])];
  const sealed = fast
    ? fastReply(ctx, fast, { replyKey, padata, ticket, crealm: realm, cname: body.cname })
    : { replyKey, padata };
  const encPadata = encPaRep(ctx, req, packet, sealed.replyKey);
  const hide = hidesClient(fast);
  return buildKdcRep(ctx, {
    kind: "AS",
    body,
    crealm: hide ? ANONYMOUS_REALM : realm,
    cname: hide ? ANONYMOUS : body.cname,
    ticket,
    part,
    replyKey: sealed.replyKey,
    usage: KeyUsage.AS_REP_ENC_PART,
    padata: sealed.padata,
    ...(encPadata ? { encPadata } : {}),
    now: new Date(Math.floor(now / 1000) * 1000),
  });
}
