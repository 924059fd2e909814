/**
 * Kerberos as an IKEv2 AUTH method (docs/protocol/ikev2-kerberos.md) between two postern
 * engines on the in-process fake network. The tickets are made here with known keys and a
 * PAC whose LOGON_INFO carries groups, signed with src/kerberos/pac (signPac, buildLogonInfo)
 * by the service and KDC keys, so every field is under the test's control. Real KDCs: MIT's
 * in mit.test.ts (no LOGON_INFO), ours with groups in our-kdc.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { randomBytes } from "../../src/crypto/primitives.js";
import { bypassAuthorization } from "../../src/firewall/authorize.js";
import { defaultSettings } from "../../src/firewall/model.js";
import { createKerberosAuth } from "../../src/ike/kerberos-auth.js";
import type { Payload } from "../../src/ike/message.js";
import { createReplayCache } from "../../src/kerberos/acceptor/index.js";
import type { Keytab } from "../../src/kerberos/files/keytab.js";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { NAME_TYPE, parsePrincipal } from "../../src/kerberos/principal.js";
import { B, pair, settle } from "../ike/helpers.js";
import { apReqOf, recording, replayer } from "./attacker.js";
import { krbPair } from "./setup.js";
import { type Key, makeServiceTicket } from "./tickets.js";

const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);
const now = () => T0;
const DOMAIN = "S-1-5-21-1111-2222-3333";
const TRUSTED = `${DOMAIN}-1108`;
const SERVER = parsePrincipal(
  "host/server1.bigfirm.test@BIGFIRM.TEST",
  undefined,
  NAME_TYPE.NT_SRV_HST,
);
const CLIENT = parsePrincipal("host/xp.bigfirm.test@BIGFIRM.TEST", undefined, NAME_TYPE.NT_SRV_HST);

function key(etype = 18, kvno = 3): Key {
  return { etype, key: getEnctype(etype).generateKey(), kvno };
}
const keytabOf = (k: Key): Keytab => ({
  entries: [
    { principal: SERVER, timestamp: 0, kvno: k.kvno, key: { keytype: k.etype, keyvalue: k.key } },
  ],
});

function world(o: { endMs?: number } = {}) {
  const svc = key();
  const krbtgt = key();
  const ticket = makeServiceTicket({
    client: CLIENT,
    service: SERVER,
    serviceKey: svc,
    pac: { kdcKey: krbtgt, domainSid: DOMAIN, userRid: 1107, groupRids: [1108] },
    startMs: T0 - 60_000,
    endMs: o.endMs ?? T0 + 3600_000,
  });
  return { svc, krbtgt, ticket, keytab: keytabOf(svc) };
}

describe("IKEv2 Kerberos AUTH method (RFC 7296 §2.15 with an RFC 4120 AP-REQ)", () => {
  it("the ticket is asked for as IKE_SA_INIT leaves (prepare), once, and IKE_AUTH uses it", async () => {
    const w = world();
    const asked: string[] = [];
    let pair: ReturnType<typeof krbPair> | null = null;
    pair = krbPair({
      getServiceTicket: () => {
        // the state of the initiator's IKE SA when its ticket is asked for
        asked.push(pair?.a.engine.sas()[0]?.state ?? "none");
        return w.ticket;
      },
      keytab: w.keytab,
      now,
    });
    pair.a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(pair.a.states, ["established"], pair.a.logs.join("\n"));
    // Asked while IKE_SA_INIT's answer was still on its way, not after it: the PTR lookup
    // and the TGS exchange of a real member overlap the round trip.
    assert.deepEqual(asked, ["init-sent"]);
  });

  it("IKE_SA_INIT + IKE_AUTH: AP-REQ/AP-REP, equal child SA keys, the PAC's SIDs on the responder's IKE SA", async () => {
    const w = world();
    const { a, b } = krbPair({
      getServiceTicket: (spn) => {
        assert.equal(spn, "host/server1.bigfirm.test");
        return w.ticket;
      },
      keytab: w.keytab,
      kdcKey: { etype: w.krbtgt.etype, key: w.krbtgt.key },
      now,
    });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["established"], a.logs.join("\n"));
    assert.deepEqual(b.states, ["established"], b.logs.join("\n"));
    const [ca] = a.children;
    const [cb] = b.children;
    assert.ok(ca && cb);
    assert.deepEqual(ca.encrKeyOut, cb.encrKeyIn);
    assert.deepEqual(ca.encrKeyIn, cb.encrKeyOut);
    const seen = b.engine.sas()[0]!;
    assert.equal(seen.identity?.principal, "host/xp.bigfirm.test@BIGFIRM.TEST");
    assert.equal(seen.identity?.userSid, `${DOMAIN}-1107`);
    assert.ok(seen.identity?.groupSids?.includes(TRUSTED), seen.identity?.groupSids?.join(" "));
    assert.equal(a.engine.sas()[0]!.identity?.principal, "host/server1.bigfirm.test@BIGFIRM.TEST");
    assert.ok(b.logs.some((l) => l.includes("authenticated by kerberos as host/xp.bigfirm.test")));
    // The agent's decision: the PAC's SIDs against the firewall's bypass list.
    const settings = { ...defaultSettings(), bypass: [{ sid: TRUSTED, name: "trusted" }] };
    const sids = [seen.identity!.userSid!, ...seen.identity!.groupSids!];
    assert.equal(bypassAuthorization(settings, sids), TRUSTED);
    assert.equal(
      bypassAuthorization({ ...settings, bypass: [{ sid: `${DOMAIN}-9999` }] }, sids),
      null,
    );
  });

  it("wrong keytab on the responder: AUTHENTICATION_FAILED on both sides, one clear log line", async () => {
    const w = world();
    const { a, b } = krbPair({ getServiceTicket: () => w.ticket, keytab: keytabOf(key()), now });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["closed"]);
    assert.equal(a.children.length + b.children.length, 0);
    const line = b.logs.find((l) => l.includes("AUTHENTICATION_FAILED"));
    assert.match(
      line ?? "",
      /Kerberos AP-REQ from xp\.bigfirm\.test refused: ticket does not decrypt.*wrong key.*KRB-ERROR 31/,
    );
    assert.ok(a.logs.some((l) => /AUTHENTICATION_FAILED: the peer rejected our kerberos/.test(l)));
  });

  it("expired ticket: refused with KRB_AP_ERR_TKT_EXPIRED (32)", async () => {
    const w = world({ endMs: T0 - 3600_000 });
    const { a, b } = krbPair({ getServiceTicket: () => w.ticket, keytab: w.keytab, now });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["closed"]);
    assert.ok(
      b.logs.some((l) => /refused: ticket expired at .*KRB-ERROR 32/.test(l)),
      b.logs.join("\n"),
    );
  });

  it("an AP-REQ replayed into another IKE SA is refused: replay cache (34), and the binding without it", async () => {
    const w = world();
    const sent: Payload[][] = [];
    const honest = recording(
      createKerberosAuth({ initiator: { getServiceTicket: () => w.ticket, now, randomBytes } }),
      sent,
    );
    const first = krbPair({
      getServiceTicket: () => w.ticket,
      keytab: w.keytab,
      now,
      initiatorAuth: honest,
    });
    first.a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(first.b.states, ["established"]);
    const captured = apReqOf(sent);

    // Into a new IKE SA with the same server (same replay cache).
    const same = krbPair({
      getServiceTicket: () => w.ticket,
      keytab: w.keytab,
      now,
      replayCache: first.replayCache,
      initiatorAuth: replayer(captured, w.ticket),
    });
    same.a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(same.b.states, ["closed"]);
    assert.ok(
      same.b.logs.some((l) => /already used \(replay\).*KRB-ERROR 34/.test(l)),
      same.b.logs.join("\n"),
    );

    // Into a server with a fresh replay cache (restarted, or another host with the keytab).
    const fresh = krbPair({
      getServiceTicket: () => w.ticket,
      keytab: w.keytab,
      now,
      replayCache: createReplayCache({ now }),
      initiatorAuth: replayer(captured, w.ticket),
    });
    fresh.a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(fresh.b.states, ["closed"]);
    assert.equal(fresh.b.children.length, 0);
    assert.ok(
      fresh.b.logs.some((l) =>
        l.includes("is not bound to this IKE SA (authenticator checksum differs)"),
      ),
      fresh.b.logs.join("\n"),
    );
  });

  it("RFC 7296 §2.15: a responder expecting a preshared key refuses the Kerberos method (201)", async () => {
    const w = world();
    const { a, b } = pair(
      {
        localId: "fqdn:xp.bigfirm.test",
        remoteId: "fqdn:server1.bigfirm.test",
        auth: createKerberosAuth({
          initiator: { getServiceTicket: () => w.ticket, now, randomBytes },
        }),
      },
      { localId: "fqdn:server1.bigfirm.test" },
    );
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["closed"]);
    assert.ok(
      b.logs.some((l) => l.includes("used AUTH method 201, we expect shared key (2)")),
      b.logs.join("\n"),
    );
  });
});
