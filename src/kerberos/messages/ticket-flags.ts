/**
 * TicketFlags (RFC 4120 §5.3), as masks on the UInt32 form of KerberosFlags.
 *
 * ```
 * TicketFlags     ::= KerberosFlags
 *         -- reserved(0),
 *         -- forwardable(1),
 *         -- forwarded(2),
 *         -- proxiable(3),
 *         -- proxy(4),
 *         -- may-postdate(5),
 *         -- postdated(6),
 *         -- invalid(7),
 *         -- renewable(8),
 *         -- initial(9),
 *         -- pre-authent(10),
 *         -- hw-authent(11),
 * -- the following are new since 1510
 *         -- transited-policy-checked(12),
 *         -- ok-as-delegate(13)
 * ```
 * RFC 6806 adds enc-pa-rep (15), RFC 6112 anonymous (16).
 */
import { flagBit } from "./primitives.js";

export const TICKET_FLAGS = {
  reserved: flagBit(0),
  forwardable: flagBit(1),
  forwarded: flagBit(2),
  proxiable: flagBit(3),
  proxy: flagBit(4),
  mayPostdate: flagBit(5),
  postdated: flagBit(6),
  invalid: flagBit(7),
  renewable: flagBit(8),
  initial: flagBit(9),
  preAuthent: flagBit(10),
  hwAuthent: flagBit(11),
  transitedPolicyChecked: flagBit(12),
  okAsDelegate: flagBit(13),
  encPaRep: flagBit(15),
  anonymous: flagBit(16),
} as const;
