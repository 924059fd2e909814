/**
 * KDCOptions (RFC 4120 §5.4.1), as masks on the UInt32 form of KerberosFlags (flag 0 is
 * the most significant bit; see primitives.ts).
 *
 * ```
 * KDCOptions      ::= KerberosFlags
 *         -- reserved(0),
 *         -- forwardable(1),
 *         -- forwarded(2),
 *         -- proxiable(3),
 *         -- proxy(4),
 *         -- allow-postdate(5),
 *         -- postdated(6),
 *         -- unused7(7),
 *         -- renewable(8),
 *         -- unused9(9),
 *         -- unused10(10),
 *         -- opt-hardware-auth(11),
 *         -- unused12(12),
 *         -- unused13(13),
 * -- 15 is reserved for canonicalize
 *         -- unused15(15),
 * -- 26 was unused in 1510
 *         -- disable-transited-check(26),
 * --
 *         -- renewable-ok(27),
 *         -- enc-tkt-in-skey(28),
 *         -- renew(30),
 *         -- validate(31)
 * ```
 * MS-SFU adds cname-in-addl-tkt (14) for S4U2Proxy; RFC 6806 names 15 canonicalize.
 */
import { flagBit } from "./primitives.js";

export const KDC_OPTIONS = {
  reserved: flagBit(0),
  forwardable: flagBit(1),
  forwarded: flagBit(2),
  proxiable: flagBit(3),
  proxy: flagBit(4),
  allowPostdate: flagBit(5),
  postdated: flagBit(6),
  renewable: flagBit(8),
  optHardwareAuth: flagBit(11),
  cnameInAddlTkt: flagBit(14),
  canonicalize: flagBit(15),
  requestAnonymous: flagBit(16),
  disableTransitedCheck: flagBit(26),
  renewableOk: flagBit(27),
  encTktInSkey: flagBit(28),
  renew: flagBit(30),
  validate: flagBit(31),
} as const;
