/**
 * APOptions (RFC 4120 §5.5.1), as masks on the UInt32 form of KerberosFlags.
 *
 * ```
 * APOptions       ::= KerberosFlags
 *         -- reserved(0),
 *         -- use-session-key(1),
 *         -- mutual-required(2)
 * ```
 */
import { flagBit } from "./primitives.js";

export const AP_OPTIONS = {
  reserved: flagBit(0),
  useSessionKey: flagBit(1),
  mutualRequired: flagBit(2),
} as const;
