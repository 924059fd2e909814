/**
 * PA-PAC-OPTIONS (MS-KILE §2.2.10, padata-type 167): what a client asks of the KDC about
 * the PAC; bit 3 asks for resource-based constrained delegation in an S4U2Proxy request
 * (MS-SFU §3.2.5.2). MIT's client and impacket's getST.py set it in every S4U2Proxy.
 *
 * ```
 * KERB-PA-PAC-OPTIONS ::= SEQUENCE {
 *         flags [0] PA-PAC-OPTIONS-FLAGS  -- KerberosFlags: claims(0), branch-aware(1),
 * }                                       -- forward-to-full-dc(2), resource-based-
 *                                         -- constrained-delegation(3)
 * ```
 */
import {
  decodeWith,
  derFields,
  derKerberosFlags,
  flagBit,
  readKerberosFlags,
  SequenceReader,
} from "./primitives.js";

export const PAC_OPTIONS = {
  claims: flagBit(0),
  branchAware: flagBit(1),
  forwardToFullDc: flagBit(2),
  resourceBasedConstrainedDelegation: flagBit(3),
} as const;

export function encodePaPacOptions(flags: number): Uint8Array {
  return derFields([[0, derKerberosFlags(flags)]]);
}

export function decodePaPacOptions(bytes: Uint8Array): number {
  return decodeWith(bytes, "PA-PAC-OPTIONS", (node) => {
    const r = new SequenceReader(node);
    const flags = r.req(0, "flags", readKerberosFlags);
    r.end();
    return flags;
  });
}
