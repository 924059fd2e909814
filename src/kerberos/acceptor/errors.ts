/**
 * Why an acceptor refused an AP-REQ. Each code maps to the KRB-ERROR code (RFC 4120
 * §7.5.9) the service sends back, and the message is one line naming what was wrong.
 */
import { PosternError } from "../../errors.js";
import { KRB_ERROR_CODE } from "../messages/error-codes.js";

export type AcceptorErrorCode =
  | "malformed" // not a DER AP-REQ
  | "not-us" // ticket for another service
  | "no-key" // no key for the ticket's principal/enctype
  | "bad-kvno" // no key with the ticket's kvno
  | "bad-integrity" // ticket or authenticator did not decrypt (wrong key, modified)
  | "bad-match" // authenticator client differs from the ticket's
  | "skew" // authenticator time outside the allowed skew
  | "replay" // authenticator seen before
  | "ticket-expired"
  | "ticket-not-yet-valid"
  | "unsupported" // user-to-user, unsupported enctype
  | "pac-invalid"; // PAC signature or structure refused

const KRB: Record<AcceptorErrorCode, number> = {
  malformed: KRB_ERROR_CODE.KRB_AP_ERR_MSG_TYPE,
  "not-us": KRB_ERROR_CODE.KRB_AP_ERR_NOT_US,
  "no-key": KRB_ERROR_CODE.KRB_AP_ERR_NOKEY,
  "bad-kvno": KRB_ERROR_CODE.KRB_AP_ERR_BADKEYVER,
  "bad-integrity": KRB_ERROR_CODE.KRB_AP_ERR_BAD_INTEGRITY,
  "bad-match": KRB_ERROR_CODE.KRB_AP_ERR_BADMATCH,
  skew: KRB_ERROR_CODE.KRB_AP_ERR_SKEW,
  replay: KRB_ERROR_CODE.KRB_AP_ERR_REPEAT,
  "ticket-expired": KRB_ERROR_CODE.KRB_AP_ERR_TKT_EXPIRED,
  "ticket-not-yet-valid": KRB_ERROR_CODE.KRB_AP_ERR_TKT_NYV,
  unsupported: KRB_ERROR_CODE.KRB_AP_ERR_METHOD,
  "pac-invalid": KRB_ERROR_CODE.KRB_AP_ERR_MODIFIED,
};

export class AcceptorError extends PosternError {
  override readonly code: AcceptorErrorCode;
  /** The RFC 4120 error-code for a KRB-ERROR back to the client. */
  readonly krbErrorCode: number;
  constructor(code: AcceptorErrorCode, message: string, krbErrorCode?: number) {
    super(code, message);
    this.name = "AcceptorError";
    this.code = code;
    this.krbErrorCode = krbErrorCode ?? KRB[code];
  }
}
