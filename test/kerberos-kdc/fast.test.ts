/**
 * FAST (RFC 6113) and RFC 6806 enc-pa-rep at the KDC core, with requests built here the way
 * MIT's client builds them (lib/krb5/krb/fast.c, preauth_ec.c) and every reply opened here:
 * the armor key from an AP-REQ with a subkey (AS) or from the PA-TGS-REQ authenticator's
 * subkey (TGS), KRB-FX-CF2 for the armor, challenge and strengthened reply keys, errors in
 * PA-FX-ERROR, and the error codes MIT's KDC (src/kdc/fast_util.c) answers for bad FAST.
 * MIT's own kinit -T and kvno against the runner: fast-interop.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getEnctype, KeyUsage, krbFxCf2 } from "../../src/kerberos/crypto/index.js";
import {
  decodeAsRep,
  decodeAsReq,
  decodeChecksum,
  decodeEncKdcRepPart,
  decodeEncryptedData,
  decodeKrbError,
  decodeKrbFastResponse,
  decodeMethodData,
  decodePaEncTsEnc,
  decodePaFxFastReply,
  decodeTgsRep,
  decodeTgsReq,
  encodeApReq,
  encodeAsReq,
  encodeAuthenticator,
  encodeEncryptedData,
  encodeKdcReqBody,
  encodeKrbFastReq,
  encodePaEncTimestamp,
  encodePaEncTsEnc,
  encodePaFxFastRequest,
  encodeTgsReq,
  encodeTicket,
  FX_FAST_ARMOR_AP_REQUEST,
  hasFlag,
  type KdcReqBody,
  type KrbFastResponse,
  PA_TYPE,
  type PaData,
  TICKET_FLAGS,
} from "../../src/kerberos/messages/index.js";
import {
  asReqBody,
  buildAsReq,
  buildTgsReq,
  type Creds,
  expectCreds,
  expectError,
  openServiceTicket,
  principal,
  readReply,
} from "./client.js";
import { createTestRealm, REALM } from "./realm.js";

type Key = { etype: number; key: Uint8Array };
const E = { PREAUTH_REQUIRED: 25 } as const;

const r = createTestRealm();
const alice = principal("alice");
const aliceKey: Key = { etype: 18, key: r.key("alice", "alice-pw", 18) };
const server1Key = r.key("SERVER1$", "server1-pw", 18);
const nonZero = (k: Uint8Array) => k.some((b) => b !== 0);

function tgtOf(name = alice, key = aliceKey): Creds {
  const req = buildAsReq({ realm: REALM, cname: name, etypes: [18], key, nowMs: r.clock.now });
  return expectCreds(readReply(r.kdc.handle(req, "tcp").reply!, key, KeyUsage.AS_REP_ENC_PART));
}

/** Armor type 1 (RFC 6113 §5.4.1.1): an AP-REQ for krbtgt with a fresh subkey. */
function apReqArmor(tgt: Creds, opts: { noSubkey?: boolean } = {}) {
  const subkey = { etype: 18, key: getEnctype(18).generateKey() };
  const auth = encodeAuthenticator({
    crealm: REALM,
    cname: tgt.rep.cname,
    cusec: 0,
    ctime: new Date(Math.floor(r.clock.now / 1000) * 1000),
    ...(opts.noSubkey ? {} : { subkey: { keytype: 18, keyvalue: subkey.key } }),
  });
  const sk = tgt.sessionKey;
  const apReq = encodeApReq({
    apOptions: 0,
    ticket: tgt.ticket,
    authenticator: {
      etype: sk.etype,
      cipher: getEnctype(sk.etype).encrypt(sk.key, KeyUsage.AP_REQ_AUTH, auth),
    },
  });
  const armorKey = krbFxCf2(subkey, "subkeyarmor", sk, "ticketarmor");
  return { armorValue: apReq, armorKey };
}

interface Armored {
  armorKey: Key;
  /** The key the KDC derives, if different (a client that got it wrong). */
  sealKey?: Key;
  armor?: { armorType: number; armorValue: Uint8Array };
  body: KdcReqBody;
  padata: PaData[];
  fastOptions?: number;
  tamperChecksum?: boolean;
}

function fastPadata(a: Armored, checksummed: Uint8Array): PaData {
  const e = getEnctype(a.armorKey.etype);
  const checksum = e.checksum(a.armorKey.key, KeyUsage.FAST_REQ_CHKSUM, checksummed);
  if (a.tamperChecksum) checksum[0]! ^= 1;
  const seal = a.sealKey ?? a.armorKey;
  const inner = encodeKrbFastReq({
    fastOptions: a.fastOptions ?? 0,
    padata: a.padata,
    reqBody: a.body,
  });
  return {
    padataType: PA_TYPE.PA_FX_FAST,
    padataValue: encodePaFxFastRequest({
      ...(a.armor ? { armor: a.armor } : {}),
      reqChecksum: { cksumtype: e.checksumType, checksum },
      encFastReq: {
        etype: seal.etype,
        cipher: getEnctype(seal.etype).encrypt(seal.key, KeyUsage.FAST_ENC, inner),
      },
    }),
  };
}

/** An armored AS-REQ; the outer body is the inner one, as MIT sends it. */
function armoredAsReq(a: Armored): Uint8Array {
  return encodeAsReq({ padata: [fastPadata(a, encodeKdcReqBody(a.body))], reqBody: a.body });
}

function challenge(armorKey: Key, clientKey: Key, nowMs: number): PaData {
  const ck = krbFxCf2(armorKey, "clientchallengearmor", clientKey, "challengelongterm");
  const ts = encodePaEncTsEnc({
    patimestamp: new Date(Math.floor(nowMs / 1000) * 1000),
    pausec: 0,
  });
  const cipher = getEnctype(ck.etype).encrypt(ck.key, KeyUsage.ENC_CHALLENGE_CLIENT, ts);
  return {
    padataType: PA_TYPE.PA_ENCRYPTED_CHALLENGE,
    padataValue: encodeEncryptedData({ etype: ck.etype, cipher }),
  };
}

function fastResponse(padata: PaData[] | undefined, armorKey: Key): KrbFastResponse {
  assert.deepEqual(
    padata?.map((p) => p.padataType),
    [PA_TYPE.PA_FX_FAST],
    "outside, only PA-FX-FAST",
  );
  const enc = decodePaFxFastReply(padata![0]!.padataValue);
  assert.equal(enc.etype, armorKey.etype);
  const plain = getEnctype(enc.etype).decrypt(armorKey.key, KeyUsage.FAST_REP, enc.cipher);
  return decodeKrbFastResponse(plain);
}

/** The outer KRB-ERROR and the one inside PA-FX-ERROR. */
function fastError(reply: Uint8Array, armorKey: Key) {
  const outer = expectError(reply);
  const resp = fastResponse(decodeMethodData(outer.eData!), armorKey);
  const fx = resp.padata.find((p) => p.padataType === PA_TYPE.PA_FX_ERROR);
  assert.ok(fx, "PA-FX-ERROR inside the KrbFastResponse");
  return { outer, inner: decodeKrbError(fx.padataValue), resp };
}

describe("FAST armored AS exchange (RFC 6113 §5.4, armor type 1)", () => {
  it("§5.4.3: PREAUTH_REQUIRED travels inside: PA-FX-ERROR, ETYPE-INFO2, ENCRYPTED-CHALLENGE, a cookie; no ENC-TIMESTAMP", () => {
    const { armorValue, armorKey } = apReqArmor(tgtOf());
    const body = asReqBody({
      realm: REALM,
      cname: alice,
      etypes: [18, 17],
      nowMs: r.clock.now,
      nonce: 777,
    });
    const before = r.kdc.counters().armored["AS-REQ"] ?? 0;
    const reply = r.kdc.handle(
      armoredAsReq({ armorKey, armor: { armorType: 1, armorValue }, body, padata: [] }),
      "tcp",
    ).reply!;
    const { outer, inner, resp } = fastError(reply, armorKey);
    assert.equal(outer.errorCode, E.PREAUTH_REQUIRED);
    assert.equal(inner.errorCode, E.PREAUTH_REQUIRED);
    assert.equal(inner.eData, undefined, "the inner error carries no e-data");
    assert.equal(resp.nonce, 777, "the inner request's nonce");
    assert.equal(resp.strengthenKey, undefined);
    assert.deepEqual(
      resp.padata.map((p) => p.padataType),
      [
        PA_TYPE.PA_FX_FAST,
        PA_TYPE.PA_ETYPE_INFO2,
        PA_TYPE.PA_ENCRYPTED_CHALLENGE,
        PA_TYPE.PA_FX_COOKIE,
        PA_TYPE.PA_FX_ERROR,
      ],
    );
    assert.equal(r.kdc.counters().armored["AS-REQ"], before + 1, "counted as armored");
  });

  it("§5.4.6: PA-ENCRYPTED-CHALLENGE gets a TGT; reply key strengthened, KrbFastFinished over the ticket, the KDC's challenge", () => {
    const { armorValue, armorKey } = apReqArmor(tgtOf());
    const body = asReqBody({
      realm: REALM,
      cname: alice,
      etypes: [18],
      nowMs: r.clock.now,
      nonce: 4242,
    });
    const reply = r.kdc.handle(
      armoredAsReq({
        armorKey,
        armor: { armorType: FX_FAST_ARMOR_AP_REQUEST, armorValue },
        body,
        padata: [challenge(armorKey, aliceKey, r.clock.now)],
      }),
      "tcp",
    ).reply!;
    const rep = decodeAsRep(reply);
    const resp = fastResponse(rep.padata, armorKey);
    assert.equal(resp.nonce, 4242);
    assert.ok(resp.strengthenKey && nonZero(resp.strengthenKey.keyvalue), "a strengthen key");
    const fin = resp.finished!;
    assert.equal(fin.crealm, REALM);
    assert.deepEqual(fin.cname.nameString, ["alice"]);
    const armorE = getEnctype(armorKey.etype);
    assert.ok(
      armorE.verifyChecksum(
        armorKey.key,
        KeyUsage.FAST_FINISHED,
        encodeTicket(rep.ticket),
        fin.ticketChecksum.checksum,
      ),
      "ticket-checksum verifies with the armor key",
    );
    // The KDC's own encrypted challenge, in the kdcchallengearmor key.
    const kdcPa = resp.padata.find((p) => p.padataType === PA_TYPE.PA_ENCRYPTED_CHALLENGE)!;
    const kck = krbFxCf2(armorKey, "kdcchallengearmor", aliceKey, "challengelongterm");
    const kenc = decodeEncryptedData(kdcPa.padataValue);
    const kts = decodePaEncTsEnc(
      getEnctype(kck.etype).decrypt(kck.key, KeyUsage.ENC_CHALLENGE_KDC, kenc.cipher),
    );
    assert.ok(Math.abs(kts.patimestamp.getTime() - r.clock.now) < 1000);
    assert.ok(resp.padata.some((p) => p.padataType === PA_TYPE.PA_ETYPE_INFO2));
    // The enc-part opens with the strengthened key only.
    const sk = { etype: resp.strengthenKey!.keytype, key: resp.strengthenKey!.keyvalue };
    const replyKey = krbFxCf2(sk, "strengthenkey", aliceKey, "replykey");
    assert.throws(() =>
      getEnctype(18).decrypt(aliceKey.key, KeyUsage.AS_REP_ENC_PART, rep.encPart.cipher),
    );
    const enc = decodeEncKdcRepPart(
      getEnctype(18).decrypt(replyKey.key, KeyUsage.AS_REP_ENC_PART, rep.encPart.cipher),
    ).part;
    assert.equal(enc.nonce, 4242);
    assert.ok(nonZero(enc.key.keyvalue), "a random session key");
    assert.ok(hasFlag(enc.flags, TICKET_FLAGS.preAuthent));
  });

  it("PA-ENC-TIMESTAMP inside FAST is accepted too (MIT's KDC does), reply strengthened", () => {
    const { armorValue, armorKey } = apReqArmor(tgtOf());
    const body = asReqBody({ realm: REALM, cname: alice, etypes: [18], nowMs: r.clock.now });
    const ts = encodePaEncTsEnc({
      patimestamp: new Date(Math.floor(r.clock.now / 1000) * 1000),
      pausec: 0,
    });
    const cipher = getEnctype(18).encrypt(aliceKey.key, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, ts);
    const reply = r.kdc.handle(
      armoredAsReq({
        armorKey,
        armor: { armorType: 1, armorValue },
        body,
        padata: [
          {
            padataType: PA_TYPE.PA_ENC_TIMESTAMP,
            padataValue: encodePaEncTimestamp({ etype: 18, cipher }),
          },
        ],
      }),
      "tcp",
    ).reply!;
    const rep = decodeAsRep(reply);
    const resp = fastResponse(rep.padata, armorKey);
    const sk = { etype: resp.strengthenKey!.keytype, key: resp.strengthenKey!.keyvalue };
    const replyKey = krbFxCf2(sk, "strengthenkey", aliceKey, "replykey");
    getEnctype(18).decrypt(replyKey.key, KeyUsage.AS_REP_ENC_PART, rep.encPart.cipher);
  });

  it("§5.4.1 hide-client-names: the outer reply names WELLKNOWN/ANONYMOUS, KrbFastFinished the client", () => {
    const { armorValue, armorKey } = apReqArmor(tgtOf());
    const body = asReqBody({ realm: REALM, cname: alice, etypes: [18], nowMs: r.clock.now });
    const rep = decodeAsRep(
      r.kdc.handle(
        armoredAsReq({
          armorKey,
          armor: { armorType: 1, armorValue },
          body,
          padata: [challenge(armorKey, aliceKey, r.clock.now)],
          fastOptions: 0x40000000,
        }),
        "tcp",
      ).reply!,
    );
    assert.deepEqual(rep.cname.nameString, ["WELLKNOWN", "ANONYMOUS"]);
    assert.equal(rep.crealm, "WELLKNOWN:ANONYMOUS");
    assert.deepEqual(fastResponse(rep.padata, armorKey).finished!.cname.nameString, ["alice"]);
  });
});

describe("bad FAST: the code MIT's KDC answers, one KRB-ERROR, never a crash", () => {
  const body = () => asReqBody({ realm: REALM, cname: alice, etypes: [18], nowMs: r.clock.now });

  it("unknown armor type -> KDC_ERR_PREAUTH_FAILED, not wrapped (no armor key)", () => {
    const { armorValue, armorKey } = apReqArmor(tgtOf());
    const err = expectError(
      r.kdc.handle(
        armoredAsReq({ armorKey, armor: { armorType: 7, armorValue }, body: body(), padata: [] }),
        "udp",
      ).reply!,
    );
    assert.equal(err.errorCode, 24);
    assert.match(err.eText ?? "", /unknown FAST armor type 7/);
    assert.equal(err.eData, undefined);
  });

  it("no armor in an AS-REQ -> KDC_ERR_PREAUTH_FAILED", () => {
    const { armorKey } = apReqArmor(tgtOf());
    const err = expectError(
      r.kdc.handle(armoredAsReq({ armorKey, body: body(), padata: [] }), "udp").reply!,
    );
    assert.equal(err.errorCode, 24);
  });

  it("wrong armor key (enc-fast-req sealed in another key) -> KRB_AP_ERR_BAD_INTEGRITY", () => {
    const { armorValue, armorKey } = apReqArmor(tgtOf());
    const other = { etype: 18, key: getEnctype(18).generateKey() };
    const reply = r.kdc.handle(
      armoredAsReq({
        armorKey,
        sealKey: other,
        armor: { armorType: 1, armorValue },
        body: body(),
        padata: [],
      }),
      "udp",
    ).reply!;
    const { outer, inner } = fastError(reply, armorKey);
    assert.equal(outer.errorCode, 31);
    assert.equal(inner.errorCode, 31);
  });

  it("tampered req-checksum -> KRB_AP_ERR_MODIFIED (wrapped)", () => {
    const { armorValue, armorKey } = apReqArmor(tgtOf());
    const reply = r.kdc.handle(
      armoredAsReq({
        armorKey,
        armor: { armorType: 1, armorValue },
        body: body(),
        padata: [],
        tamperChecksum: true,
      }),
      "udp",
    ).reply!;
    const { outer, inner } = fastError(reply, armorKey);
    assert.equal(outer.errorCode, 41);
    assert.match(inner.eText ?? "", /req-checksum/);
  });

  it("outer body changed after the checksum -> KRB_AP_ERR_MODIFIED", () => {
    const { armorValue, armorKey } = apReqArmor(tgtOf());
    const b = body();
    const fx = fastPadata(
      { armorKey, armor: { armorType: 1, armorValue }, body: b, padata: [] },
      encodeKdcReqBody(b),
    );
    const changed = { ...b, till: new Date(b.till.getTime() + 3600_000) };
    const err = expectError(
      r.kdc.handle(encodeAsReq({ padata: [fx], reqBody: changed }), "udp").reply!,
    );
    assert.equal(err.errorCode, 41);
  });

  it("armor AP-REQ without a subkey -> KDC_ERR_POLICY", () => {
    const { armorValue, armorKey } = apReqArmor(tgtOf(), { noSubkey: true });
    const err = expectError(
      r.kdc.handle(
        armoredAsReq({ armorKey, armor: { armorType: 1, armorValue }, body: body(), padata: [] }),
        "udp",
      ).reply!,
    );
    assert.equal(err.errorCode, 12);
  });

  it("unknown critical FAST option -> KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTION (93)", () => {
    const { armorValue, armorKey } = apReqArmor(tgtOf());
    const reply = r.kdc.handle(
      armoredAsReq({
        armorKey,
        armor: { armorType: 1, armorValue },
        body: body(),
        padata: [],
        fastOptions: 0x20000000,
      }),
      "udp",
    ).reply!;
    assert.equal(fastError(reply, armorKey).outer.errorCode, 93);
  });

  it("wrong password in the encrypted challenge -> KDC_ERR_PREAUTH_FAILED (wrapped)", () => {
    const { armorValue, armorKey } = apReqArmor(tgtOf());
    const wrong = { etype: 18, key: r.key("alice", "not-alice-pw", 18) };
    const reply = r.kdc.handle(
      armoredAsReq({
        armorKey,
        armor: { armorType: 1, armorValue },
        body: body(),
        padata: [challenge(armorKey, wrong, r.clock.now)],
      }),
      "udp",
    ).reply!;
    const { outer, inner } = fastError(reply, armorKey);
    assert.equal(outer.errorCode, 24);
    assert.equal(inner.errorCode, 24);
  });

  it("armor that is a service ticket, not our TGT -> KDC_ERR_SERVER_NOMATCH", () => {
    const tgt = tgtOf();
    const st = expectCreds(
      readReply(
        r.kdc.handle(
          buildTgsReq({
            realm: REALM,
            tgt,
            cname: alice,
            sname: principal("host", "server1.pkd.test"),
            etypes: [18],
            nowMs: r.clock.now,
          }),
          "tcp",
        ).reply!,
        tgt.sessionKey,
        KeyUsage.TGS_REP_ENC_PART_SESSION_KEY,
      ),
    );
    const { armorValue, armorKey } = apReqArmor(st);
    const err = expectError(
      r.kdc.handle(
        armoredAsReq({ armorKey, armor: { armorType: 1, armorValue }, body: body(), padata: [] }),
        "udp",
      ).reply!,
    );
    assert.equal(err.errorCode, 26);
  });

  it("none of the above is an internal failure", () => {
    assert.equal(r.kdc.counters().drops.internal ?? 0, 0);
  });
});

/** An armored TGS-REQ as MIT's client sends it: PA-TGS-REQ outside, the rest armored. */
function armoredTgsReq(
  tgt: Creds,
  subkey: Key,
  sname: string[],
  opts: { armor?: boolean; tamper?: boolean } = {},
) {
  const plain = decodeTgsReq(
    buildTgsReq({
      realm: REALM,
      tgt,
      cname: alice,
      sname: principal(...sname),
      etypes: [18],
      nowMs: r.clock.now,
      subkey,
      nonce: 999,
    }),
  );
  const paTgs = plain.padata![0]!;
  const armorKey = krbFxCf2(subkey, "subkeyarmor", tgt.sessionKey, "ticketarmor");
  const fx = fastPadata(
    {
      armorKey,
      ...(opts.armor ? { armor: { armorType: 1, armorValue: paTgs.padataValue } } : {}),
      body: plain.reqBody,
      padata: [],
      tamperChecksum: opts.tamper ?? false,
    },
    paTgs.padataValue,
  );
  return { bytes: encodeTgsReq({ padata: [paTgs, fx], reqBody: plain.reqBody }), armorKey };
}

describe("FAST armored TGS exchange (RFC 6113 §5.4.1.1: armor key from the TGS-REQ's subkey)", () => {
  it("the service ticket comes back in PA-FX-FAST, the enc-part in KRB-FX-CF2(strengthen key, subkey)", () => {
    const tgt = tgtOf();
    const subkey = { etype: 18, key: getEnctype(18).generateKey() };
    const { bytes, armorKey } = armoredTgsReq(tgt, subkey, ["host", "server1.pkd.test"]);
    const before = r.kdc.counters().armored["TGS-REQ"] ?? 0;
    const rep = decodeTgsRep(r.kdc.handle(bytes, "tcp").reply!);
    const resp = fastResponse(rep.padata, armorKey);
    assert.equal(resp.nonce, 999);
    assert.deepEqual(resp.finished!.cname.nameString, ["alice"]);
    const sk = { etype: resp.strengthenKey!.keytype, key: resp.strengthenKey!.keyvalue };
    const replyKey = krbFxCf2(sk, "strengthenkey", subkey, "replykey");
    const enc = decodeEncKdcRepPart(
      getEnctype(18).decrypt(replyKey.key, KeyUsage.TGS_REP_ENC_PART_SUBKEY, rep.encPart.cipher),
    ).part;
    assert.equal(enc.nonce, 999);
    const part = openServiceTicket(rep.ticket, server1Key);
    assert.deepEqual(part.key.keyvalue, enc.key.keyvalue);
    assert.ok(nonZero(enc.key.keyvalue));
    assert.equal(r.kdc.counters().armored["TGS-REQ"], before + 1);
  });

  it("AP-REQ armor in a TGS-REQ -> KDC_ERR_PREAUTH_FAILED; tampered req-checksum -> KRB_AP_ERR_MODIFIED", () => {
    const tgt = tgtOf();
    const subkey = { etype: 18, key: getEnctype(18).generateKey() };
    const a = armoredTgsReq(tgt, subkey, ["host", "server1.pkd.test"], { armor: true });
    const plainErr = expectError(r.kdc.handle(a.bytes, "udp").reply!);
    assert.equal(plainErr.errorCode, 24, "refused before an armor key exists: not wrapped");
    r.clock.now += 1000; // a new authenticator (the replay cache)
    const b = armoredTgsReq(tgt, subkey, ["host", "server1.pkd.test"], { tamper: true });
    assert.equal(fastError(r.kdc.handle(b.bytes, "udp").reply!, b.armorKey).outer.errorCode, 41);
  });
});

describe("RFC 6806 §11 enc-pa-rep (FAST negotiation, as MIT's kinit asks for it)", () => {
  it("PA-REQ-ENC-PA-REP: the encrypted padata holds the AS-REQ's checksum and PA-FX-FAST, the ENC-PA-REP flag is set", () => {
    const plain = buildAsReq({
      realm: REALM,
      cname: alice,
      etypes: [18],
      key: aliceKey,
      nowMs: r.clock.now,
    });
    const req = decodeAsReq(plain);
    const bytes = encodeAsReq({
      padata: [
        ...req.padata!,
        { padataType: PA_TYPE.PA_REQ_ENC_PA_REP, padataValue: new Uint8Array(0) },
      ],
      reqBody: req.reqBody,
    });
    const c = expectCreds(
      readReply(r.kdc.handle(bytes, "tcp").reply!, aliceKey, KeyUsage.AS_REP_ENC_PART),
    );
    assert.ok(hasFlag(c.enc.flags, TICKET_FLAGS.encPaRep));
    const types = c.enc.encryptedPaData?.map((p) => p.padataType);
    assert.deepEqual(types, [PA_TYPE.PA_REQ_ENC_PA_REP, PA_TYPE.PA_FX_FAST]);
    const ck = decodeChecksum(c.enc.encryptedPaData![0]!.padataValue);
    assert.ok(getEnctype(18).verifyChecksum(aliceKey.key, KeyUsage.AS_REQ, bytes, ck.checksum));
  });

  it("without PA-REQ-ENC-PA-REP: no encrypted padata, no flag (impacket and older clients)", () => {
    const c = tgtOf();
    assert.equal(c.enc.encryptedPaData, undefined);
    assert.ok(!hasFlag(c.enc.flags, TICKET_FLAGS.encPaRep));
  });
});
