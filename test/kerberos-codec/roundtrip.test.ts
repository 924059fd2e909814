/**
 * Property tests: for every message, decode(encode(x)) equals x, and the encoding is
 * canonical (decoding then re-encoding gives the same bytes).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import * as m from "../../src/kerberos/messages/index.js";
import * as a from "./arbitraries.js";

interface Case<T> {
  name: string;
  arb: fc.Arbitrary<T>;
  encode: (x: T) => Uint8Array;
  decode: (b: Uint8Array) => T;
}

const c = <T>(
  name: string,
  arb: fc.Arbitrary<T>,
  encode: (x: T) => Uint8Array,
  decode: (b: Uint8Array) => T,
): Case<unknown> => ({ name, arb, encode, decode }) as Case<unknown>;

const CASES: Case<unknown>[] = [
  c("RFC 4120 §5.2.2 PrincipalName", a.principalName, m.encodePrincipalName, m.decodePrincipalName),
  c("RFC 4120 §5.2.5 HostAddress", a.hostAddress, m.encodeHostAddress, m.decodeHostAddress),
  c(
    "RFC 4120 §5.2.5 HostAddresses",
    fc.array(a.hostAddress, { maxLength: 3 }),
    m.encodeHostAddresses,
    m.decodeHostAddresses,
  ),
  c(
    "RFC 4120 §5.2.6 AuthorizationData",
    fc.array(a.adEntry, { maxLength: 3 }),
    m.encodeAuthorizationData,
    m.decodeAuthorizationData,
  ),
  c("RFC 4120 §5.2.7 PA-DATA", a.paData, m.encodePaData, m.decodePaData),
  c(
    "RFC 4120 §5.9.1 METHOD-DATA",
    fc.array(a.paData, { maxLength: 3 }),
    m.encodeMethodData,
    m.decodeMethodData,
  ),
  c("RFC 4120 §5.2.7.2 PA-ENC-TS-ENC", a.paEncTsEnc, m.encodePaEncTsEnc, m.decodePaEncTsEnc),
  c(
    "RFC 4120 §5.2.7.2 PA-ENC-TIMESTAMP",
    a.encryptedData,
    m.encodePaEncTimestamp,
    m.decodePaEncTimestamp,
  ),
  c("RFC 4120 §5.2.7.5 ETYPE-INFO2", a.etypeInfo2, m.encodeEtypeInfo2, m.decodeEtypeInfo2),
  c(
    "RFC 4120 §5.2.7.5 ETYPE-INFO2-ENTRY",
    a.etypeInfo2Entry,
    m.encodeEtypeInfo2Entry,
    m.decodeEtypeInfo2Entry,
  ),
  c("RFC 4120 §5.2.9 EncryptedData", a.encryptedData, m.encodeEncryptedData, m.decodeEncryptedData),
  c("RFC 4120 §5.2.9 EncryptionKey", a.encryptionKey, m.encodeEncryptionKey, m.decodeEncryptionKey),
  c("RFC 4120 §5.2.9 Checksum", a.checksum, m.encodeChecksum, m.decodeChecksum),
  c("RFC 4120 §5.3 Ticket", a.ticket, m.encodeTicket, m.decodeTicket),
  c(
    "RFC 4120 §5.3 TransitedEncoding",
    a.transited,
    m.encodeTransitedEncoding,
    m.decodeTransitedEncoding,
  ),
  c("RFC 4120 §5.3 EncTicketPart", a.encTicketPart, m.encodeEncTicketPart, m.decodeEncTicketPart),
  c("RFC 4120 §5.4.1 KDC-REQ-BODY", a.kdcReqBody, m.encodeKdcReqBody, m.decodeKdcReqBody),
  c("RFC 4120 §5.4.1 AS-REQ", a.kdcReq, m.encodeAsReq, m.decodeAsReq),
  c("RFC 4120 §5.4.1 TGS-REQ", a.kdcReq, m.encodeTgsReq, m.decodeTgsReq),
  c("RFC 4120 §5.4.2 AS-REP", a.kdcRep, m.encodeAsRep, m.decodeAsRep),
  c("RFC 4120 §5.4.2 TGS-REP", a.kdcRep, m.encodeTgsRep, m.decodeTgsRep),
  c(
    "RFC 4120 §5.4.2 LastReq",
    fc.array(a.lastReq, { maxLength: 3 }),
    m.encodeLastReq,
    m.decodeLastReq,
  ),
  c("RFC 4120 §5.4.2 EncASRepPart", a.encKdcRepPart, m.encodeEncAsRepPart, m.decodeEncAsRepPart),
  c("RFC 4120 §5.4.2 EncTGSRepPart", a.encKdcRepPart, m.encodeEncTgsRepPart, m.decodeEncTgsRepPart),
  c("RFC 4120 §5.5.1 AP-REQ", a.apReq, m.encodeApReq, m.decodeApReq),
  c("RFC 4120 §5.5.1 Authenticator", a.authenticator, m.encodeAuthenticator, m.decodeAuthenticator),
  c("RFC 4120 §5.5.2 AP-REP", a.apRep, m.encodeApRep, m.decodeApRep),
  c("RFC 4120 §5.5.2 EncAPRepPart", a.encApRepPart, m.encodeEncApRepPart, m.decodeEncApRepPart),
  c("RFC 4120 §5.6.1 KRB-SAFE", a.krbSafe, m.encodeKrbSafe, m.decodeKrbSafe),
  c("RFC 4120 §5.7.1 KRB-PRIV", a.krbPriv, m.encodeKrbPriv, m.decodeKrbPriv),
  c(
    "RFC 4120 §5.7.1 EncKrbPrivPart",
    a.krbSafeBody,
    m.encodeEncKrbPrivPart,
    m.decodeEncKrbPrivPart,
  ),
  c("RFC 4120 §5.8.1 KRB-CRED", a.krbCred, m.encodeKrbCred, m.decodeKrbCred),
  c(
    "RFC 4120 §5.8.1 EncKrbCredPart",
    a.encKrbCredPart,
    m.encodeEncKrbCredPart,
    m.decodeEncKrbCredPart,
  ),
  c("RFC 4120 §5.9.1 KRB-ERROR", a.krbError, m.encodeKrbError, m.decodeKrbError),
  c("RFC 4120 §5.9.1 TYPED-DATA", a.typedData, m.encodeTypedData, m.decodeTypedData),
  c(
    "MS-KILE §2.2.1 KERB-ERROR-DATA",
    a.kerbErrorData,
    m.encodeKerbErrorData,
    m.decodeKerbErrorData,
  ),
  c("MS-KILE §2.2.3 PA-PAC-REQUEST", a.paPacRequest, m.encodePaPacRequest, m.decodePaPacRequest),
  c("MS-SFU §2.2.1 PA-FOR-USER", a.paForUser, m.encodePaForUser, m.decodePaForUser),
];

describe("message codec round trips (property tests)", () => {
  for (const k of CASES) {
    it(`${k.name}: decode(encode(x)) = x and the encoding is canonical`, () => {
      fc.assert(
        fc.property(k.arb, (x) => {
          const der = k.encode(x);
          const back = k.decode(der);
          assert.deepStrictEqual(back, x);
          assert.deepStrictEqual(k.encode(back), der);
        }),
        { numRuns: 150 },
      );
    });
  }

  it("decodeKrbMessage dispatches on the APPLICATION tag (RFC 4120 §5.10)", () => {
    fc.assert(
      fc.property(a.kdcReq, a.kdcRep, a.apReq, a.krbError, (req, rep, ap, err) => {
        assert.equal(m.decodeKrbMessage(m.encodeAsReq(req)).type, "AS-REQ");
        assert.equal(m.decodeKrbMessage(m.encodeTgsReq(req)).type, "TGS-REQ");
        assert.equal(m.decodeKrbMessage(m.encodeAsRep(rep)).type, "AS-REP");
        assert.equal(m.decodeKrbMessage(m.encodeTgsRep(rep)).type, "TGS-REP");
        assert.equal(m.decodeKrbMessage(m.encodeApReq(ap)).type, "AP-REQ");
        assert.deepStrictEqual(m.decodeKrbMessage(m.encodeKrbError(err)), {
          type: "KRB-ERROR",
          value: err,
        });
      }),
      { numRuns: 50 },
    );
  });

  it("kdcReqBodyBytes returns the req-body exactly as encoded (RFC 4120 §5.4.1 checksum input)", () => {
    fc.assert(
      fc.property(a.kdcReq, (req) => {
        assert.deepStrictEqual(
          m.kdcReqBodyBytes(m.encodeTgsReq(req)),
          m.encodeKdcReqBody(req.reqBody),
        );
      }),
      { numRuns: 50 },
    );
  });

  it("an AS-REP's enc-part may carry either EncASRepPart or EncTGSRepPart (RFC 4120 §5.4.2 note)", () => {
    fc.assert(
      fc.property(a.encKdcRepPart, (p) => {
        assert.deepStrictEqual(m.decodeEncKdcRepPart(m.encodeEncTgsRepPart(p)), {
          tag: 26,
          part: p,
        });
        assert.deepStrictEqual(m.decodeEncKdcRepPart(m.encodeEncAsRepPart(p)), {
          tag: 25,
          part: p,
        });
      }),
      { numRuns: 30 },
    );
  });
});
