/**
 * Two IKE engines (test/ike helpers: fake network, manual clock) authenticating with the
 * Kerberos AUTH method: "xp" initiates to "server1" (IKE ID fqdn:server1.bigfirm.test).
 */
import { randomBytes } from "../../src/crypto/primitives.js";
import type { AuthMethodProvider } from "../../src/ike/auth.js";
import {
  createKerberosAuth,
  type KerberosInitiatorConfig,
  type KerberosResponderConfig,
} from "../../src/ike/kerberos-auth.js";
import { createFakeNetwork } from "../../src/ike/transport.js";
import { createReplayCache } from "../../src/kerberos/acceptor/index.js";
import type { Keytab } from "../../src/kerberos/files/keytab.js";
import type { PacKey } from "../../src/kerberos/pac/index.js";
import { A, B, manualClock, peer, side } from "../ike/helpers.js";

export const SERVER_ID = "fqdn:server1.bigfirm.test";
export const CLIENT_ID = "fqdn:xp.bigfirm.test";

export interface KrbPairInput {
  getServiceTicket: KerberosInitiatorConfig["getServiceTicket"];
  keytab: Keytab;
  /** Wall clock of both hosts in ms (defaults to Date.now()). */
  now?: () => number;
  kdcKey?: PacKey;
  replayCache?: KerberosResponderConfig["replayCache"];
  /** Replace the initiator's provider (a replaying attacker). */
  initiatorAuth?: AuthMethodProvider;
}

export function krbPair(i: KrbPairInput) {
  const now = i.now ?? (() => Date.now());
  const net = createFakeNetwork();
  const clock = manualClock();
  const replayCache = i.replayCache ?? createReplayCache({ now });
  const initiatorAuth =
    i.initiatorAuth ??
    createKerberosAuth({ initiator: { getServiceTicket: i.getServiceTicket, now, randomBytes } });
  const responderAuth = createKerberosAuth({
    responder: {
      keytab: i.keytab,
      replayCache,
      now,
      randomBytes,
      ...(i.kdcKey ? { kdcKey: i.kdcKey } : {}),
    },
  });
  const a = side(net, clock, A, [
    peer({
      localAddress: A,
      remoteAddress: B,
      localId: CLIENT_ID,
      remoteId: SERVER_ID,
      auth: initiatorAuth,
    }),
  ]);
  const b = side(net, clock, B, [
    peer({ localAddress: B, remoteAddress: A, localId: SERVER_ID, auth: responderAuth }),
  ]);
  return { net, clock, a, b, replayCache };
}
