/**
 * Wire numbers and the IKE SA binding of postern's Kerberos AUTH method
 * (docs/protocol/ikev2-kerberos.md).
 *
 *   AUTH method 201 (RFC 7296 §3.8: 201-255 private use)
 *   Notify 45216 KERBEROS_AP_REQ (initiator -> responder, in IKE_AUTH, before AUTH)
 *   Notify 45217 KERBEROS_AP_REP (responder -> initiator, in IKE_AUTH, before AUTH)
 *   (RFC 7296 §3.10.1: 40960-65535 are private-use status types; a peer that does not
 *   know them ignores them. 40960-40970 are avoided: strongSwan uses them.)
 *
 * Binding: the AP-REQ's authenticator checksum (RFC 4120 §5.5.1 `cksum`, application
 * defined) is
 *
 *   cksumtype 0x8f50 ("postern IKE binding"), checksum =
 *     SHA-256("postern IKEv2 Kerberos binding v1" | 0x00 | SPIi | SPIr | InitiatorSignedOctets)
 *
 * InitiatorSignedOctets (RFC 7296 §2.15) = RealMessage1 | Nr | prf(SK_pi, IDi'): the
 * initiator's whole IKE_SA_INIT message (SPIi, KEi, Ni, proposals), the responder's nonce,
 * and a MAC under SK_pi, which only the two ends of this Diffie-Hellman exchange can
 * compute. The authenticator is encrypted in the ticket's session key, so nobody can move
 * an AP-REQ into another IKE SA without the binding failing.
 */
import { hash } from "../crypto/primitives.js";

export const KERBEROS_AUTH_METHOD = 201;
export const NOTIFY_KERBEROS_AP_REQ = 45216;
export const NOTIFY_KERBEROS_AP_REP = 45217;
export const BINDING_CKSUMTYPE = 0x8f50;

const LABEL = Buffer.from("postern IKEv2 Kerberos binding v1\0", "latin1");

/** The 32-byte binding value both sides compute from the initiator's <SignedOctets>. */
export function ikeSaBinding(
  spiI: Uint8Array,
  spiR: Uint8Array,
  initiatorSignedOctets: readonly Uint8Array[],
): Buffer {
  return hash("sha256", Buffer.concat([LABEL, spiI, spiR, ...initiatorSignedOctets]));
}
