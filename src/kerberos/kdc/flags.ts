/**
 * Ticket flags at the KDC (RFC 4120 §2.1-2.9, §3.1.3, §3.3.3), as an AD DC applies them:
 *
 *   - AS: FORWARDABLE and PROXIABLE when asked (§2.6, §2.5), RENEWABLE when the times allow;
 *   - TGS: a ticket with the INVALID flag is refused, KRB_AP_ERR_TKT_NYV (§2.2: "the KDC will
 *     not issue tickets based on a ticket with the INVALID flag set", §3.3.3; what Windows
 *     answers, Samba's kdc_tgs_tests `test_tgs_req_invalid`); VALIDATE is not offered
 *     (postdating is not implemented), so no TGT of ours is ever INVALID;
 *   - FORWARDABLE / PROXIABLE in a new ticket only if asked and the TGT has them (§2.6, §2.5);
 *     the FORWARDED / PROXY options need the TGT's FORWARDABLE / PROXIABLE (else
 *     KDC_ERR_BADOPTION, §3.3.3) and set FORWARDED / PROXY with the request's addresses; a
 *     proxy ticket cannot be a TGT (§2.5); FORWARDED stays on every ticket a forwarded TGT
 *     yields (§2.6); PRE-AUTHENT is carried from the TGT (§2.3).
 */
import {
  type EncTicketPart,
  hasFlag,
  KDC_OPTIONS,
  type KdcReqBody,
  TICKET_FLAGS,
} from "../messages/index.js";
import { kdcError } from "./errors.js";

/** The AS ticket's flags (§3.1.3). */
export function asTicketFlags(body: KdcReqBody, renewable: boolean): number {
  const o = body.kdcOptions;
  return (
    (TICKET_FLAGS.initial |
      TICKET_FLAGS.preAuthent |
      (hasFlag(o, KDC_OPTIONS.forwardable) ? TICKET_FLAGS.forwardable : 0) |
      (hasFlag(o, KDC_OPTIONS.proxiable) ? TICKET_FLAGS.proxiable : 0) |
      (renewable ? TICKET_FLAGS.renewable : 0)) >>>
    0
  );
}

/** A TGS-REQ's ticket must not be INVALID (§3.3.3). */
export function checkTicketUsable(tgt: EncTicketPart): void {
  if (hasFlag(tgt.flags, TICKET_FLAGS.invalid))
    throw kdcError("KRB_AP_ERR_TKT_NYV", "ticket has the INVALID flag (not validated)");
}

/** A service ticket's (or new TGT's) flags from the TGT and the request's options (§3.3.3). */
export function tgsTicketFlags(
  body: KdcReqBody,
  tgt: EncTicketPart,
  renewable: boolean,
  toTgt: boolean,
): number {
  const o = body.kdcOptions;
  const t = tgt.flags;
  const want = (opt: number, need: number, flag: number) =>
    hasFlag(o, opt) && hasFlag(t, need) ? flag : 0;
  if (hasFlag(o, KDC_OPTIONS.forwarded) && !hasFlag(t, TICKET_FLAGS.forwardable))
    throw kdcError("KDC_ERR_BADOPTION", "FORWARDED asked with a TGT that is not FORWARDABLE");
  if (hasFlag(o, KDC_OPTIONS.proxy) && (!hasFlag(t, TICKET_FLAGS.proxiable) || toTgt))
    throw kdcError("KDC_ERR_BADOPTION", "PROXY asked with a non-PROXIABLE TGT, or for a TGT");
  return (
    ((t & TICKET_FLAGS.preAuthent) |
      want(KDC_OPTIONS.forwardable, TICKET_FLAGS.forwardable, TICKET_FLAGS.forwardable) |
      want(KDC_OPTIONS.proxiable, TICKET_FLAGS.proxiable, TICKET_FLAGS.proxiable) |
      (hasFlag(o, KDC_OPTIONS.forwarded) || hasFlag(t, TICKET_FLAGS.forwarded)
        ? TICKET_FLAGS.forwarded
        : 0) |
      (hasFlag(o, KDC_OPTIONS.proxy) ? TICKET_FLAGS.proxy : 0) |
      (renewable ? TICKET_FLAGS.renewable : 0)) >>>
    0
  );
}

/** FORWARDED / PROXY tickets carry the request's addresses (§3.3.3), others the TGT's. */
export function tgsTicketAddresses(body: KdcReqBody, tgt: EncTicketPart) {
  const o = body.kdcOptions;
  if (hasFlag(o, KDC_OPTIONS.forwarded) || hasFlag(o, KDC_OPTIONS.proxy)) return body.addresses;
  return tgt.caddr;
}
