/**
 * The TGS exchange of our KDC core (RFC 4120 §3.3): service tickets with the TGT's PAC,
 * renewal, S4U2Self (MS-SFU) with current groups, and the errors of §7.5.9.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getEnctype, KeyUsage } from "../../src/kerberos/crypto/index.js";
import { ticketPacBytes } from "../../src/kerberos/kdc/ticket.js";
import {
  AD_TYPE,
  type EncTicketPart,
  encodeAdIfRelevant,
  encodeEncTicketPart,
  KRB_ERROR_CODE as E,
  hasFlag,
  KDC_OPTIONS,
  TICKET_FLAGS,
  decodeTgsReq,
  encodePaPacRequest,
  encodeTgsReq,
  PA_TYPE,
} from "../../src/kerberos/messages/index.js";
import { checkClientInfo, findBuffer, verifyPac } from "../../src/kerberos/pac/index.js";
import {
  buildAsReq,
  buildTgsReq,
  type Creds,
  expectCreds,
  expectError,
  openServiceTicket,
  principal,
  readReply,
  type TgsReqInput,
} from "./client.js";
import { createTestRealm, DOMAIN_SID, REALM, T0, type TestRealm } from "./realm.js";

const alice = principal("alice");
const server1 = principal("host", "server1.pkd.test");
const sid = (rid: number) => `${DOMAIN_SID}-${rid}`;

function login(
  r: TestRealm,
  name: string,
  password: string,
  opts: { renewable?: boolean } = {},
): Creds {
  const key = { etype: 18, key: r.key(name, password, 18) };
  const req = buildAsReq({
    realm: REALM,
    cname: principal(name),
    etypes: [18, 17],
    key,
    nowMs: r.clock.now,
    ...(opts.renewable
      ? { kdcOptions: KDC_OPTIONS.renewable, rtimeMs: r.clock.now + 3 * 86400_000 }
      : {}),
  });
  return expectCreds(readReply(r.kdc.handle(req, "tcp").reply!, key, KeyUsage.AS_REP_ENC_PART));
}

function tgs(r: TestRealm, tgt: Creds, cname: string, over: Partial<TgsReqInput> = {}) {
  const req = buildTgsReq({
    realm: REALM,
    tgt,
    cname: principal(cname),
    sname: server1,
    etypes: [18, 17],
    nowMs: r.clock.now,
    ...over,
  });
  return readReply(
    r.kdc.handle(req, "tcp").reply!,
    over.subkey ?? tgt.sessionKey,
    over.subkey ? KeyUsage.TGS_REP_ENC_PART_SUBKEY : KeyUsage.TGS_REP_ENC_PART_SESSION_KEY,
  );
}

/** The EncTicketPart as the ticket signature covers it: PAC ad-data replaced by one zero byte. */
function zeroPacTicket(part: EncTicketPart): Uint8Array {
  return encodeEncTicketPart({
    ...part,
    authorizationData: [
      encodeAdIfRelevant([{ adType: AD_TYPE.AD_WIN2K_PAC, adData: Uint8Array.of(0) }]),
    ],
  });
}

function servicePac(r: TestRealm, c: Creds) {
  const serverKey = r.key("SERVER1$", "server1-pw", 18);
  const part = openServiceTicket(c.ticket, serverKey);
  const pac = verifyPac(
    ticketPacBytes(part)!,
    { etype: 18, key: serverKey },
    { etype: 18, key: r.krbtgtKey },
    { ticket: zeroPacTicket(part) },
  );
  return { part, pac };
}

describe("TGS exchange (RFC 4120 §3.3)", () => {
  it("§3.3.3: a service ticket for host/server1 carries the TGT's PAC, signed with the service and KDC keys and the ticket signature", () => {
    const r = createTestRealm();
    const tgt = login(r, "alice", "alice-pw");
    const c = expectCreds(tgs(r, tgt, "alice"));
    assert.deepEqual(c.rep.cname, alice);
    assert.deepEqual(c.ticket.sname, server1);
    const { part, pac } = servicePac(r, c);
    assert.deepEqual(part.cname, alice);
    assert.deepEqual(part.key, c.enc.key);
    assert.ok(hasFlag(part.flags, TICKET_FLAGS.preAuthent));
    assert.ok(!hasFlag(part.flags, TICKET_FLAGS.initial));
    assert.deepEqual(pac.verified, { server: true, kdc: true, extendedKdc: true, ticket: true });
    assert.ok(pac.groupSids.includes(sid(1105)));
  });

  it("MS-PAC §2.7: CLIENT_INFO names the ticket's client and its authtime, with a clock between whole seconds", () => {
    const r = createTestRealm();
    r.clock.now = T0 + 1234;
    const tgt = login(r, "alice", "alice-pw");
    const svc = expectCreds(tgs(r, tgt, "alice"));
    const { part, pac } = servicePac(r, svc);
    checkClientInfo(pac.pac, { name: "alice", authTimeMs: part.authtime.getTime() });
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    r.clock.now += 777;
    const s4u = servicePac(r, expectCreds(tgs(r, serverTgt, "SERVER1$", { forUser: alice })));
    checkClientInfo(s4u.pac.pac, { name: "alice", authTimeMs: s4u.part.authtime.getTime() });
  });

  it("§3.3.3: the reply is encrypted in the authenticator subkey when one is sent (key usage 9)", () => {
    const r = createTestRealm();
    const tgt = login(r, "alice", "alice-pw");
    const subkey = { etype: 18, key: getEnctype(18).generateKey() };
    const c = expectCreds(tgs(r, tgt, "alice", { subkey }));
    assert.deepEqual(c.ticket.sname, server1);
  });

  it("§3.3.3: the service ticket ends no later than the TGT", () => {
    const r = createTestRealm();
    const tgt = login(r, "alice", "alice-pw");
    r.clock.now += 3600_000;
    const c = expectCreds(tgs(r, tgt, "alice"));
    assert.equal(c.enc.endtime.getTime(), tgt.enc.endtime.getTime());
    assert.equal(c.enc.authtime.getTime(), tgt.enc.authtime.getTime());
  });

  it("§7.5.9: modified req-body MODIFIED, unknown service S_PRINCIPAL_UNKNOWN, expired TGT TKT_EXPIRED, tampered TGT BAD_INTEGRITY", () => {
    const r = createTestRealm();
    const tgt = login(r, "alice", "alice-pw");
    assert.equal(
      expectError(tgs(r, tgt, "alice", { badChecksum: true })).errorCode,
      E.KRB_AP_ERR_MODIFIED,
    );
    assert.equal(
      expectError(tgs(r, tgt, "alice", { sname: principal("host", "nowhere.pkd.test") })).errorCode,
      E.KDC_ERR_S_PRINCIPAL_UNKNOWN,
    );
    assert.equal(expectError(tgs(r, tgt, "bob")).errorCode, E.KRB_AP_ERR_BADMATCH);
    const cipher = Uint8Array.from(tgt.ticket.encPart.cipher);
    cipher[20]! ^= 0x40;
    const tampered = {
      ...tgt,
      ticket: { ...tgt.ticket, encPart: { ...tgt.ticket.encPart, cipher } },
    };
    assert.equal(expectError(tgs(r, tampered, "alice")).errorCode, E.KRB_AP_ERR_BAD_INTEGRITY);
    r.clock.now += 11 * 3600_000;
    assert.equal(expectError(tgs(r, tgt, "alice")).errorCode, E.KRB_AP_ERR_TKT_EXPIRED);
  });

  it("§1.5.2, §7.5.9: an authenticator 10 minutes off is SKEW; a TGT under an unknown krbtgt kvno is BADKEYVER", () => {
    const r = createTestRealm();
    const tgt = login(r, "alice", "alice-pw");
    assert.equal(
      expectError(tgs(r, tgt, "alice", { nowMs: r.clock.now - 600_000 })).errorCode,
      E.KRB_AP_ERR_SKEW,
    );
    const other = {
      ...tgt,
      ticket: { ...tgt.ticket, encPart: { ...tgt.ticket.encPart, kvno: 7 } },
    };
    assert.equal(expectError(tgs(r, other, "alice")).errorCode, E.KRB_AP_ERR_BADKEYVER);
  });

  it("max_life and max_renewable_life are configurable: 1 h tickets renewable for 2 h", () => {
    const r = createTestRealm({ maxLifeMs: 3600_000, maxRenewableLifeMs: 2 * 3600_000 });
    const tgt = login(r, "alice", "alice-pw", { renewable: true });
    assert.equal(tgt.enc.endtime.getTime(), T0 + 3600_000);
    assert.equal(tgt.enc.renewTill?.getTime(), T0 + 2 * 3600_000);
    const svc = expectCreds(
      tgs(r, tgt, "alice", { kdcOptions: KDC_OPTIONS.renewable, rtimeMs: T0 + 86400_000 }),
    );
    assert.equal(
      svc.enc.renewTill?.getTime(),
      T0 + 2 * 3600_000,
      "a service ticket cannot outlive the TGT's renew-till",
    );
    const none = createTestRealm({ maxRenewableLifeMs: 0 });
    const plain = login(none, "alice", "alice-pw", { renewable: true });
    assert.ok(!hasFlag(plain.enc.flags, TICKET_FLAGS.renewable));
  });

  it("MS-KILE §3.3.5.7: TGTs carry ATTRIBUTES_INFO and REQUESTER_SID, service tickets do not; a name now held by another account is TGT_REVOKED", () => {
    const r = createTestRealm();
    const tgt = login(r, "alice", "alice-pw");
    const k = { etype: 18, key: r.krbtgtKey };
    const tgtPac = verifyPac(ticketPacBytes(openServiceTicket(tgt.ticket, r.krbtgtKey))!, k, k);
    assert.deepEqual(findBuffer(tgtPac.pac, "requester-sid")?.value, sid(1104));
    // The test client sends no PA-PAC-REQUEST: PAC_WAS_GIVEN_IMPLICITLY (MS-PAC §2.14).
    assert.equal(findBuffer(tgtPac.pac, "attributes-info")?.value.flags, 2);
    const { pac } = servicePac(r, expectCreds(tgs(r, tgt, "alice")));
    assert.equal(findBuffer(pac.pac, "requester-sid"), undefined);
    assert.equal(findBuffer(pac.pac, "attributes-info"), undefined);
    // alice is deleted and the name given to a new account (another RID).
    r.db.put({ name: "alice", password: "new-alice-pw", rid: 1300 });
    assert.equal(expectError(tgs(r, tgt, "alice")).errorCode, E.KDC_ERR_TGT_REVOKED);
  });

  it("MS-PAC §2.8: a TGT whose PAC was altered (re-encrypted with the krbtgt key) is MODIFIED", () => {
    const r = createTestRealm();
    const tgt = login(r, "alice", "alice-pw");
    const part = openServiceTicket(tgt.ticket, r.krbtgtKey);
    const pac = Uint8Array.from(ticketPacBytes(part)!);
    pac[130]! ^= 0x01; // inside LOGON_INFO (7 buffers: the header is 8 + 7 * 16 = 120 bytes)
    const forged = encodeEncTicketPart({
      ...part,
      authorizationData: [encodeAdIfRelevant([{ adType: AD_TYPE.AD_WIN2K_PAC, adData: pac }])],
    });
    const cipher = getEnctype(18).encrypt(r.krbtgtKey, KeyUsage.KDC_REP_TICKET, forged);
    const bad = { ...tgt, ticket: { ...tgt.ticket, encPart: { ...tgt.ticket.encPart, cipher } } };
    assert.equal(expectError(tgs(r, bad, "alice")).errorCode, E.KRB_AP_ERR_MODIFIED);
  });

  it("§3.2.3: the same TGS-REQ again gets the same reply (retransmission); its authenticator in another request is KRB_AP_ERR_REPEAT", () => {
    const r = createTestRealm();
    const tgt = login(r, "alice", "alice-pw");
    const req = buildTgsReq({
      realm: REALM,
      tgt,
      cname: alice,
      sname: server1,
      etypes: [18],
      nowMs: r.clock.now,
    });
    const first = r.kdc.handle(req, "udp").reply!;
    expectCreds(readReply(first, tgt.sessionKey, KeyUsage.TGS_REP_ENC_PART_SESSION_KEY));
    assert.deepEqual(r.kdc.handle(req, "udp").reply, first);
    assert.equal(r.kdc.counters().lookasideHits, 1);
    const decoded = decodeTgsReq(req);
    const replayed = encodeTgsReq({
      ...decoded,
      padata: [
        ...decoded.padata!,
        {
          padataType: PA_TYPE.PA_PAC_REQUEST,
          padataValue: encodePaPacRequest({ includePac: true }),
        },
      ],
    });
    assert.equal(expectError(r.kdc.handle(replayed, "udp").reply!).errorCode, E.KRB_AP_ERR_REPEAT);
  });

  it("§3.3.3: a client disabled after its AS exchange is CLIENT_REVOKED at the TGS", () => {
    const r = createTestRealm();
    const tgt = login(r, "alice", "alice-pw");
    r.db.setEnabled("alice", false);
    assert.equal(expectError(tgs(r, tgt, "alice")).errorCode, E.KDC_ERR_CLIENT_REVOKED);
  });

  it("§3.3.3.1 RENEW: an expired renewable TGT is renewed up to renew-till, keeping its PAC; past renew-till TKT_EXPIRED", () => {
    const r = createTestRealm();
    const tgt = login(r, "alice", "alice-pw", { renewable: true });
    assert.equal(tgt.enc.renewTill?.getTime(), T0 + 3 * 86400_000);
    r.db.setGroups("alice", [1300]);
    r.clock.now = T0 + 11 * 3600_000;
    const renewed = expectCreds(
      tgs(r, tgt, "alice", { sname: principal("krbtgt", REALM), kdcOptions: KDC_OPTIONS.renew }),
    );
    assert.equal(renewed.enc.starttime?.getTime(), r.clock.now);
    assert.equal(renewed.enc.endtime.getTime(), r.clock.now + 10 * 3600_000);
    assert.equal(renewed.enc.authtime.getTime(), T0);
    assert.ok(hasFlag(renewed.enc.flags, TICKET_FLAGS.renewable));
    // The renewed TGT still carries the groups of the original AS exchange.
    const svc = expectCreds(tgs(r, renewed, "alice"));
    const { pac } = servicePac(r, svc);
    assert.ok(pac.groupSids.includes(sid(1105)));
    assert.ok(!pac.groupSids.includes(sid(1300)));
    r.clock.now = T0 + 3 * 86400_000 + 60_000;
    assert.equal(
      expectError(
        tgs(r, tgt, "alice", { sname: principal("krbtgt", REALM), kdcOptions: KDC_OPTIONS.renew }),
      ).errorCode,
      E.KRB_AP_ERR_TKT_EXPIRED,
    );
  });

  it("§3.3.3.1: RENEW of a ticket without RENEWABLE is BADOPTION", () => {
    const r = createTestRealm();
    const tgt = login(r, "alice", "alice-pw");
    const out = tgs(r, tgt, "alice", {
      sname: principal("krbtgt", REALM),
      kdcOptions: KDC_OPTIONS.renew,
    });
    assert.equal(expectError(out).errorCode, E.KDC_ERR_BADOPTION);
  });
});

describe("S4U2Self (MS-SFU §3.2.5.1.2): refreshing a client's groups", () => {
  it("after a group change, a TGS with the old TGT keeps the old groups; S4U2Self gives the current ones", () => {
    const r = createTestRealm();
    const aliceTgt = login(r, "alice", "alice-pw");
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    // The directory removes alice from 1105 ("trusted") and adds her to 1200.
    r.db.setGroups("alice", [1200]);

    const old = servicePac(r, expectCreds(tgs(r, aliceTgt, "alice"))).pac;
    assert.ok(old.groupSids.includes(sid(1105)), "old TGT: still trusted");
    assert.ok(!old.groupSids.includes(sid(1200)));

    const s4u = expectCreds(tgs(r, serverTgt, "SERVER1$", { forUser: alice }));
    assert.deepEqual(s4u.rep.cname, alice);
    const { part, pac } = servicePac(r, s4u);
    assert.deepEqual(part.cname, alice);
    assert.ok(!hasFlag(part.flags, TICKET_FLAGS.forwardable));
    assert.equal(pac.userSid, sid(1104));
    assert.ok(pac.groupSids.includes(sid(1200)), "S4U2Self: the current group");
    assert.ok(!pac.groupSids.includes(sid(1105)), "S4U2Self: the removed group is gone");
    assert.equal(pac.clientInfo?.name, "alice");
  });

  it("S4U2Self for a ticket to another service is BADOPTION; unknown user C_PRINCIPAL_UNKNOWN; disabled CLIENT_REVOKED", () => {
    const r = createTestRealm();
    const wsTgt = login(r, "WS01$", "ws01-pw");
    assert.equal(
      expectError(tgs(r, wsTgt, "WS01$", { forUser: alice })).errorCode,
      E.KDC_ERR_BADOPTION,
    );
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    assert.equal(
      expectError(tgs(r, serverTgt, "SERVER1$", { forUser: principal("mallory") })).errorCode,
      E.KDC_ERR_C_PRINCIPAL_UNKNOWN,
    );
    assert.equal(
      expectError(tgs(r, serverTgt, "SERVER1$", { forUser: principal("bob") })).errorCode,
      E.KDC_ERR_CLIENT_REVOKED,
    );
  });
});
