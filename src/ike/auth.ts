/**
 * The authentication-method plug point (RFC 7296 §2.15). IKE_AUTH asks the peer's
 * configured provider to build our AUTH payload and to verify the peer's. Preshared keys
 * are here; certificates and Kerberos (DESIGN decision 3: a private-use AUTH method whose
 * AP-REQ travels in `extra` payloads) plug in through the same interface.
 */
import { equalConstantTime } from "../crypto/primitives.js";
import { AuthMethodId } from "./constants.js";
import { sharedKeyAuth } from "./crypto.js";
import type { Payload } from "./message.js";
import type { AuthPayload } from "./payloads/auth.js";
import type { PrfInfo } from "./transforms.js";

export interface AuthContext {
  role: "initiator" | "responder";
  prf: PrfInfo;
  /** <SignedOctets> of the side whose AUTH is built or verified (§2.15). */
  signedOctets: readonly Buffer[];
  localId: string;
  peerId: string;
  spiI: Buffer;
  spiR: Buffer;
  /** One object per IKE SA, the same in buildAuth and verifyAuth: providers that carry
   * state from one to the other (Kerberos: the AP-REQ subkey) key a WeakMap with it. */
  session: object;
}

/** Who the peer proved to be, beyond its IKE ID (Kerberos: principal and PAC SIDs). */
export interface PeerIdentity {
  method: string;
  /** "host/xp.bigfirm.test@BIGFIRM.TEST", a certificate subject... */
  principal: string;
  /** From a verified PAC (absent when the ticket had none or no LOGON_INFO). */
  userSid?: string;
  groupSids?: string[];
  /** Kerberos: when the KDC first authenticated the client (the ticket's authtime, ISO). */
  authTime?: string;
}

export type AuthVerdict = { ok: true; identity?: PeerIdentity } | { ok: false; reason: string };

export interface AuthMethodProvider {
  /** Name for logs: "psk", "kerberos", "rootca". */
  readonly name: string;
  /** AUTH payload method number (RFC 7296 §3.8, or private use 201-255). */
  readonly method: number;
  /** Our AUTH data, and payloads to send before it (CERT, a Kerberos AP-REQ...). */
  buildAuth(
    ctx: AuthContext,
  ): Promise<{ data: Buffer; extra?: Payload[] }> | { data: Buffer; extra?: Payload[] };
  /**
   * Called as the initiator sends IKE_SA_INIT to `peerId` (the name buildAuth will get):
   * work buildAuth will need that does not depend on the exchange (a Kerberos ticket and
   * the peer's name from DNS) can start now and overlap the round trip.
   */
  prepare?(peerId: string): void;
  /** Checks the peer's AUTH payload; `received` is the whole decrypted message. */
  verifyAuth(
    ctx: AuthContext,
    auth: AuthPayload,
    received: readonly Payload[],
  ): Promise<AuthVerdict> | AuthVerdict;
}

/** Shared Key Message Integrity Code (method 2) with one secret for both directions. */
export function createPskAuth(secret: string | Uint8Array): AuthMethodProvider {
  const key = typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret);
  return {
    name: "psk",
    method: AuthMethodId.SHARED_KEY_MIC,
    buildAuth: (ctx) => ({ data: sharedKeyAuth(ctx.prf, key, ctx.signedOctets) }),
    verifyAuth: (ctx, auth) => {
      if (auth.method !== AuthMethodId.SHARED_KEY_MIC) {
        return {
          ok: false,
          reason: `peer used AUTH method ${auth.method}, we expect shared key (2)`,
        };
      }
      const want = sharedKeyAuth(ctx.prf, key, ctx.signedOctets);
      return equalConstantTime(auth.data, want)
        ? { ok: true }
        : {
            ok: false,
            reason: `shared-key AUTH from ${ctx.peerId} does not verify: the preshared keys differ`,
          };
    },
  };
}
