/**
 * Conformance of the exchanges AD adds to the plain TGS (issue 20, item 4): user-to-user
 * (RFC 4120 ENC-TKT-IN-SKEY), S4U2Self's FORWARDABLE flag and S4U2Proxy (MS-SFU
 * constrained delegation). Each case says what Windows does (MS-SFU, RFC 4120 and the
 * codes Samba's python/samba/tests/krb5 kdc_tgs_tests / s4u_tests record for Windows) and
 * checks ours on the pure core; replies are also decoded by impacket's pyasn1 classes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { getEnctype, KeyUsage } from "../../src/kerberos/crypto/index.js";
import { ticketPacBytes } from "../../src/kerberos/kdc/ticket.js";
import {
  decodeEncTicketPart,
  encodeEncTicketPart,
  hasFlag,
  KDC_OPTIONS,
  KRB_ERROR_CODE as E,
  PAC_OPTIONS,
  type Ticket,
  TICKET_FLAGS,
} from "../../src/kerberos/messages/index.js";
import { decodeDelegationInfo } from "../../src/kerberos/pac/delegation-info.js";
import { verifyPac } from "../../src/kerberos/pac/index.js";
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
import { createTestRealm, DOMAIN_SID, REALM, type TestRealm } from "./realm.js";

const alice = principal("alice");
const sid = (rid: number) => `${DOMAIN_SID}-${rid}`;

function login(r: TestRealm, name: string, password: string): Creds {
  const key = { etype: 18, key: r.key(name, password, 18) };
  const req = buildAsReq({
    realm: REALM,
    cname: principal(name),
    etypes: [18, 17],
    key,
    nowMs: r.clock.now,
    kdcOptions: KDC_OPTIONS.forwardable,
  });
  return expectCreds(readReply(r.kdc.handle(req, "tcp").reply!, key, KeyUsage.AS_REP_ENC_PART));
}

function tgsBytes(r: TestRealm, tgt: Creds, cname: string, over: Partial<TgsReqInput>) {
  return r.kdc.handle(
    buildTgsReq({
      realm: REALM,
      tgt,
      cname: principal(cname),
      sname: principal("SERVER1$"),
      etypes: [18, 17],
      nowMs: r.clock.now,
      ...over,
    }),
    "tcp",
  ).reply!;
}

function tgs(r: TestRealm, tgt: Creds, cname: string, over: Partial<TgsReqInput> = {}) {
  return readReply(
    tgsBytes(r, tgt, cname, over),
    tgt.sessionKey,
    KeyUsage.TGS_REP_ENC_PART_SESSION_KEY,
  );
}

/** SERVER1$ with delegation settings, same keys as createTestRealm's. */
function delegating(r: TestRealm, opts: { to?: string[]; trusted?: boolean }) {
  r.db.put({
    name: "SERVER1$",
    password: "server1-pw",
    rid: 1107,
    aliases: ["host/server1.pkd.test"],
    ...(opts.to ? { allowedToDelegateTo: opts.to } : {}),
    ...(opts.trusted ? { trustedToAuthForDelegation: true } : {}),
  });
}

/**
 * impacket's view of a TGS-REP (an independent ASN.1 decoder): decodes the reply, the
 * enc-part with `replyKey`, and the ticket with `ticketKey`; prints what a client checks.
 */
const IMPACKET_DECODE = `
import sys, json
from pyasn1.codec.der import decoder
from impacket.krb5.asn1 import TGS_REP, EncTGSRepPart, EncTicketPart
from impacket.krb5.crypto import Key, _enctype_table
rep_hex, reply_key_hex, ticket_key_hex, usage = sys.argv[1:5]
rep = decoder.decode(bytes.fromhex(rep_hex), asn1Spec=TGS_REP())[0]
enc = rep['enc-part']
cipher = _enctype_table[int(enc['etype'])]
plain = cipher.decrypt(Key(int(enc['etype']), bytes.fromhex(reply_key_hex)), int(usage), bytes(enc['cipher']))
part = decoder.decode(plain, asn1Spec=EncTGSRepPart())[0]
t = rep['ticket']['enc-part']
out = {'cname': [str(x) for x in rep['cname']['name-string']],
       'sname': [str(x) for x in rep['ticket']['sname']['name-string']],
       'ticketEtype': int(t['etype']), 'ticketHasKvno': t['kvno'].hasValue(),
       'sessionEtype': int(part['key']['keytype'])}
tk = bytes.fromhex(ticket_key_hex)
tplain = _enctype_table[int(t['etype'])].decrypt(Key(int(t['etype']), tk), 2, bytes(t['cipher']))
tp = decoder.decode(tplain, asn1Spec=EncTicketPart())[0]
out['ticketCname'] = [str(x) for x in tp['cname']['name-string']]
flags = tp['flags'].asBinary()
out['forwardable'] = flags[1] == '1'
print(json.dumps(out))
`;

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function impacketView(rep: Uint8Array, replyKey: Uint8Array, ticketKey: Uint8Array, usage: number) {
  const r = spawnSync(
    "/usr/bin/python3",
    ["-c", IMPACKET_DECODE, hex(rep), hex(replyKey), hex(ticketKey), String(usage)],
    { encoding: "utf8", timeout: 20_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    cname: string[];
    sname: string[];
    ticketEtype: number;
    ticketHasKvno: boolean;
    sessionEtype: number;
    ticketCname: string[];
    forwardable: boolean;
  };
}

/** impacket's reading of a S4U_DELEGATION_INFO buffer (its NDR classes). */
const IMPACKET_DELEGATION = `
import sys, json
from impacket.krb5.pac import S4U_DELEGATION_INFO
d = bytes.fromhex(sys.argv[1])[20:]
i = S4U_DELEGATION_INFO(); i.fromString(d); i.fromStringReferents(d[len(i.getData()):])
print(json.dumps({'target': i['S4U2proxyTarget'],
                  'transited': [x['Data'] for x in i['S4UTransitedServices']]}))
`;

const haveImpacket =
  spawnSync("/usr/bin/python3", ["-c", "import impacket.krb5.asn1"], { timeout: 20_000 }).status ===
  0;

describe("user-to-user (RFC 4120 §3.3.3 ENC-TKT-IN-SKEY), as AD", () => {
  it("AD seals the ticket in the session key of the additional TGT (its etype, no kvno); the PAC's server signature is in that key", () => {
    const r = createTestRealm();
    const aliceTgt = login(r, "alice", "alice-pw");
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    const over = {
      kdcOptions: KDC_OPTIONS.encTktInSkey,
      additionalTickets: [serverTgt.ticket],
    };
    const bytes = tgsBytes(r, aliceTgt, "alice", over);
    const c = expectCreds(
      readReply(bytes, aliceTgt.sessionKey, KeyUsage.TGS_REP_ENC_PART_SESSION_KEY),
    );
    assert.equal(c.ticket.encPart.etype, serverTgt.sessionKey.etype);
    assert.equal(c.ticket.encPart.kvno, undefined, "no kvno: the key is a session key");
    const part = openServiceTicket(c.ticket, serverTgt.sessionKey.key);
    assert.deepEqual(part.cname, alice);
    const sk = serverTgt.sessionKey;
    const pac = verifyPac(ticketPacBytes(part)!, sk, { etype: 18, key: r.krbtgtKey });
    assert.equal(pac.userSid, sid(1104));
    assert.throws(() => openServiceTicket(c.ticket, r.key("SERVER1$", "server1-pw", 18)));
    if (haveImpacket) {
      const v = impacketView(bytes, aliceTgt.sessionKey.key, sk.key, 8);
      assert.deepEqual(v.ticketCname, ["alice"]);
      assert.equal(v.ticketHasKvno, false);
      assert.equal(v.ticketEtype, sk.etype);
    }
  });

  it("AD accepts any name of the TGT holder as sname (an SPN of it)", () => {
    const r = createTestRealm();
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    const c = expectCreds(
      tgs(r, login(r, "alice", "alice-pw"), "alice", {
        sname: principal("host", "server1.pkd.test"),
        kdcOptions: KDC_OPTIONS.encTktInSkey,
        additionalTickets: [serverTgt.ticket],
      }),
    );
    assert.deepEqual(openServiceTicket(c.ticket, serverTgt.sessionKey.key).cname, alice);
  });

  it("AD's errors: sname of another account BADMATCH (36); no additional ticket BADOPTION (13); a service ticket as the second ticket POLICY (12); unknown sname S_PRINCIPAL_UNKNOWN (7); an expired second TGT TKT_EXPIRED (32)", () => {
    const r = createTestRealm();
    const aliceTgt = login(r, "alice", "alice-pw");
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    const u2u = { kdcOptions: KDC_OPTIONS.encTktInSkey, additionalTickets: [serverTgt.ticket] };
    const code = (over: Partial<TgsReqInput>) =>
      expectError(tgs(r, aliceTgt, "alice", over)).errorCode;
    assert.equal(code({ ...u2u, sname: principal("WS01$") }), E.KRB_AP_ERR_BADMATCH);
    assert.equal(code({ kdcOptions: KDC_OPTIONS.encTktInSkey }), E.KDC_ERR_BADOPTION);
    const st = expectCreds(tgs(r, aliceTgt, "alice", { sname: principal("WS01$") }));
    assert.equal(code({ ...u2u, additionalTickets: [st.ticket] }), E.KDC_ERR_POLICY);
    assert.equal(code({ ...u2u, sname: principal("nobody$") }), E.KDC_ERR_S_PRINCIPAL_UNKNOWN);
    r.clock.now += 11 * 3600_000;
    const fresh = login(r, "alice", "alice-pw");
    const late = expectError(tgs(r, fresh, "alice", u2u)).errorCode;
    assert.equal(late, E.KRB_AP_ERR_TKT_EXPIRED);
  });
});

describe("S4U2Self's FORWARDABLE flag (MS-SFU §3.2.5.1.2)", () => {
  it("AD: forwardable only when the service has TRUSTED_TO_AUTH_FOR_DELEGATION", () => {
    const r = createTestRealm();
    const plain = expectCreds(
      tgs(r, login(r, "SERVER1$", "server1-pw"), "SERVER1$", { forUser: alice }),
    );
    assert.ok(!hasFlag(plain.enc.flags, TICKET_FLAGS.forwardable));
    delegating(r, { trusted: true });
    const trusted = expectCreds(
      tgs(r, login(r, "SERVER1$", "server1-pw"), "SERVER1$", { forUser: alice }),
    );
    assert.ok(hasFlag(trusted.enc.flags, TICKET_FLAGS.forwardable));
    const part = openServiceTicket(trusted.ticket, r.key("SERVER1$", "server1-pw", 18));
    assert.ok(hasFlag(part.flags, TICKET_FLAGS.forwardable));
  });
});

describe("the authenticator checksum of S4U requests", () => {
  it("AD answers TGS-REQs without an authenticator checksum, S4U2Self and S4U2Proxy included (impacket's getST sends none)", () => {
    const r = createTestRealm();
    delegating(r, { to: ["host/ws01.pkd.test"], trusted: true });
    const aliceTgt = login(r, "alice", "alice-pw");
    expectCreds(tgs(r, aliceTgt, "alice", { noChecksum: true }));
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    const self = expectCreds(tgs(r, serverTgt, "SERVER1$", { forUser: alice, noChecksum: true }));
    const proxied = tgs(r, serverTgt, "SERVER1$", {
      sname: principal("host", "ws01.pkd.test"),
      kdcOptions: KDC_OPTIONS.forwardable | KDC_OPTIONS.cnameInAddlTkt,
      additionalTickets: [self.ticket],
      noChecksum: true,
    });
    assert.deepEqual(expectCreds(proxied).rep.cname, alice);
  });
});

describe("S4U2Proxy, constrained delegation (MS-SFU §3.2.5.2)", () => {
  const ws01 = principal("host", "ws01.pkd.test");
  const wsKey = (r: TestRealm) => r.key("WS01$", "ws01-pw", 18);

  function proxy(r: TestRealm, serverTgt: Creds, evidence: Ticket | undefined, sname = ws01) {
    return tgsBytes(r, serverTgt, "SERVER1$", {
      sname,
      kdcOptions: KDC_OPTIONS.forwardable | KDC_OPTIONS.cnameInAddlTkt,
      ...(evidence ? { additionalTickets: [evidence] } : {}),
    });
  }

  it("AD: with the target in msDS-AllowedToDelegateTo, a S4U2Self evidence gives a forwardable ticket to the target in the user's name with the user's PAC", () => {
    const r = createTestRealm();
    delegating(r, { to: ["host/ws01.pkd.test"], trusted: true });
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    const evidence = expectCreds(tgs(r, serverTgt, "SERVER1$", { forUser: alice })).ticket;
    const bytes = proxy(r, serverTgt, evidence);
    const c = expectCreds(
      readReply(bytes, serverTgt.sessionKey, KeyUsage.TGS_REP_ENC_PART_SESSION_KEY),
    );
    assert.deepEqual(c.rep.cname, alice);
    assert.deepEqual(c.ticket.sname, ws01);
    const part = openServiceTicket(c.ticket, wsKey(r));
    assert.deepEqual(part.cname, alice);
    assert.ok(hasFlag(part.flags, TICKET_FLAGS.forwardable));
    const pac = verifyPac(
      ticketPacBytes(part)!,
      { etype: 18, key: wsKey(r) },
      { etype: 18, key: r.krbtgtKey },
    );
    assert.equal(pac.userSid, sid(1104));
    assert.ok(pac.groupSids.includes(sid(1105)));
    // MS-PAC §2.9: AD adds S4U_DELEGATION_INFO: the target and the delegating service.
    const info = pac.pac.buffers.find((b) => b.kind === "raw" && b.type === 11);
    assert.ok(info?.kind === "raw", "a S4U_DELEGATION_INFO buffer");
    assert.deepEqual(decodeDelegationInfo(info.data), {
      proxyTarget: "host/ws01.pkd.test",
      transitedServices: ["SERVER1$@PKD.TEST"],
    });
    if (haveImpacket) {
      const py = spawnSync("/usr/bin/python3", ["-c", IMPACKET_DELEGATION, hex(info.data)], {
        encoding: "utf8",
        timeout: 20_000,
      });
      assert.equal(py.status, 0, py.stderr);
      assert.deepEqual(JSON.parse(py.stdout), {
        target: "host/ws01.pkd.test",
        transited: ["SERVER1$@PKD.TEST"],
      });
      const v = impacketView(bytes, serverTgt.sessionKey.key, wsKey(r), 8);
      assert.deepEqual(v.cname, ["alice"]);
      assert.deepEqual(v.ticketCname, ["alice"]);
      assert.deepEqual(v.sname, ["host", "ws01.pkd.test"]);
      assert.equal(v.forwardable, true);
    }
  });

  it("AD: the user's own forwardable ticket to the service is evidence too (Kerberos-only delegation)", () => {
    const r = createTestRealm();
    delegating(r, { to: ["HOST/WS01.PKD.TEST"] });
    const aliceSt = expectCreds(
      tgs(r, login(r, "alice", "alice-pw"), "alice", {
        sname: principal("host", "server1.pkd.test"),
      }),
    );
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    const c = expectCreds(readReply(proxy(r, serverTgt, aliceSt.ticket), serverTgt.sessionKey, 8));
    assert.deepEqual(openServiceTicket(c.ticket, wsKey(r)).cname, alice);
  });

  it("AD's errors: target not allowed BADOPTION; evidence not forwardable BADOPTION; no evidence BADOPTION; evidence PAC altered MODIFIED (41); evidence without PAC BADOPTION; user disabled since CLIENT_REVOKED", () => {
    const r = createTestRealm();
    delegating(r, { to: ["host/ws01.pkd.test"] });
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    const code = (b: Uint8Array) => expectError(b).errorCode;
    const notTrusted = expectCreds(tgs(r, serverTgt, "SERVER1$", { forUser: alice })).ticket;
    assert.equal(code(proxy(r, serverTgt, notTrusted)), E.KDC_ERR_BADOPTION, "not forwardable");
    delegating(r, { to: ["host/ws01.pkd.test"], trusted: true });
    const evidence = expectCreds(tgs(r, serverTgt, "SERVER1$", { forUser: alice })).ticket;
    assert.equal(
      code(proxy(r, serverTgt, evidence, principal("host", "server1.pkd.test"))),
      E.KDC_ERR_BADOPTION,
    );
    assert.equal(code(proxy(r, serverTgt, undefined)), E.KDC_ERR_BADOPTION);

    // The evidence re-sealed with one PAC byte changed (its signatures no longer hold).
    const sk = r.key("SERVER1$", "server1-pw", 18);
    const part = openServiceTicket(evidence, sk);
    const reseal = (p: typeof part): Ticket => ({
      ...evidence,
      encPart: {
        ...evidence.encPart,
        cipher: getEnctype(18).encrypt(sk, KeyUsage.KDC_REP_TICKET, encodeEncTicketPart(p)),
      },
    });
    const altered = decodeEncTicketPart(encodeEncTicketPart(part));
    const adData = altered.authorizationData![0]!.adData;
    adData[adData.length - 40]! ^= 1;
    assert.equal(code(proxy(r, serverTgt, reseal(altered))), E.KRB_AP_ERR_MODIFIED);
    const { authorizationData: _, ...noPac } = part;
    assert.equal(code(proxy(r, serverTgt, reseal(noPac as typeof part))), E.KDC_ERR_BADOPTION);

    r.db.setEnabled("alice", false);
    assert.equal(code(proxy(r, serverTgt, evidence)), E.KDC_ERR_CLIENT_REVOKED);
  });
});

describe("resource-based constrained delegation (MS-SFU §3.2.5.2.3, msDS-AllowedToActOnBehalfOfOtherIdentity)", () => {
  const ws01 = principal("host", "ws01.pkd.test");
  const wsKey = (r: TestRealm) => r.key("WS01$", "ws01-pw", 18);
  const RBCD = PAC_OPTIONS.resourceBasedConstrainedDelegation;

  /** WS01$ (the resource) granting `grant` (RIDs or SIDs); SERVER1$ has no classic delegation. */
  function resource(r: TestRealm, grant: (number | string)[]) {
    r.db.put({
      name: "WS01$",
      password: "ws01-pw",
      rid: 1106,
      aliases: ["host/ws01.pkd.test"],
      allowedToActOnBehalfOf: grant,
    });
  }

  function proxy(r: TestRealm, serverTgt: Creds, evidence: Ticket, pacOptions?: number) {
    return tgsBytes(r, serverTgt, "SERVER1$", {
      sname: ws01,
      kdcOptions: KDC_OPTIONS.forwardable | KDC_OPTIONS.cnameInAddlTkt,
      additionalTickets: [evidence],
      ...(pacOptions === undefined ? {} : { pacOptions }),
    });
  }

  it("AD: the resource grants the service; a non-forwardable S4U2Self evidence is enough with PA-PAC-OPTIONS RBCD; the ticket is forwardable with S4U_DELEGATION_INFO", () => {
    const r = createTestRealm();
    resource(r, [1107]);
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    const evidence = expectCreds(tgs(r, serverTgt, "SERVER1$", { forUser: alice }));
    const evPart = openServiceTicket(evidence.ticket, r.key("SERVER1$", "server1-pw", 18));
    assert.ok(!hasFlag(evPart.flags, TICKET_FLAGS.forwardable), "no protocol transition");
    const c = expectCreds(
      readReply(proxy(r, serverTgt, evidence.ticket, RBCD), serverTgt.sessionKey, 8),
    );
    const part = openServiceTicket(c.ticket, wsKey(r));
    assert.deepEqual(part.cname, alice);
    assert.ok(hasFlag(part.flags, TICKET_FLAGS.forwardable));
    const pac = verifyPac(
      ticketPacBytes(part)!,
      { etype: 18, key: wsKey(r) },
      { etype: 18, key: r.krbtgtKey },
    );
    assert.equal(pac.userSid, sid(1104));
    const info = pac.pac.buffers.find((b) => b.kind === "raw" && b.type === 11);
    assert.ok(info?.kind === "raw");
    assert.deepEqual(decodeDelegationInfo(info.data).transitedServices, ["SERVER1$@PKD.TEST"]);
  });

  it("AD: a grant to a group the service is in works too", () => {
    const r = createTestRealm();
    resource(r, [sid(1300)]);
    r.db.setGroups("SERVER1$", [1300]);
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    const evidence = expectCreds(tgs(r, serverTgt, "SERVER1$", { forUser: alice })).ticket;
    expectCreds(readReply(proxy(r, serverTgt, evidence, RBCD), serverTgt.sessionKey, 8));
  });

  it("AD: KDC_ERR_BADOPTION without PA-PAC-OPTIONS RBCD, or when the resource grants someone else", () => {
    const r = createTestRealm();
    resource(r, [1107]);
    const serverTgt = login(r, "SERVER1$", "server1-pw");
    const evidence = expectCreds(tgs(r, serverTgt, "SERVER1$", { forUser: alice })).ticket;
    const code = (b: Uint8Array) => expectError(b).errorCode;
    assert.equal(code(proxy(r, serverTgt, evidence)), E.KDC_ERR_BADOPTION, "no PA-PAC-OPTIONS");
    assert.equal(code(proxy(r, serverTgt, evidence, 0)), E.KDC_ERR_BADOPTION, "RBCD bit clear");
    resource(r, [1108]);
    assert.equal(code(proxy(r, serverTgt, evidence, RBCD)), E.KDC_ERR_BADOPTION, "not granted");
  });
});
