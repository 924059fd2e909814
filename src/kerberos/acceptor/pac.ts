/**
 * The PAC in an accepted ticket (MS-KILE §3.4.5.3, MS-PAC §2.8): found in the ticket's
 * authorization-data (AD-IF-RELEVANT / AD-WIN2K-PAC), its server signature checked with the
 * service key, its KDC signature (and ticket signature, over the EncTicketPart with the PAC
 * replaced by one zero byte) when the KDC's key is known. LOGON_INFO, when present, gives
 * the user's and groups' SIDs; MIT's KDC issues PACs without it.
 */
import type { CryptoDeps } from "../crypto/index.js";
import {
  AD_TYPE,
  type AuthorizationDataEntry,
  decodeAdIfRelevant,
  encodeAdIfRelevant,
  findAuthorizationData,
} from "../messages/authorization-data.js";
import { type EncTicketPart, encodeEncTicketPart } from "../messages/enc-ticket-part.js";
import {
  type PacKey,
  type PacSignatureCheck,
  PacError,
  type VerifiedPac,
  verifiedPacOf,
  verifyPacSignatures,
  findBuffer,
} from "../pac/index.js";
import { AcceptorError } from "./errors.js";

export interface AcceptedPac {
  bytes: Uint8Array;
  verified: PacSignatureCheck["verified"];
  /** SIDs and names from LOGON_INFO (absent when the PAC has none, as MIT's). */
  identity?: VerifiedPac;
}

/** The EncTicketPart as the KDC signed it for signature 16: PAC ad-data = one zero byte. */
export function ticketWithZeroedPac(part: EncTicketPart): Uint8Array {
  const zero = (list: AuthorizationDataEntry[]): AuthorizationDataEntry[] =>
    list.map((e) => {
      if (e.adType === AD_TYPE.AD_WIN2K_PAC) return { adType: e.adType, adData: new Uint8Array(1) };
      if (e.adType === AD_TYPE.AD_IF_RELEVANT)
        return encodeAdIfRelevant(zero(decodeAdIfRelevant(e.adData)));
      return e;
    });
  return encodeEncTicketPart({ ...part, authorizationData: zero(part.authorizationData ?? []) });
}

/** Verifies the ticket's PAC, if any; throws AcceptorError "pac-invalid". */
export function acceptPac(
  part: EncTicketPart,
  serviceKey: PacKey,
  kdcKey: PacKey | undefined,
  crypto?: CryptoDeps,
): AcceptedPac | undefined {
  let found: Uint8Array[];
  try {
    found = findAuthorizationData(part.authorizationData ?? [], AD_TYPE.AD_WIN2K_PAC);
  } catch (e) {
    throw new AcceptorError("pac-invalid", `ticket authorization-data: ${(e as Error).message}`);
  }
  if (found.length === 0) return undefined;
  if (found.length > 1)
    throw new AcceptorError("pac-invalid", `ticket carries ${found.length} PACs`);
  const bytes = found[0]!;
  try {
    const opts = {
      ...(kdcKey ? { ticket: ticketWithZeroedPac(part) } : {}),
      ...(crypto ? { deps: crypto } : {}),
    };
    const check = verifyPacSignatures(bytes, serviceKey, kdcKey, opts);
    const out: AcceptedPac = { bytes, verified: check.verified };
    if (findBuffer(check.pac, "logon-info"))
      // The signatures were checked above: LOGON_INFO is read from that one decode.
      out.identity = verifiedPacOf(check);
    return out;
  } catch (e) {
    if (e instanceof PacError) {
      const integrity = e.code === "pac-bad-signature" || e.code === "pac-key-mismatch";
      throw new AcceptorError("pac-invalid", e.message, integrity ? 31 : undefined);
    }
    throw e;
  }
}
