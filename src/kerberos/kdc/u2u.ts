/**
 * User-to-user (RFC 4120 §3.3.3, §2.9.2): a TGS-REQ with ENC-TKT-IN-SKEY carries a second
 * TGT in additional-tickets, and the service ticket is sealed in THAT TGT's session key
 * instead of the service's long-term key, so a service holding only a TGT (a user, no
 * keytab) can accept it. Windows answers as Samba's kdc_tgs_tests record:
 *
 *   - no additional ticket                                  KDC_ERR_BADOPTION
 *   - the additional ticket is not our TGT (a service ticket, or a TGT of another realm)
 *                                                           KDC_ERR_POLICY
 *   - it does not decrypt / its PAC does not verify          as for the request's TGT
 *   - its client is not the account the sname names          KRB_AP_ERR_BADMATCH
 *   - it has expired                                        KRB_AP_ERR_TKT_EXPIRED
 *
 * The ticket's enc-part carries the session key's etype and no kvno; its PAC's server
 * signature is made with that session key too (the only key the receiving side holds).
 */
import { type Ticket, TICKET_FLAGS, hasFlag } from "../messages/index.js";
import { isKrbtgt, type KdcContext, nameText, type ServiceInfo } from "./context.js";
import type { PrincipalKey } from "./database.js";
import { kdcError } from "./errors.js";
import { checkTgtPac, openTicket } from "./ticket.js";

/** The key to seal a user-to-user ticket with: the second TGT's session key. */
export function userToUserKey(
  ctx: KdcContext,
  additional: readonly Ticket[] | undefined,
  service: ServiceInfo,
): PrincipalKey {
  const second = additional?.[0];
  if (!second) throw kdcError("KDC_ERR_BADOPTION", "ENC-TKT-IN-SKEY without an additional ticket");
  const { realm } = ctx.config;
  if (!isKrbtgt(second.sname, realm) || second.realm !== realm)
    throw kdcError("KDC_ERR_POLICY", "user-to-user: the additional ticket is not a TGT of ours");
  const { part, key } = openTicket(second, ctx.config.krbtgtKeys, "krbtgt", ctx.crypto);
  checkTgtPac(part, key, ctx.crypto);
  if (part.crealm !== realm)
    throw kdcError("KDC_ERR_POLICY", `user-to-user: the additional TGT is of ${part.crealm}`);
  if (hasFlag(part.flags, TICKET_FLAGS.invalid))
    throw kdcError("KRB_AP_ERR_TKT_NYV", "user-to-user: the additional TGT is invalid");
  if (part.endtime.getTime() < ctx.now() - ctx.config.skewMs)
    throw kdcError("KRB_AP_ERR_TKT_EXPIRED", "user-to-user: the additional TGT has expired");
  const holder = ctx.db.lookup(nameText(part.cname), part.crealm);
  if (!holder || holder.name !== service.account)
    throw kdcError(
      "KRB_AP_ERR_BADMATCH",
      `user-to-user: the additional TGT is ${nameText(part.cname)}'s, not the service's`,
    );
  return { etype: part.key.keytype, kvno: 0, key: part.key.keyvalue };
}

/** A user-to-user ticket's enc-part names no kvno (the key is a session key). */
export function withoutKvno(t: Ticket): Ticket {
  const { kvno: _kvno, ...encPart } = t.encPart;
  return { ...t, encPart };
}
