/**
 * Typed errors of the Kerberos crypto layer (RFC 3961 framework). Each code maps to the
 * KRB-ERROR code a KDC or acceptor sends back (RFC 4120 §7.5.9), so callers never guess.
 */
import { PosternError } from "../../errors.js";

export type KerberosCryptoCode =
  | "integrity" // MAC did not verify: KRB_AP_ERR_BAD_INTEGRITY
  | "unsupported-enctype" // KDC_ERR_ETYPE_NOSUPP
  | "unsupported-checksum" // KDC_ERR_SUMTYPE_NOSUPP
  | "bad-key" // key of the wrong length for its enctype
  | "bad-length" // ciphertext too short to hold confounder and MAC
  | "bad-params"; // s2kparams malformed or out of range

/** RFC 4120 §7.5.9 error codes for each crypto failure. */
export const KRB_ERROR_FOR: Readonly<Record<KerberosCryptoCode, number>> = {
  integrity: 31, // KRB_AP_ERR_BAD_INTEGRITY
  "unsupported-enctype": 14, // KDC_ERR_ETYPE_NOSUPP
  "unsupported-checksum": 15, // KDC_ERR_SUMTYPE_NOSUPP
  "bad-key": 31,
  "bad-length": 31,
  "bad-params": 14,
};

export class KerberosCryptoError extends PosternError {
  override readonly code: KerberosCryptoCode;
  /** The KRB-ERROR error-code a peer should receive for this failure. */
  readonly krbErrorCode: number;
  constructor(code: KerberosCryptoCode, message: string) {
    super(code, message, 1);
    this.name = "KerberosCryptoError";
    this.code = code;
    this.krbErrorCode = KRB_ERROR_FOR[code];
  }
}
