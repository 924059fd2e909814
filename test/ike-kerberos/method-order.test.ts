/**
 * The rule's authentication methods in order (netsh "kerberos, rootca, psk"): the initiator
 * authenticates with the first one it can serve (IKEv2 uses one method per SA, RFC 7296
 * §2.15); the responder accepts any of the rule's usable methods, chosen by the AUTH method
 * number the initiator sent (PeerConfig.authAlternatives, filled by peerFromPolicy).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { randomBytes } from "../../src/crypto/primitives.js";
import { createPskAuth } from "../../src/ike/auth.js";
import { createKerberosAuth } from "../../src/ike/kerberos-auth.js";
import { peerFromPolicy } from "../../src/ike/policy.js";
import { selectorFromCidr } from "../../src/ike/selectors.js";
import { createReplayCache } from "../../src/kerberos/acceptor/index.js";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { NAME_TYPE, parsePrincipal } from "../../src/kerberos/principal.js";
import type { Policy, Rule } from "../../src/policy/model.js";
import { A, B, pair, settle } from "../ike/helpers.js";
import { makeServiceTicket } from "./tickets.js";

const NOW = Date.UTC(2026, 10, 27, 9, 0, 0);
const now = () => NOW;
const SERVER = parsePrincipal(
  "host/server1.bigfirm.test@BIGFIRM.TEST",
  undefined,
  NAME_TYPE.NT_SRV_HST,
);
const CLIENT = parsePrincipal("host/xp.bigfirm.test@BIGFIRM.TEST", undefined, NAME_TYPE.NT_SRV_HST);

function kerberos() {
  const svc = { etype: 18, key: getEnctype(18).generateKey(), kvno: 2 };
  const ticket = makeServiceTicket({
    client: CLIENT,
    service: SERVER,
    serviceKey: svc,
    startMs: NOW - 60_000,
    endMs: NOW + 3600_000,
  });
  return createKerberosAuth({
    initiator: { getServiceTicket: () => ticket, now, randomBytes },
    responder: {
      keytab: {
        entries: [
          { principal: SERVER, timestamp: 0, kvno: 2, key: { keytype: 18, keyvalue: svc.key } },
        ],
      },
      replayCache: createReplayCache({ now }),
      now,
      randomBytes,
    },
  });
}

const ids = {
  a: { localId: "fqdn:xp.bigfirm.test", remoteId: "fqdn:server1.bigfirm.test" },
  b: { localId: "fqdn:server1.bigfirm.test" },
};

describe("authentication method order of a rule (kerberos, psk)", () => {
  it("RFC 7296 §2.15: a responder whose rule lists kerberos then psk accepts a Kerberos initiator", async () => {
    const krb = kerberos();
    const { a, b } = pair(
      { ...ids.a, auth: krb },
      { ...ids.b, auth: krb, authAlternatives: [createPskAuth("sesame")] },
    );
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(b.states, ["established"], b.logs.join("\n"));
    assert.ok(b.logs.some((l) => l.includes("authenticated by kerberos")));
  });

  it("RFC 7296 §2.15: the same responder accepts an initiator that can only do the preshared key", async () => {
    const { a, b } = pair(
      { ...ids.a, auth: createPskAuth("sesame") },
      { ...ids.b, auth: kerberos(), authAlternatives: [createPskAuth("sesame")] },
    );
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["established"], a.logs.join("\n"));
    assert.deepEqual(b.states, ["established"], b.logs.join("\n"));
    assert.ok(b.logs.some((l) => l.includes("authenticated by psk")));
    assert.equal(
      b.engine.sas()[0]!.identity,
      null,
      "no Kerberos identity: no PAC SIDs to bypass with",
    );
  });

  it("peerFromPolicy: kerberos first when its provider is loaded, the rest as alternatives; a responder without them refuses psk", async () => {
    const rule = {
      id: 1,
      name: "Web",
      auth: [{ kind: "kerberos" }, { kind: "psk", key: "sesame" }],
      tunnel: null,
    } as unknown as Rule;
    const policy = { mmSecMethods: [], mmLifetimeMin: 480 } as unknown as Policy;
    const action = { name: "neg", action: "negotiate", qmSecMethods: [], qmPfs: false } as never;
    const ts = [selectorFromCidr(`${A}/32`)];
    const base = {
      name: "x",
      policy,
      rule,
      action,
      localAddress: A,
      remoteAddress: B,
      localTs: ts,
      remoteTs: ts,
    };
    const withKrb = peerFromPolicy({ ...base, providers: { kerberos: () => kerberos() } });
    assert.equal(withKrb.auth.name, "kerberos");
    assert.deepEqual(
      withKrb.authAlternatives?.map((p) => p.name),
      ["psk"],
    );
    const without = peerFromPolicy(base);
    assert.equal(without.auth.name, "psk");
    assert.deepEqual(without.authAlternatives, []);

    const { a, b } = pair(
      { ...ids.a, auth: createPskAuth("sesame") },
      { ...ids.b, auth: kerberos() },
    );
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["closed"]);
    assert.ok(
      b.logs.some((l) => l.includes("used AUTH method 2, we expect Kerberos (201)")),
      b.logs.join("\n"),
    );
  });
});
