/**
 * Typed errors of the PAC layer (MS-PAC). A malformed PAC, a bad signature and a key that
 * does not fit the signature type are different failures with different KRB-ERROR codes.
 */
import { PosternError } from "../../errors.js";

export type PacErrorCode =
  | "pac-malformed" // does not decode: KRB_AP_ERR_MODIFIED (41)
  | "pac-missing-buffer" // a required buffer (LOGON_INFO, signatures) is absent
  | "pac-bad-signature" // a signature does not verify: KRB_AP_ERR_BAD_INTEGRITY (31)
  | "pac-key-mismatch" // the key's enctype does not fit the signature type
  | "pac-client-mismatch" // CLIENT_INFO does not name the ticket's client and authtime
  | "pac-unsupported-checksum"; // e.g. HMAC-MD5 (-138): KDC_ERR_SUMTYPE_NOSUPP (15)

const KRB_ERROR: Readonly<Record<PacErrorCode, number>> = {
  "pac-malformed": 41,
  "pac-missing-buffer": 41,
  "pac-bad-signature": 31,
  "pac-key-mismatch": 31,
  "pac-client-mismatch": 41,
  "pac-unsupported-checksum": 15,
};

export class PacError extends PosternError {
  override readonly code: PacErrorCode;
  readonly krbErrorCode: number;
  constructor(code: PacErrorCode, message: string) {
    super(code, message, 1);
    this.name = "PacError";
    this.code = code;
    this.krbErrorCode = KRB_ERROR[code];
  }
}
