/**
 * The TGS exchange (RFC 4120 §3.3):
 *
 *   1. authenticate the request with the TGT (tgs-auth.ts), refuse an INVALID one (flags.ts),
 *      check the TGT's PAC signatures (ticket.ts)
 *   2. the client account must still exist, be enabled and be the one the PAC's
 *      REQUESTER_SID names (pac-checks.ts: TGT_REVOKED, CLIENT_REVOKED)
 *   3. RENEW: a new ticket for the same service with the same PAC, endtime extended up to
 *      renew-till; S4U2Self (PA-FOR-USER): the user's current PAC from the database;
 *      S4U2Proxy (CNAME-IN-ADDL-TKT, s4u-proxy.ts): the evidence ticket's client and PAC;
 *      otherwise: a service ticket whose PAC is the TGT's (the groups as of the AS exchange)
 *   4. seal with the service key, or with the additional TGT's session key for
 *      user-to-user (ENC-TKT-IN-SKEY, u2u.ts); TGS-REP enc-part in the subkey (usage 9) or session key (8)
 *
 * FAST (fast.ts): after step 1, a PA-FX-FAST's inner padata and body replace the outer
 * ones (the armor key from the authenticator's subkey and the TGT session key); the reply
 * then carries PA-FX-FAST and its enc-part is in the strengthened reply key.
 */
import { getEnctype, KeyUsage } from "../crypto/index.js";
import {
  decodePaPacOptions,
  type EncTicketPart,
  findPaData,
  hasFlag,
  KDC_OPTIONS,
  type KdcReq,
  PA_TYPE,
  PAC_OPTIONS,
  TICKET_FLAGS,
  type Ticket,
} from "../messages/index.js";
import { PAC_TYPE, type Pac, type PacBuffer } from "../pac/index.js";
import type { PrincipalName } from "../principal.js";
import { type KdcContext, nameText, principalText, type ServiceInfo } from "./context.js";
import { kdcError } from "./errors.js";
import { type FastHolder, fastReply, unwrapTgsFast } from "./fast.js";
import { sessionEnctype, targetKey } from "./etype-choice.js";
import { checkTicketUsable, tgsTicketAddresses, tgsTicketFlags } from "./flags.js";
import { issueTimes, seconds } from "./lifetimes.js";
import { checkTgtClient, pacWanted } from "./pac-checks.js";
import { buildPac } from "./pac-issue.js";
import { buildKdcRep } from "./reply.js";
import { openEvidence } from "./s4u-proxy.js";
import { resolveS4uSelf } from "./s4u-self.js";
import { lookupService } from "./service.js";
import { authenticateTgsReq, type TgsAuth } from "./tgs-auth.js";
import { checkTgtPac, sealTicket } from "./ticket.js";
import { userToUserKey, withoutKvno } from "./u2u.js";

type TicketPart = Omit<EncTicketPart, "authorizationData">;

interface Issue {
  part: TicketPart;
  /** Null: no PAC (the TGT's PA-PAC-REQUEST was false). */
  pac: Pac | null;
  cname: PrincipalName;
  crealm: string;
  /** The PAC is the TGT's, carried: its layouts can be kept with the opened TGT. */
  fromTgt?: boolean;
}

/** Buffers carried into a ticket issued from a TGT: no signatures; TGT-only ones only into TGTs. */
const TGT_ONLY = [PAC_TYPE.ATTRIBUTES_INFO, PAC_TYPE.REQUESTER_SID] as number[];
const carried = (pac: Pac, toTgt: boolean): Pac => ({
  buffers: pac.buffers.filter(
    (b: PacBuffer) =>
      b.kind !== "signature" && (toTgt || b.kind !== "raw" || !TGT_ONLY.includes(b.type)),
  ),
});

function newKey(ctx: KdcContext, req: KdcReq, service: ServiceInfo) {
  const etype = sessionEnctype(req.reqBody.etype, ctx.config.sessionEnctypes, service.etypes);
  return { keytype: etype, keyvalue: getEnctype(etype, ctx.crypto).generateKey() };
}

function renew(ctx: KdcContext, req: KdcReq, auth: TgsAuth, service: ServiceInfo, pac: Pac): Issue {
  const { tgt } = auth;
  if (!hasFlag(tgt.flags, TICKET_FLAGS.renewable) || !tgt.renewTill)
    throw kdcError("KDC_ERR_BADOPTION", "ticket is not renewable");
  if (!service.isTgt) throw kdcError("KDC_ERR_BADOPTION", "RENEW names a different service");
  const now = seconds(ctx.now());
  const life = tgt.endtime.getTime() - (tgt.starttime ?? tgt.authtime).getTime();
  const part: TicketPart = {
    ...tgt,
    key: newKey(ctx, req, service),
    starttime: new Date(now),
    endtime: new Date(Math.min(now + life, tgt.renewTill.getTime())),
  };
  delete (part as EncTicketPart).authorizationData;
  return { part, pac: carried(pac, true), cname: tgt.cname, crealm: tgt.crealm, fromTgt: true };
}

function serviceTicket(
  ctx: KdcContext,
  req: KdcReq,
  auth: TgsAuth,
  service: ServiceInfo,
  pac: Pac,
): Issue {
  const { tgt } = auth;
  const body = req.reqBody;
  const cap = {
    endMs: tgt.endtime.getTime(),
    ...(hasFlag(tgt.flags, TICKET_FLAGS.renewable) && tgt.renewTill
      ? { renewTillMs: tgt.renewTill.getTime() }
      : {}),
  };
  const times = issueTimes(body, ctx.now(), tgt.authtime.getTime(), ctx.config, cap);
  const caddr = tgsTicketAddresses(body, tgt);
  const part: TicketPart = {
    flags: tgsTicketFlags(body, tgt, times.renewTill !== undefined, service.isTgt),
    key: newKey(ctx, req, service),
    crealm: tgt.crealm,
    cname: tgt.cname,
    transited: tgt.transited,
    ...times,
    ...(caddr ? { caddr } : {}),
  };
  const carriedPac = service.isTgt || pacWanted(pac) ? carried(pac, service.isTgt) : null;
  return { part, pac: carriedPac, cname: tgt.cname, crealm: tgt.crealm, fromTgt: true };
}

function s4uSelf(
  ctx: KdcContext,
  req: KdcReq,
  auth: TgsAuth,
  service: ServiceInfo,
): Issue | undefined {
  const pa = findPaData(req.padata, PA_TYPE.PA_FOR_USER);
  if (!pa) return undefined;
  const { forUser, entry } = resolveS4uSelf(ctx, pa, auth.tgt, service.account);
  const now = ctx.now();
  const issued = serviceTicket(ctx, req, auth, service, { buffers: [] });
  // MS-SFU §3.2.5.1.2: forwardable (usable as S4U2Proxy evidence) exactly when the
  // service is trusted for protocol transition (TRUSTED_TO_AUTH_FOR_DELEGATION), whatever
  // its own TGT's flags.
  const requester = ctx.db.lookup(nameText(auth.tgt.cname), auth.tgt.crealm);
  const fwd = requester?.trustedToAuthForDelegation ? TICKET_FLAGS.forwardable : 0;
  const part: TicketPart = {
    ...issued.part,
    flags: ((issued.part.flags & ~TICKET_FLAGS.forwardable) | fwd) >>> 0,
    crealm: forUser.userRealm,
    cname: forUser.userName,
    authtime: new Date(seconds(now)),
  };
  const pac = buildPac(entry, nameText(forUser.userName), now, ctx.config, false);
  return { part, pac, cname: forUser.userName, crealm: forUser.userRealm, fromTgt: false };
}

/** S4U2Proxy (s4u-proxy.ts): the evidence's client and PAC, within the evidence's life. */
function s4uProxy(ctx: KdcContext, req: KdcReq, auth: TgsAuth, service: ServiceInfo): Issue {
  const pacOptions = findPaData(req.padata, PA_TYPE.PA_PAC_OPTIONS);
  const rbcd =
    pacOptions !== undefined &&
    hasFlag(
      decodePaPacOptions(pacOptions.padataValue),
      PAC_OPTIONS.resourceBasedConstrainedDelegation,
    );
  const { part: evidence, pac } = openEvidence(ctx, req.reqBody, auth.tgt, service, rbcd);
  const issued = serviceTicket(ctx, req, auth, service, pac);
  const endMs = Math.min(issued.part.endtime.getTime(), evidence.endtime.getTime());
  const part: TicketPart = {
    ...issued.part,
    flags: (issued.part.flags | TICKET_FLAGS.forwardable) >>> 0,
    crealm: evidence.crealm,
    cname: evidence.cname,
    authtime: evidence.authtime,
    endtime: new Date(endMs),
  };
  return { part, pac, cname: evidence.cname, crealm: evidence.crealm, fromTgt: false };
}

/** The opened TGT's layouts of its carried PAC (ticket.ts), made on first use. */
function pacLayouts(opened: TgsAuth["opened"]) {
  if (!opened.layouts) opened.layouts = new Map();
  return opened.layouts;
}

/**
 * `bodyBytes` is the req-body as received (the authenticator's checksum covers it);
 * `holder` learns the FAST state (kdc.ts wraps errors). RFC 6806 enc-pa-rep is an AS
 * matter (MIT's client asks for it there only).
 */
export function handleTgsReq(
  ctx: KdcContext,
  outer: KdcReq,
  bodyBytes: Uint8Array,
  holder: FastHolder,
): Uint8Array {
  const { realm } = ctx.config;
  const outerRenew = hasFlag(outer.reqBody.kdcOptions, KDC_OPTIONS.renew);
  const auth = authenticateTgsReq(
    outer,
    bodyBytes,
    ctx.config,
    ctx.now(),
    outerRenew,
    ctx.crypto,
    ctx.authenticators,
    ctx.tgts,
  );
  if (ctx.note) ctx.note.client = principalText(auth.tgt.cname, auth.tgt.crealm);
  const tgsKeys = { subkey: auth.authenticator.subkey, sessionKey: auth.tgt.key };
  const req = unwrapTgsFast(ctx, outer, tgsKeys, holder);
  const body = req.reqBody;
  const renewing = hasFlag(body.kdcOptions, KDC_OPTIONS.renew);
  if (hasFlag(body.kdcOptions, KDC_OPTIONS.validate))
    throw kdcError("KDC_ERR_BADOPTION", "VALIDATE is not supported (no postdated tickets)");
  // An outer RENEW let an expired TGT through authentication; an inner body without it may not.
  if (!renewing && auth.tgt.endtime.getTime() < ctx.now() - ctx.config.skewMs)
    throw kdcError("KRB_AP_ERR_TKT_EXPIRED", "TGT has expired");
  checkTicketUsable(auth.tgt);
  auth.opened.pac ??= checkTgtPac(auth.tgt, auth.krbtgtKey, ctx.crypto);
  const pac = auth.opened.pac;
  checkTgtClient(auth.tgt.cname, ctx.db.lookup(nameText(auth.tgt.cname), auth.tgt.crealm), pac);
  if (!body.sname) throw kdcError("KDC_ERR_S_PRINCIPAL_UNKNOWN", "TGS-REQ without sname");
  if (body.realm.toUpperCase() !== realm)
    throw kdcError("KDC_ERR_WRONG_REALM", `realm ${body.realm} is not served here`);
  const service = lookupService(ctx, body.sname);
  const u2uKey = hasFlag(body.kdcOptions, KDC_OPTIONS.encTktInSkey)
    ? userToUserKey(ctx, body.additionalTickets, service)
    : undefined;
  const issue = renewing
    ? renew(ctx, req, auth, service, pac)
    : hasFlag(body.kdcOptions, KDC_OPTIONS.cnameInAddlTkt)
      ? s4uProxy(ctx, req, auth, service)
      : (s4uSelf(ctx, req, auth, service) ?? serviceTicket(ctx, req, auth, service, pac));
  const sealed: Ticket = sealTicket({
    part: issue.part,
    pac: issue.pac,
    realm,
    sname: body.sname,
    serverKey: u2uKey ?? targetKey(service.keys, service.etypes, nameText(body.sname)),
    kdcKey: targetKey(ctx.config.krbtgtKeys, ctx.config.krbtgtEnctypes, "krbtgt"),
    isTgt: service.isTgt,
    deps: ctx.crypto,
    // The carried PAC depends only on the TGT's PAC and isTgt (the layout id's third part).
    ...(issue.fromTgt && issue.pac ? { layouts: pacLayouts(auth.opened) } : {}),
  });
  const ticket = u2uKey ? withoutKvno(sealed) : sealed;
  const subkey = auth.authenticator.subkey;
  const replyKey = subkey
    ? { etype: subkey.keytype, key: subkey.keyvalue }
    : { etype: auth.tgt.key.keytype, key: auth.tgt.key.keyvalue };
  const fast = holder.state;
  const sealedReply = fast
    ? fastReply(ctx, fast, {
        replyKey,
        padata: [],
        ticket,
        crealm: issue.crealm,
        cname: issue.cname,
      })
    : undefined;
  return buildKdcRep(ctx, {
    kind: "TGS",
    body,
    crealm: issue.crealm,
    cname: issue.cname,
    ticket,
    part: issue.part,
    replyKey: sealedReply?.replyKey ?? replyKey,
    usage: subkey ? KeyUsage.TGS_REP_ENC_PART_SUBKEY : KeyUsage.TGS_REP_ENC_PART_SESSION_KEY,
    ...(sealedReply ? { padata: sealedReply.padata } : {}),
    now: new Date(seconds(ctx.now())),
  });
}
