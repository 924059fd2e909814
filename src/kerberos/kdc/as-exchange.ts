/**
 * The AS exchange (RFC 4120 §3.1), pre-authentication required:
 *
 *   1. look up the client (C_PRINCIPAL_UNKNOWN, also for an SPN; CLIENT_REVOKED) and the service
 *   2. no PA-ENC-TIMESTAMP -> PREAUTH_REQUIRED with PA-ETYPE-INFO2 (the client's keys, in
 *      the client's etype order, with AD-style salts) and an empty PA-ENC-TIMESTAMP;
 *      never PA-FX-FAST (we do not implement RFC 6113, and MIT clients armour if offered)
 *   3. decrypt the timestamp with the client key of its etype (PREAUTH_FAILED), check skew
 *   4. session key and ticket etype (etype-choice.ts), times, flags (flags.ts); the PAC from
 *      the database with ATTRIBUTES_INFO saying what PA-PAC-REQUEST asked; seal the ticket
 *   5. AS-REP with PA-ETYPE-INFO2, enc-part in the key the client proved (key usage 3)
 */
import { getEnctype, KerberosCryptoError, KeyUsage } from "../crypto/index.js";
import {
  decodePaEncTimestamp,
  decodePaEncTsEnc,
  encodeEtypeInfo2,
  encodeMethodData,
  findPaData,
  type KdcReq,
  PA_TYPE,
} from "../messages/index.js";
import { type KdcContext, nameText } from "./context.js";
import { adSalt, type PrincipalEntry, type PrincipalKey } from "./database.js";
import { kdcError } from "./errors.js";
import { asTicketFlags } from "./flags.js";
import { sessionEnctype, targetKey } from "./etype-choice.js";
import { keyFor, keyForRequest } from "./keys.js";
import { issueTimes } from "./lifetimes.js";
import { checkClientName, pacAttributeFlags } from "./pac-checks.js";
import { issuePacLayout } from "./pac-issue.js";
import { buildKdcRep } from "./reply.js";
import { lookupService } from "./service.js";
import { sealTicket } from "./ticket.js";

/** METHOD-DATA for PREAUTH_REQUIRED: ETYPE-INFO2 in the client's order, ENC-TIMESTAMP. */
function preauthMethods(ctx: KdcContext, client: PrincipalEntry, etypes: readonly number[]) {
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
  return encodeMethodData([
    { padataType: PA_TYPE.PA_ETYPE_INFO2, padataValue: encodeEtypeInfo2(entries) },
    { padataType: PA_TYPE.PA_ENC_TIMESTAMP, padataValue: new Uint8Array(0) },
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

/** Step 3: the client key that decrypts a timely PA-ENC-TIMESTAMP. */
function verifyTimestamp(ctx: KdcContext, req: KdcReq, client: PrincipalEntry): PrincipalKey {
  const pa = findPaData(req.padata, PA_TYPE.PA_ENC_TIMESTAMP);
  if (!pa) {
    throw kdcError(
      "KDC_ERR_PREAUTH_REQUIRED",
      "pre-authentication required",
      preauthMethods(ctx, client, req.reqBody.etype),
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
  return key;
}

export function handleAsReq(ctx: KdcContext, req: KdcReq): Uint8Array {
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
  const replyKey = verifyTimestamp(ctx, req, client);

  const now = ctx.now();
  const times = issueTimes(body, now, now, ctx.config);
  const etype = sessionEnctype(body.etype, ctx.config.sessionEnctypes, service.etypes);
  const part = {
    flags: asTicketFlags(body, times.renewTill !== undefined),
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
  return buildKdcRep(ctx, {
    kind: "AS",
    body,
    crealm: realm,
    cname: body.cname,
    ticket,
    part,
    replyKey,
    usage: KeyUsage.AS_REP_ENC_PART,
    padata: replyPadata(ctx, client, replyKey),
    now: new Date(Math.floor(now / 1000) * 1000),
  });
}
