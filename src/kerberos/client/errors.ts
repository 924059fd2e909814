/**
 * Typed errors of the Kerberos client. A KRB-ERROR from a KDC becomes a `KdcError` whose
 * message is one line: `KDC says: KDC_ERR_C_PRINCIPAL_UNKNOWN (6) for host/x@REALM: Client
 * not found in Kerberos database`. Everything else the client refuses is a
 * `KerberosClientError` naming what was wrong.
 */
import { PosternError } from "../../errors.js";
import { krbErrorName } from "../messages/error-codes.js";
import type { KrbError } from "../messages/krb-error.js";

export type ClientErrorCode =
  | "kdc-error" // the KDC answered with a KRB-ERROR
  | "kdc-reply-invalid" // a reply that does not match the request (nonce, names, message type)
  | "no-usable-key" // no key for any enctype the KDC offers
  | "wrong-password" // the AS-REP does not decrypt with the key we derived
  | "mutual-failed" // AP-REP does not match our authenticator
  | "no-credentials" // no TGT in the cache
  | "credentials-expired"; // the TGT in the cache has expired

export class KerberosClientError extends PosternError {
  override readonly code: ClientErrorCode;
  constructor(code: ClientErrorCode, message: string) {
    super(code, message);
    this.name = "KerberosClientError";
    this.code = code;
  }
}

const MEANING: Record<number, string> = {
  6: "Client not found in Kerberos database",
  7: "Server not found in Kerberos database",
  14: "KDC has no support for encryption type",
  18: "Client's credentials have been revoked",
  23: "Password has expired",
  24: "Pre-authentication failed (wrong password or key)",
  31: "Integrity check on decrypted field failed",
  32: "Ticket expired",
  37: "Clock skew too great",
  41: "Message stream modified",
  68: "Wrong realm",
};

/** The KDC refused: `errorCode` is the RFC 4120 §7.5.9 code, `krbError` the whole message. */
export class KdcError extends KerberosClientError {
  readonly errorCode: number;
  readonly krbError: KrbError;
  constructor(e: KrbError, about: string) {
    const meaning = MEANING[e.errorCode];
    const text = e.eText && e.eText !== meaning ? ` (${e.eText.replace(/\s+/g, " ").trim()})` : "";
    super(
      "kdc-error",
      `KDC says: ${krbErrorName(e.errorCode)} (${e.errorCode}) for ${about}${meaning ? `: ${meaning}` : ""}${text}`,
    );
    this.name = "KdcError";
    this.errorCode = e.errorCode;
    this.krbError = e;
  }
}
