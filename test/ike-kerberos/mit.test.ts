/**
 * Kerberos-authenticated IKEv2 between two postern engines (in-process fake network) with
 * tickets from a real MIT krb5kdc: a throw-away realm on loopback (the realm helper of
 * test/kerberos-codec/mit-realm.ts), machine principals host/server1.bigfirm.test and
 * host/xp.bigfirm.test with keytabs from kadmin.local. The initiator logs in with its
 * keytab and gets the service ticket with our client; the responder accepts it with the
 * keytab kadmin.local exported and checks MIT's PAC signatures with the krbtgt key.
 *
 * MIT's PAC has no LOGON_INFO (no groups). For the group path, the last test uses a ticket
 * made in the test under server1's real MIT key with a PAC (LOGON_INFO with groups) signed
 * by signPac with that key and MIT's krbtgt key (test/ike-kerberos/tickets.ts). Our own KDC
 * issuing the groups is in our-kdc.test.ts.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { randomBytes } from "../../src/crypto/primitives.js";
import { bypassAuthorization } from "../../src/firewall/authorize.js";
import { defaultSettings } from "../../src/firewall/model.js";
import {
  createKerberosAuth,
  type ServiceTicket,
  serviceTicketOf,
} from "../../src/ike/kerberos-auth.js";
import type { Payload } from "../../src/ike/message.js";
import { createKerberosClient } from "../../src/kerberos/client/index.js";
import { kdcsOf, readKrb5Config } from "../../src/kerberos/config.js";
import { type Keytab, readKeytabFile } from "../../src/kerberos/files/keytab.js";
import { NAME_TYPE, parsePrincipal } from "../../src/kerberos/principal.js";
import { createKdcTransport, createNodeKdcIo } from "../../src/kerberos/transport.js";
import { B, settle } from "../ike/helpers.js";
import { createMitRealm, haveMit, type MitRealm } from "../kerberos-codec/mit-realm.js";
import { apReqOf, recording, replayer } from "./attacker.js";
import { krbPair } from "./setup.js";
import { makeServiceTicket } from "./tickets.js";

const SKIP = haveMit() ? false : "skipped: MIT Kerberos tools (krb5-kdc, krb5-user) missing";
const host = (h: string) => parsePrincipal(`host/${h}@MIT.TEST`, undefined, NAME_TYPE.NT_SRV_HST);
const SERVER1 = host("server1.bigfirm.test");
const XP = host("xp.bigfirm.test");
const DAY_MS = 24 * 3600_000;

describe("IKEv2 Kerberos AUTH with MIT krb5kdc tickets (RFC 7296 §2.15, RFC 4120 §3.2)", {
  skip: SKIP,
}, () => {
  let realm: MitRealm;
  let server1: Keytab;
  let stale: Keytab;
  let krbtgt: Keytab;
  const file = (n: string) => path.join(realm.dir, n);

  /** Our client: AS exchange with xp's keytab, TGS for the SPN; MIT's KDC answers. */
  async function ticketFor(spn: string, now = () => Date.now()): Promise<ServiceTicket> {
    const config = readKrb5Config(realm.env.KRB5_CONFIG);
    const kc = createKerberosClient({
      transport: createKdcTransport({
        io: createNodeKdcIo(),
        kdcsOf: (r) => kdcsOf(config, r),
        udpPreferenceLimit: 1465,
        timeoutMs: 5000,
      }),
      now,
      randomBytes,
    });
    const { tgt } = await kc.login({
      client: XP,
      keys: { kind: "keytab", keytab: readKeytabFile(file("xp.keytab")) },
    });
    const svc = parsePrincipal(`${spn}@MIT.TEST`, undefined, NAME_TYPE.NT_SRV_HST);
    return serviceTicketOf(await kc.getServiceTicket(tgt, svc));
  }

  const kdcKey = () => {
    const k = krbtgt.entries.find((e) => e.key.keytype === 18)!;
    return { etype: 18, key: k.key.keyvalue };
  };

  before(async () => {
    realm = await createMitRealm("pkr-ike");
    const kadmin = (q: string) => realm.ok("kadmin.local", ["-q", q]);
    kadmin("addprinc -randkey host/server1.bigfirm.test");
    kadmin("addprinc -randkey host/xp.bigfirm.test");
    // The stale keytab holds server1's key before the key change that follows it.
    kadmin(`ktadd -k ${file("stale.keytab")} host/server1.bigfirm.test`);
    kadmin(`ktadd -k ${file("server1.keytab")} host/server1.bigfirm.test`);
    kadmin(`ktadd -k ${file("xp.keytab")} host/xp.bigfirm.test`);
    kadmin(`ktadd -k ${file("krbtgt.keytab")} -norandkey krbtgt/MIT.TEST`);
    await realm.startKdc();
    server1 = readKeytabFile(file("server1.keytab"));
    stale = readKeytabFile(file("stale.keytab"));
    krbtgt = readKeytabFile(file("krbtgt.keytab"));
  });
  after(() => realm?.stop());

  it("IKE_SA_INIT + IKE_AUTH with an MIT service ticket: established, equal child SA keys, the client principal on the SA", async () => {
    const t = await ticketFor("host/server1.bigfirm.test");
    const { a, b } = krbPair({ getServiceTicket: () => t, keytab: server1, kdcKey: kdcKey() });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["established"], a.logs.join("\n"));
    assert.deepEqual(b.states, ["established"], b.logs.join("\n"));
    const [ca] = a.children;
    const [cb] = b.children;
    assert.ok(ca && cb);
    assert.deepEqual(ca.encrKeyOut, cb.encrKeyIn);
    assert.deepEqual(ca.encrKeyIn, cb.encrKeyOut);
    const id = b.engine.sas()[0]!.identity;
    assert.equal(id?.principal, "host/xp.bigfirm.test@MIT.TEST");
    assert.equal(id?.groupSids, undefined, "MIT's PAC carries no LOGON_INFO");
    assert.equal(a.engine.sas()[0]!.identity?.principal, "host/server1.bigfirm.test@MIT.TEST");
  });

  it("stale keytab on the responder (key changed since): AUTHENTICATION_FAILED naming the kvno", async () => {
    const t = await ticketFor("host/server1.bigfirm.test");
    const { a, b } = krbPair({ getServiceTicket: () => t, keytab: stale });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["closed"]);
    assert.equal(a.children.length + b.children.length, 0);
    assert.ok(
      b.logs.some((l) =>
        /AUTHENTICATION_FAILED: Kerberos AP-REQ from xp\.bigfirm\.test refused: keytab has no key of kvno \d+ .*KRB-ERROR 44/.test(
          l,
        ),
      ),
      b.logs.join("\n"),
    );
  });

  it("a ticket for another host is refused by server1: its keytab has no key for it (KDC_ERR_NOKEY 45)", async () => {
    const t = await ticketFor("host/xp.bigfirm.test");
    const { a, b } = krbPair({ getServiceTicket: () => t, keytab: server1 });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["closed"]);
    assert.ok(
      b.logs.some((l) => /refused: keytab has no .*host\/xp\.bigfirm\.test.*KRB-ERROR 45/.test(l)),
      b.logs.join("\n"),
    );
  });

  it("expired MIT ticket (both clocks two days on): KRB_AP_ERR_TKT_EXPIRED (32)", async () => {
    const t = await ticketFor("host/server1.bigfirm.test");
    const later = () => Date.now() + 2 * DAY_MS;
    const { a, b } = krbPair({ getServiceTicket: () => t, keytab: server1, now: later });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["closed"]);
    assert.ok(
      b.logs.some((l) => /refused: ticket expired at .*KRB-ERROR 32/.test(l)),
      b.logs.join("\n"),
    );
  });

  it("an MIT ticket's AP-REQ replayed into another IKE SA: replay (34) on the same server, binding on a fresh one", async () => {
    const t = await ticketFor("host/server1.bigfirm.test");
    const sent: Payload[][] = [];
    const honest = recording(
      createKerberosAuth({ initiator: { getServiceTicket: () => t, now: Date.now, randomBytes } }),
      sent,
    );
    const first = krbPair({ getServiceTicket: () => t, keytab: server1, initiatorAuth: honest });
    first.a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(first.b.states, ["established"], first.b.logs.join("\n"));
    const captured = apReqOf(sent);
    for (const replayCache of [first.replayCache, undefined]) {
      const again = krbPair({
        getServiceTicket: () => t,
        keytab: server1,
        ...(replayCache ? { replayCache } : {}),
        initiatorAuth: replayer(captured, t),
      });
      again.a.engine.initiate(`to-${B}`);
      await settle();
      assert.deepEqual(again.b.states, ["closed"]);
      const want = replayCache ? /already used \(replay\)/ : /not bound to this IKE SA/;
      assert.ok(
        again.b.logs.some((l) => want.test(l)),
        again.b.logs.join("\n"),
      );
    }
  });

  it("MS-PAC groups: a PAC-bearing ticket under server1's MIT key reaches bypassAuthorization", async () => {
    const svcKey = server1.entries.find((e) => e.key.keytype === 18)!;
    const domain = "S-1-5-21-41-42-43";
    const t = makeServiceTicket({
      client: XP,
      service: SERVER1,
      serviceKey: { etype: 18, key: svcKey.key.keyvalue, kvno: svcKey.kvno },
      pac: {
        kdcKey: { ...kdcKey(), kvno: 1 },
        domainSid: domain,
        userRid: 1107,
        groupRids: [1108],
      },
      startMs: Date.now() - 60_000,
      endMs: Date.now() + 3600_000,
    });
    const { a, b } = krbPair({ getServiceTicket: () => t, keytab: server1, kdcKey: kdcKey() });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(b.states, ["established"], b.logs.join("\n"));
    const id = b.engine.sas()[0]!.identity!;
    assert.equal(id.userSid, `${domain}-1107`);
    const settings = { ...defaultSettings(), bypass: [{ sid: `${domain}-1108`, name: "trusted" }] };
    assert.equal(
      bypassAuthorization(settings, [id.userSid!, ...(id.groupSids ?? [])]),
      `${domain}-1108`,
    );
  });
});
