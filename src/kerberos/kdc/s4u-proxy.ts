/**
 * S4U2Proxy, constrained delegation (MS-SFU §3.2.5.2, §3.2.5.2.2): a service with its own
 * TGT presents, in additional-tickets with the CNAME-IN-ADDL-TKT option, a ticket a user
 * gave it (the "evidence", sealed in the service's own key; from the user's AP-REQ or
 * from S4U2Self) and asks for a ticket to another service in the user's name. Checked as
 * Windows does (MS-SFU, and the codes Samba's s4u_tests record for Windows):
 *
 *   - no additional ticket                                   KDC_ERR_BADOPTION
 *   - the evidence does not decrypt with the requester's key  KRB_AP_ERR_BAD_INTEGRITY /
 *                                                             KRB_AP_ERR_BADKEYVER
 *   - the target is not in the requester's msDS-AllowedToDelegateTo, nor (RBCD) does
 *     the target's msDS-AllowedToActOnBehalfOfOtherIdentity name the requester
 *                                                            KDC_ERR_BADOPTION
 *   - the evidence is not FORWARDABLE (classic delegation)    KDC_ERR_BADOPTION
 *   - the evidence has no PAC                                 KDC_ERR_BADOPTION
 *   - a PAC signature missing                                 KRB_ERR_GENERIC
 *   - a PAC signature wrong (server: the requester's key; KDC: krbtgt)
 *                                                            KRB_AP_ERR_MODIFIED
 *   - the evidence has expired                                KRB_AP_ERR_TKT_EXPIRED
 *   - the user is disabled now                                KDC_ERR_CLIENT_REVOKED
 *
 * Resource-based constrained delegation (MS-SFU §3.2.5.2.1-3): when the classic check
 * fails (the target not in msDS-AllowedToDelegateTo, or the evidence not forwardable) and
 * the request's PA-PAC-OPTIONS asks for RBCD (MIT's client and impacket always do), the
 * target account's msDS-AllowedToActOnBehalfOfOtherIdentity must grant the requester (its
 * SID or one of its groups); the evidence then need not be forwardable (an S4U2Self
 * ticket of a service without TRUSTED_TO_AUTH_FOR_DELEGATION is enough, as on Windows).
 * Neither grants: KDC_ERR_BADOPTION.
 *
 * The new ticket names the evidence's client and carries the evidence's PAC buffers,
 * re-signed for the target, plus S4U_DELEGATION_INFO (MS-PAC §2.9): the target as
 * requested and the delegating service appended to the evidence's transited list.
 */
import { KerberosCryptoError } from "../crypto/index.js";
import { type EncTicketPart, hasFlag, type KdcReqBody, TICKET_FLAGS } from "../messages/index.js";
import { type Pac, PacError, verifyPacSignatures } from "../pac/index.js";
import { decodeDelegationInfo, encodeDelegationInfo } from "../pac/delegation-info.js";
import { PAC_TYPE, SIGNATURE_TYPES } from "../pac/pac.js";
import { decodePacContainer } from "../pac/pactype.js";
import { type KdcContext, nameText, type ServiceInfo } from "./context.js";
import type { PrincipalEntry } from "./database.js";
import { kdcError } from "./errors.js";
import { targetKey } from "./etype-choice.js";
import { openTicket, ticketPacBytes } from "./ticket.js";

export interface Evidence {
  /** The user's ticket to the requesting service, decrypted. */
  part: EncTicketPart;
  /** Its PAC's buffers without signatures, raw, with this hop's S4U_DELEGATION_INFO. */
  pac: Pac;
}

/** Does `spn` appear in the requester's msDS-AllowedToDelegateTo (case-insensitive)? */
function allowed(list: readonly string[] | undefined, target: string): boolean {
  const t = target.toLowerCase();
  return (list ?? []).some((s) => s.toLowerCase() === t);
}

function evidencePac(
  ctx: KdcContext,
  part: EncTicketPart,
  serverKey: { etype: number; key: Uint8Array },
  hop: { target: string; requester: string },
): Pac {
  const bytes = ticketPacBytes(part);
  if (!bytes) throw kdcError("KDC_ERR_BADOPTION", "S4U2Proxy: the evidence ticket has no PAC");
  const krbtgt = targetKey(ctx.config.krbtgtKeys, ctx.config.krbtgtEnctypes, "krbtgt");
  try {
    verifyPacSignatures(
      bytes,
      serverKey,
      { etype: krbtgt.etype, key: krbtgt.key },
      {
        deps: ctx.crypto,
      },
    );
  } catch (e) {
    if (e instanceof PacError && e.code === "pac-missing-buffer")
      throw kdcError("KRB_ERR_GENERIC", `S4U2Proxy: evidence ${e.message}`);
    if (e instanceof PacError || e instanceof KerberosCryptoError)
      throw kdcError("KRB_AP_ERR_MODIFIED", `S4U2Proxy: evidence ${e.message}`);
    throw e;
  }
  const raw = decodePacContainer(bytes).filter((b) => !SIGNATURE_TYPES.includes(b.type));
  const earlier = raw.find((b) => b.type === PAC_TYPE.DELEGATION_INFO);
  let transited: string[] = [];
  try {
    transited = earlier ? decodeDelegationInfo(earlier.data).transitedServices : [];
  } catch {
    throw kdcError("KRB_AP_ERR_MODIFIED", "S4U2Proxy: evidence S4U_DELEGATION_INFO malformed");
  }
  const info = encodeDelegationInfo({
    proxyTarget: hop.target,
    transitedServices: [...transited, hop.requester],
  });
  return {
    buffers: [
      ...raw
        .filter((b) => b.type !== PAC_TYPE.DELEGATION_INFO)
        .map((b) => ({ kind: "raw" as const, type: b.type, data: b.data })),
      { kind: "raw" as const, type: PAC_TYPE.DELEGATION_INFO, data: new Uint8Array(info) },
    ],
  };
}

/** RBCD: does the target account grant the requester (its SID or a group's)? */
function grantedByTarget(
  ctx: KdcContext,
  service: ServiceInfo,
  requester: PrincipalEntry,
  realm: string,
): boolean {
  const target = ctx.db.lookup(service.account, realm);
  const granted = new Set(target?.allowedToActOnBehalfOf ?? []);
  return [requester.accountSid, ...requester.groupSids].some((sid) => granted.has(sid));
}

/**
 * The evidence ticket of a CNAME-IN-ADDL-TKT request from `requester`, checked.
 * `rbcd`: the request's PA-PAC-OPTIONS asks for resource-based constrained delegation.
 */
export function openEvidence(
  ctx: KdcContext,
  body: KdcReqBody,
  tgt: EncTicketPart,
  service: ServiceInfo,
  rbcd: boolean,
): Evidence {
  const ticket = body.additionalTickets?.[0];
  if (!ticket)
    throw kdcError("KDC_ERR_BADOPTION", "CNAME-IN-ADDL-TKT without an additional ticket");
  const requesterName = nameText(tgt.cname);
  const requester = ctx.db.lookup(requesterName, tgt.crealm);
  if (!requester)
    throw kdcError("KDC_ERR_C_PRINCIPAL_UNKNOWN", `S4U2Proxy: ${requesterName} unknown`);
  const { part, key } = openTicket(ticket, requester.keys, requester.name, ctx.crypto);
  const target = nameText(body.sname ?? { nameType: 0, nameString: [] });
  if (service.isTgt) throw kdcError("KDC_ERR_BADOPTION", "S4U2Proxy: the target may not be a TGT");
  const forwardable = hasFlag(part.flags, TICKET_FLAGS.forwardable);
  const classic = allowed(requester.allowedToDelegateTo, target);
  if (
    !(classic && forwardable) &&
    !(rbcd && grantedByTarget(ctx, service, requester, tgt.crealm))
  ) {
    if (classic)
      throw kdcError("KDC_ERR_BADOPTION", "S4U2Proxy: the evidence ticket is not forwardable");
    throw kdcError(
      "KDC_ERR_BADOPTION",
      `S4U2Proxy: ${requester.name} may not delegate to ${target} (msDS-AllowedToDelegateTo, msDS-AllowedToActOnBehalfOfOtherIdentity)`,
    );
  }
  const pac = evidencePac(ctx, part, key, {
    target,
    requester: `${requesterName}@${tgt.crealm}`,
  });
  if (part.endtime.getTime() < ctx.now() - ctx.config.skewMs)
    throw kdcError("KRB_AP_ERR_TKT_EXPIRED", "S4U2Proxy: the evidence ticket has expired");
  const user = ctx.db.lookup(nameText(part.cname), part.crealm);
  if (user && !user.enabled)
    throw kdcError("KDC_ERR_CLIENT_REVOKED", `S4U2Proxy: ${nameText(part.cname)} is disabled`);
  return { part, pac };
}
