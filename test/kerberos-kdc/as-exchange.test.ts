/**
 * The AS exchange of our KDC core (RFC 4120 §3.1) with pre-authentication required, against
 * the in-memory database and a fixed clock.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeEtypeInfo2,
  decodeMethodData,
  KRB_ERROR_CODE as E,
  hasFlag,
  KDC_OPTIONS,
  PA_TYPE,
  TICKET_FLAGS,
} from "../../src/kerberos/messages/index.js";
import { KeyUsage } from "../../src/kerberos/crypto/index.js";
import { verifyPac } from "../../src/kerberos/pac/index.js";
import { ticketPacBytes } from "../../src/kerberos/kdc/ticket.js";
import {
  buildAsReq,
  expectCreds,
  expectError,
  openServiceTicket,
  principal,
  readReply,
} from "./client.js";
import { createTestRealm, DOMAIN_SID, REALM, T0 } from "./realm.js";

const alice = principal("alice");

describe("AS exchange (RFC 4120 §3.1)", () => {
  const r = createTestRealm();
  const aliceKey = { etype: 18, key: r.key("alice", "alice-pw", 18) };

  it("§3.1.1 / RFC 6113 §5.2: without pre-auth, PREAUTH_REQUIRED offering FAST, ETYPE-INFO2 in the client's order, AD salts", () => {
    const out = r.kdc.handle(
      buildAsReq({ realm: REALM, cname: alice, etypes: [17, 18, 23], nowMs: T0 }),
      "udp",
    );
    const err = expectError(out.reply!);
    assert.equal(err.errorCode, E.KDC_ERR_PREAUTH_REQUIRED);
    const md = decodeMethodData(err.eData!);
    assert.deepEqual(
      md.map((p) => p.padataType),
      [PA_TYPE.PA_FX_FAST, PA_TYPE.PA_ETYPE_INFO2, PA_TYPE.PA_ENC_TIMESTAMP],
    );
    assert.equal(md[0]!.padataValue.length, 0, "PA-FX-FAST advertised empty, as MIT and AD");
    const info = decodeEtypeInfo2(md[1]!.padataValue);
    assert.deepEqual(info, [
      { etype: 17, salt: "PKD.TESTalice" },
      { etype: 18, salt: "PKD.TESTalice" },
    ]);
  });

  it("MS-KILE §3.1.1.2: a machine account's salt is REALM host name . dns domain", () => {
    const out = r.kdc.handle(
      buildAsReq({ realm: REALM, cname: principal("WS01$"), etypes: [18], nowMs: T0 }),
      "udp",
    );
    const md = decodeMethodData(expectError(out.reply!).eData!);
    assert.deepEqual(decodeEtypeInfo2(md[1]!.padataValue), [
      { etype: 18, salt: "PKD.TESThostws01.pkd.test" },
    ]);
  });

  it("§3.1.2-3.1.3: with a valid PA-ENC-TIMESTAMP, a TGT with INITIAL and PRE-AUTHENT carrying a signed PAC", () => {
    const req = buildAsReq({
      realm: REALM,
      cname: alice,
      etypes: [18, 17],
      key: aliceKey,
      nowMs: T0,
    });
    const c = expectCreds(
      readReply(r.kdc.handle(req, "tcp").reply!, aliceKey, KeyUsage.AS_REP_ENC_PART),
    );
    assert.equal(c.enc.nonce, 12345);
    assert.ok(hasFlag(c.enc.flags, TICKET_FLAGS.initial));
    assert.ok(hasFlag(c.enc.flags, TICKET_FLAGS.preAuthent));
    assert.ok(hasFlag(c.enc.flags, TICKET_FLAGS.forwardable));
    assert.equal(
      c.enc.endtime.getTime(),
      T0 + 10 * 3600_000,
      "max_life 10 h caps the 24 h request",
    );
    assert.deepEqual(c.rep.cname, alice);
    const part = openServiceTicket(c.ticket, r.krbtgtKey);
    assert.deepEqual(part.key, c.enc.key);
    const k = { etype: 18, key: r.krbtgtKey };
    const pac = verifyPac(ticketPacBytes(part)!, k, k);
    assert.equal(pac.userSid, `${DOMAIN_SID}-1104`);
    assert.equal(pac.primaryGroupSid, `${DOMAIN_SID}-513`);
    assert.deepEqual(
      [...pac.groupSids].sort(),
      [`${DOMAIN_SID}-1105`, `${DOMAIN_SID}-513`, "S-1-18-1"].sort(),
    );
    assert.equal(pac.clientInfo?.name, "alice");
    assert.equal(pac.upnDnsInfo?.upn, "alice@pkd.test");
    assert.equal(pac.upnDnsInfo?.sid, `${DOMAIN_SID}-1104`);
    assert.equal(pac.logonInfo.logonDomainName, "PKD");
  });

  it("§3.1.3: a renewable TGT gets renew-till capped by max_renewable_life (7 d)", () => {
    const req = buildAsReq({
      realm: REALM,
      cname: alice,
      etypes: [18],
      key: aliceKey,
      nowMs: T0,
      kdcOptions: KDC_OPTIONS.renewable,
      rtimeMs: T0 + 30 * 86400_000,
    });
    const c = expectCreds(
      readReply(r.kdc.handle(req, "tcp").reply!, aliceKey, KeyUsage.AS_REP_ENC_PART),
    );
    assert.ok(hasFlag(c.enc.flags, TICKET_FLAGS.renewable));
    assert.equal(c.enc.renewTill?.getTime(), T0 + 7 * 86400_000);
  });

  it("§3.1.2: a wrong password is PREAUTH_FAILED", () => {
    const wrong = { etype: 18, key: r.key("alice", "not-alice-pw", 18) };
    const out = r.kdc.handle(
      buildAsReq({ realm: REALM, cname: alice, etypes: [18], key: wrong, nowMs: T0 }),
      "udp",
    );
    assert.equal(expectError(out.reply!).errorCode, E.KDC_ERR_PREAUTH_FAILED);
  });

  it("§1.5.2: a timestamp 10 minutes off is KRB_AP_ERR_SKEW", () => {
    const out = r.kdc.handle(
      buildAsReq({ realm: REALM, cname: alice, etypes: [18], key: aliceKey, nowMs: T0 - 600_000 }),
      "udp",
    );
    assert.equal(expectError(out.reply!).errorCode, E.KRB_AP_ERR_SKEW);
  });

  it("§7.5.9: unknown client C_PRINCIPAL_UNKNOWN, disabled CLIENT_REVOKED, unknown service S_PRINCIPAL_UNKNOWN", () => {
    const code = (req: Uint8Array) => expectError(r.kdc.handle(req, "udp").reply!).errorCode;
    assert.equal(
      code(buildAsReq({ realm: REALM, cname: principal("mallory"), etypes: [18], nowMs: T0 })),
      E.KDC_ERR_C_PRINCIPAL_UNKNOWN,
    );
    assert.equal(
      code(buildAsReq({ realm: REALM, cname: principal("bob"), etypes: [18], nowMs: T0 })),
      E.KDC_ERR_CLIENT_REVOKED,
    );
    assert.equal(
      code(
        buildAsReq({
          realm: REALM,
          cname: alice,
          sname: principal("host", "nowhere.pkd.test"),
          etypes: [18],
          key: aliceKey,
          nowMs: T0,
        }),
      ),
      E.KDC_ERR_S_PRINCIPAL_UNKNOWN,
    );
  });

  it("§7.5.9: only RC4 requested is ETYPE_NOSUPP", () => {
    const out = r.kdc.handle(
      buildAsReq({ realm: REALM, cname: alice, etypes: [23], nowMs: T0 }),
      "udp",
    );
    assert.equal(expectError(out.reply!).errorCode, E.KDC_ERR_ETYPE_NOSUPP);
  });

  it("§7.2.1: a UDP reply above the configured limit is KRB_ERR_RESPONSE_TOO_BIG; the same over TCP is an AS-REP", () => {
    const small = createTestRealm({ maxUdpReplyBytes: 300 });
    const key = { etype: 18, key: small.key("alice", "alice-pw", 18) };
    const req = buildAsReq({ realm: REALM, cname: alice, etypes: [18], key, nowMs: T0 });
    assert.equal(
      expectError(small.kdc.handle(req, "udp").reply!).errorCode,
      E.KRB_ERR_RESPONSE_TOO_BIG,
    );
    expectCreds(readReply(small.kdc.handle(req, "tcp").reply!, key, KeyUsage.AS_REP_ENC_PART));
    assert.equal(small.kdc.counters().errors.KRB_ERR_RESPONSE_TOO_BIG, 1);
  });
});
