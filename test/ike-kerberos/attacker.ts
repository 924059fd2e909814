/**
 * An eavesdropper and a replaying attacker for the binding tests: `recording` keeps the
 * payloads an honest provider sends; `replayer` sends a captured AP-REQ in its own IKE SA.
 */
import assert from "node:assert/strict";
import type { AuthMethodProvider } from "../../src/ike/auth.js";
import { sharedKeyAuth } from "../../src/ike/crypto.js";
import type { ServiceTicket } from "../../src/ike/kerberos-auth.js";
import { KERBEROS_AUTH_METHOD, NOTIFY_KERBEROS_AP_REQ } from "../../src/ike/kerberos-binding.js";
import type { Payload } from "../../src/ike/message.js";
import { getEnctype, KeyUsage } from "../../src/kerberos/crypto/index.js";
import { decodeApReq, decodeAuthenticator } from "../../src/kerberos/messages/index.js";

/** Records the payloads a provider sends (what an eavesdropper on the SA would need). */
export function recording(inner: AuthMethodProvider, sent: Payload[][]): AuthMethodProvider {
  return {
    ...inner,
    buildAuth: async (ctx) => {
      const out = await inner.buildAuth(ctx);
      sent.push(out.extra ?? []);
      return out;
    },
  };
}

/**
 * An attacker replaying a captured AP-REQ into its own IKE SA. It is even given the
 * AP-REQ's subkey (decrypted with the session key), so only the binding can stop it.
 */
export function replayer(apReq: Buffer, t: ServiceTicket): AuthMethodProvider {
  const ap = decodeApReq(apReq);
  const auth = decodeAuthenticator(
    getEnctype(t.sessionKey.keytype).decrypt(
      t.sessionKey.keyvalue,
      KeyUsage.AP_REQ_AUTH,
      ap.authenticator.cipher,
    ),
  );
  const subkey = auth.subkey!.keyvalue;
  return {
    name: "kerberos",
    method: KERBEROS_AUTH_METHOD,
    buildAuth: (ctx) => ({
      data: sharedKeyAuth(ctx.prf, subkey, ctx.signedOctets),
      extra: [
        {
          type: "N",
          protocolId: 0,
          spi: Buffer.alloc(0),
          notifyType: NOTIFY_KERBEROS_AP_REQ,
          data: apReq,
        },
      ],
    }),
    verifyAuth: () => ({ ok: true }),
  };
}

export function apReqOf(sent: Payload[][]): Buffer {
  const n = sent.flat().find((p) => p.type === "N" && p.notifyType === NOTIFY_KERBEROS_AP_REQ);
  assert.ok(n?.type === "N", "the initiator sent a KERBEROS_AP_REQ notify");
  return n.data;
}
