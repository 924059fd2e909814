/**
 * What a TGS checks of a TGT's PAC and client, as Windows does since the November 2021
 * hardening (KB5008380; [MS-KILE] §3.3.5.7.1, §3.3.5.7.4; [MS-PAC] §2.14, §2.15), every
 * failure KDC_ERR_TGT_REVOKED as Windows answers it (Samba's kdc_tgs_tests, run against
 * Windows: `test_tgs_no_pac`, `test_tgs_req_no_requester_sid`,
 * `test_requester_sid_mismatch_*`):
 *
 *   - a TGT without a PAC;
 *   - a TGT without PAC_REQUESTER_SID, or whose REQUESTER_SID is not the SID of the account
 *     the client name resolves to now (deleted and re-created, renamed);
 *   - a client account that no longer exists.
 *
 * LOGON_INFO's SID is not compared: Windows accepts a TGT whose LOGON_INFO SID differs
 * while REQUESTER_SID matches (`test_logon_info_sid_mismatch_existing` expects success),
 * and a TGT without REQUESTER_SID is refused anyway. A client name that is an SPN
 * (several components, "host/ws01") is no client at all: KDC_ERR_C_PRINCIPAL_UNKNOWN
 * ([MS-KILE] §3.3.5.6.1: clients are looked up by sAMAccountName or UPN;
 * `test_user2user_tgt_cname_host`).
 *
 * PAC_ATTRIBUTES_INFO (MS-PAC §2.14) records the AS request's PA-PAC-REQUEST: true ->
 * PAC_WAS_REQUESTED, absent -> PAC_WAS_GIVEN_IMPLICITLY, false -> neither. The TGT always
 * carries the PAC; a service ticket from a TGT whose attributes say neither carries none
 * (`test_tgs_pac_request_false`); a TGT without ATTRIBUTES_INFO still yields a PAC
 * (`test_tgs_req_no_pac_attrs`).
 */
import {
  decodeAttributesInfo,
  PAC_TYPE,
  PAC_WAS_GIVEN_IMPLICITLY,
  PAC_WAS_REQUESTED,
  type Pac,
  sidFromBytes,
} from "../pac/index.js";
import type { PrincipalName } from "../principal.js";
import { decodePaPacRequest, findPaData, type KdcReq, PA_TYPE } from "../messages/index.js";
import type { PrincipalEntry } from "./database.js";
import { kdcError } from "./errors.js";

const raw = (pac: Pac, type: number) => {
  const b = pac.buffers.find((x) => x.kind === "raw" && x.type === type);
  return b?.kind === "raw" ? b.data : undefined;
};

/** An AS request's client name must be an account name, not an SPN. */
export function checkClientName(cname: PrincipalName): void {
  if (cname.nameString.length !== 1)
    throw kdcError(
      "KDC_ERR_C_PRINCIPAL_UNKNOWN",
      `client ${cname.nameString.join("/")} is a service name, not an account`,
    );
}

/** The TGT's client account now, or TGT_REVOKED / C_PRINCIPAL_UNKNOWN / CLIENT_REVOKED. */
export function checkTgtClient(
  cname: PrincipalName,
  client: PrincipalEntry | null,
  pac: Pac,
): PrincipalEntry {
  checkClientName(cname);
  const who = cname.nameString.join("/");
  if (!client) throw kdcError("KDC_ERR_TGT_REVOKED", `client ${who} no longer exists`);
  if (!client.enabled) throw kdcError("KDC_ERR_CLIENT_REVOKED", `client ${who} is disabled`);
  const requester = raw(pac, PAC_TYPE.REQUESTER_SID);
  if (!requester) throw kdcError("KDC_ERR_TGT_REVOKED", "TGT PAC has no PAC_REQUESTER_SID");
  if (sidFromBytes(requester).sid !== client.accountSid)
    throw kdcError("KDC_ERR_TGT_REVOKED", `TGT was issued to another account named ${who}`);
  return client;
}

/** PAC_ATTRIBUTES_INFO flags for an AS-REQ's PA-PAC-REQUEST (true, absent, false). */
export function pacAttributeFlags(req: KdcReq): number {
  const pa = findPaData(req.padata, PA_TYPE.PA_PAC_REQUEST);
  if (!pa) return PAC_WAS_GIVEN_IMPLICITLY;
  return decodePaPacRequest(pa.padataValue).includePac ? PAC_WAS_REQUESTED : 0;
}

/** Whether a ticket issued from a TGT with this PAC carries a PAC. */
export function pacWanted(pac: Pac): boolean {
  const attrs = raw(pac, PAC_TYPE.ATTRIBUTES_INFO);
  if (!attrs) return true;
  return (decodeAttributesInfo(attrs).flags & (PAC_WAS_REQUESTED | PAC_WAS_GIVEN_IMPLICITLY)) !== 0;
}
