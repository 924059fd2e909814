/**
 * LDAP errors: the server's resultCode (RFC 4511 §4.1.9, Appendix A) with a one-line
 * message. Codes of our own making use the RFC's meanings: 2 protocolError for bytes that do
 * not decode, 49 invalidCredentials for a refused login; local conditions (connection lost,
 * timeout, cannot connect, a filter that does not parse) use OpenLDAP's C API numbers 81,
 * 85, 91 and 87.
 */
import { PosternError } from "../errors.js";

/** The RFC 4511 result codes this client names; others print as their number. */
export const RESULT_CODE: Record<number, string> = {
  0: "success",
  1: "operationsError",
  2: "protocolError",
  3: "timeLimitExceeded",
  4: "sizeLimitExceeded",
  7: "authMethodNotSupported",
  8: "strongerAuthRequired",
  10: "referral",
  11: "adminLimitExceeded",
  12: "unavailableCriticalExtension",
  13: "confidentialityRequired",
  14: "saslBindInProgress",
  16: "noSuchAttribute",
  17: "undefinedAttributeType",
  19: "constraintViolation",
  20: "attributeOrValueExists",
  21: "invalidAttributeSyntax",
  32: "noSuchObject",
  34: "invalidDNSyntax",
  49: "invalidCredentials",
  50: "insufficientAccessRights",
  51: "busy",
  52: "unavailable",
  53: "unwillingToPerform",
  64: "namingViolation",
  65: "objectClassViolation",
  66: "notAllowedOnNonLeaf",
  67: "notAllowedOnRDN",
  68: "entryAlreadyExists",
  69: "objectClassModsProhibited",
  80: "other",
  81: "serverDown",
  85: "timeout",
  87: "filterError",
  91: "connectError",
};

/** Local conditions, numbered as OpenLDAP's C API numbers them (not sent on the wire). */
export const LOCAL_CODE = {
  serverDown: 81,
  timeout: 85,
  filterError: 87,
  connectError: 91,
} as const;

export class LdapError extends PosternError {
  readonly resultCode: number;
  constructor(resultCode: number, message: string) {
    super("ldap", message.replace(/\s*\n\s*/g, " "));
    this.name = "LdapError";
    this.resultCode = resultCode;
  }
}

/** `noSuchObject (32)`. */
export function resultName(code: number): string {
  return `${RESULT_CODE[code] ?? "result"} (${code})`;
}
