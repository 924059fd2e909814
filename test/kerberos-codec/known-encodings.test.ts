/**
 * Byte-exact encodings: real MIT 1.20 messages (fixtures/README.md) decoded to known
 * values and re-encoded to the same bytes, and small structures whose DER is fixed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { derApplication, derFields, derInteger } from "../../src/asn1/writer.js";
import * as m from "../../src/kerberos/messages/index.js";
import { fixtureBytes, loadFixtures, reencode } from "./fixtures.js";

const hx = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fixtures = loadFixtures();
const fx = (name: string) => fixtureBytes(fixtures.find((f) => f.name === name)!);

describe("known encodings", () => {
  it("every captured MIT message decodes and re-encodes byte for byte (DER is canonical)", () => {
    assert.ok(fixtures.length >= 8);
    for (const f of fixtures) {
      const bytes = fixtureBytes(f);
      assert.equal(m.decodeKrbMessage(bytes).type, f.type, f.name);
      assert.equal(hx(reencode(bytes)), f.hex, f.name);
    }
  });

  it("RFC 4120 §5.4.1: MIT's first AS-REQ, field by field, and our encoder rebuilds its bytes", () => {
    const req = m.decodeAsReq(fx("as-req-no-preauth"));
    assert.deepStrictEqual(req, {
      padata: [
        { padataType: m.PA_TYPE.PA_AS_FRESHNESS, padataValue: new Uint8Array(0) },
        { padataType: m.PA_TYPE.PA_REQ_ENC_PA_REP, padataValue: new Uint8Array(0) },
      ],
      reqBody: {
        kdcOptions: m.KDC_OPTIONS.renewableOk,
        cname: { nameType: 1, nameString: ["alice"] },
        realm: "MIT.TEST",
        sname: { nameType: 2, nameString: ["krbtgt", "MIT.TEST"] },
        till: req.reqBody.till,
        nonce: req.reqBody.nonce,
        etype: [18, 17, 20, 19],
      },
    });
    assert.equal(hx(m.encodeAsReq(req)), hx(fx("as-req-no-preauth")));
  });

  it("RFC 4120 §5.9.1 / §5.2.7.5: MIT's PREAUTH_REQUIRED carries METHOD-DATA with ETYPE-INFO2", () => {
    const err = m.decodeKrbError(fx("krb-error-kdc-err-preauth-required"));
    assert.equal(err.errorCode, m.KRB_ERROR_CODE.KDC_ERR_PREAUTH_REQUIRED);
    assert.equal(
      m.describeKrbError(err.errorCode),
      "KDC_ERR_PREAUTH_REQUIRED (25): Additional pre-authentication required",
    );
    assert.equal(err.eText, "NEEDED_PREAUTH");
    const md = m.decodeMethodData(err.eData!);
    assert.deepStrictEqual(
      md.map((p) => p.padataType),
      [136, 19, 2, 133],
    );
    const info = m.decodeEtypeInfo2(m.findPaData(md, m.PA_TYPE.PA_ETYPE_INFO2)!.padataValue);
    assert.deepStrictEqual(info, [{ etype: 18, salt: "MIT.TESTalice" }]);
    assert.equal(
      hx(m.encodeEtypeInfo2(info)),
      "3018301" + "6a003020112a10f1b0d4d49542e54455354616c696365",
    );
  });

  it("RFC 4120 §5.4.2: MIT's AS-REP: TGT for krbtgt/MIT.TEST, kvno 1, enc-part etype 18", () => {
    const rep = m.decodeAsRep(fx("as-rep"));
    assert.equal(rep.crealm, "MIT.TEST");
    assert.deepStrictEqual(rep.ticket.sname, { nameType: 2, nameString: ["krbtgt", "MIT.TEST"] });
    assert.equal(rep.ticket.encPart.kvno, 1);
    assert.equal(rep.encPart.etype, 18);
    assert.equal(rep.encPart.kvno, undefined);
  });

  it("MS-KILE §2.2.3: PA-PAC-REQUEST { include-pac TRUE } is 30 05 a0 03 01 01 ff", () => {
    assert.equal(hx(m.encodePaPacRequest({ includePac: true })), "3005a0030101ff");
    assert.deepStrictEqual(m.decodePaPacRequest(Buffer.from("3005a0030101ff", "hex")), {
      includePac: true,
    });
  });

  it("RFC 4120 §5.2.8: KerberosFlags are sent as 32 bits; shorter BIT STRINGs read zero-padded", () => {
    const flags = m.flagsOf(
      m.KDC_OPTIONS.forwardable,
      m.KDC_OPTIONS.renewable,
      m.KDC_OPTIONS.renewableOk,
    );
    assert.equal(flags, 0x40800010);
    const req = m.encodeKdcReqBody({
      kdcOptions: flags,
      realm: "R",
      till: new Date(0),
      nonce: 0,
      etype: [],
    });
    assert.equal(
      hx(req),
      "302aa00703050040800010a2031b0152a511180f31393730303130313030303030305aa703020100a8023000",
    );
    assert.ok(m.hasFlag(flags, m.KDC_OPTIONS.renewable));
    assert.ok(!m.hasFlag(flags, m.KDC_OPTIONS.proxy));
    // a 9-bit BIT STRING (forwardable, renewable) as some DER encoders trim it:
    const short = Buffer.from(
      "3028a005030307408 0a2031b0152a511180f31393730303130313030303030305aa703020100a8023000".replace(
        / /g,
        "",
      ),
      "hex",
    );
    assert.equal(m.decodeKdcReqBody(short).kdcOptions, 0x40800000);
    // re-encoding writes 32 bits, so a checksum must cover the bytes as received:
    assert.notEqual(hx(m.encodeKdcReqBody(m.decodeKdcReqBody(short))), hx(short));
    const tgsReq = derApplication(
      12,
      derFields([
        [1, derInteger(5)],
        [2, derInteger(12)],
        [4, short],
      ]),
    );
    assert.equal(m.decodeTgsReq(tgsReq).reqBody.kdcOptions, 0x40800000);
    assert.equal(hx(m.kdcReqBodyBytes(tgsReq)), hx(short));
  });

  it("RFC 4120 §5.2.6.1: AD-IF-RELEVANT wrapping AD-WIN2K-PAC is found by findAuthorizationData", () => {
    const pac = Uint8Array.of(1, 2, 3);
    const ad = [m.encodeAdIfRelevant([{ adType: m.AD_TYPE.AD_WIN2K_PAC, adData: pac }])];
    assert.equal(hx(ad[0]!.adData), "300f300da00402020080a1050403010203");
    assert.deepStrictEqual(m.findAuthorizationData(ad, m.AD_TYPE.AD_WIN2K_PAC), [pac]);
  });

  it("MS-SFU §2.2.1: the PA-FOR-USER checksum input is name-type (LE) + names + realm + package", () => {
    const input = m.paForUserChecksumInput({
      userName: { nameType: 10, nameString: ["alice@MIT.TEST"] },
      userRealm: "MIT.TEST",
      authPackage: "Kerberos",
    });
    assert.equal(
      Buffer.from(input).toString("latin1"),
      "\x0a\x00\x00\x00alice@MIT.TESTMIT.TESTKerberos",
    );
  });

  it("MS-KILE §2.2.1: KERB-ERROR-DATA with KERB_ERR_TYPE_EXTENDED carries a little-endian NTSTATUS", () => {
    const value = Buffer.from("6a0000c00000000001000000", "hex");
    const der = m.encodeKerbErrorData({ dataType: m.KERB_ERR_TYPE_EXTENDED, dataValue: value });
    assert.equal(hx(der), "3015a103020103a20e040c6a0000c00000000001000000");
    assert.equal(m.extendedErrorStatus(m.decodeKerbErrorData(der)), 0xc000006a);
  });
});
