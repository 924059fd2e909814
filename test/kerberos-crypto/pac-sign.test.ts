import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import {
  buildLogonInfo,
  checkClientInfo,
  decodePac,
  findSignature,
  type Pac,
  PacError,
  type PacKey,
  layOutPac,
  signPac,
  signPacLayout,
  USER_FLAGS,
  verifyPac,
} from "../../src/kerberos/pac/index.js";

const DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330";

function key(etype: number): PacKey {
  return { etype, key: getEnctype(etype).generateKey() };
}

function machinePac(groupRids: number[] = [515, 1105]): Pac {
  const logon = buildLogonInfo({
    userName: "WS01$",
    userId: 1104,
    primaryGroupId: 515,
    groupRids,
    extraSids: ["S-1-18-1"],
    domainSid: DOMAIN_SID,
    domainName: "EXAMPLE",
    logonServer: "DC1",
    logonTimeMs: Date.UTC(2026, 10, 27, 8, 0, 0),
    userAccountControl: 0x1000,
  });
  return {
    buffers: [
      { kind: "logon-info", value: logon },
      { kind: "client-info", value: { clientId: logon.logonTime, name: "WS01$" } },
      {
        kind: "upn-dns-info",
        value: {
          upn: "ws01$@example.test",
          dnsDomainName: "EXAMPLE.TEST",
          flags: 0,
          samName: "WS01$",
          sid: `${DOMAIN_SID}-1104`,
        },
      },
    ],
  };
}

const isPacError = (code: string) => (e: unknown) => e instanceof PacError && e.code === code;
const TICKET = new TextEncoder().encode("DER EncTicketPart with a one-zero-byte PAC placeholder");

describe("MS-PAC 2.8 signing and verification", () => {
  for (const [serverEtype, kdcEtype] of [
    [18, 18],
    [17, 18],
    [19, 20],
    [20, 20],
    [18, 20],
  ] as const) {
    it(`MS-PAC 2.8.1 sign then verify: server key ${serverEtype}, KDC key ${kdcEtype}, with ticket and extended KDC signatures`, () => {
      const server = key(serverEtype);
      const kdc = key(kdcEtype);
      const bytes = signPac(machinePac(), server, kdc, {
        ticket: TICKET,
        extendedKdcSignature: true,
      });
      const v = verifyPac(bytes, server, kdc, { ticket: TICKET });
      assert.deepEqual(v.verified, { server: true, kdc: true, extendedKdc: true, ticket: true });
      assert.equal(v.userSid, `${DOMAIN_SID}-1104`);
      assert.equal(v.primaryGroupSid, `${DOMAIN_SID}-515`);
      assert.deepEqual(v.groupSids, [`${DOMAIN_SID}-515`, `${DOMAIN_SID}-1105`, "S-1-18-1"]);
      assert.equal(v.logonInfo.userFlags & USER_FLAGS.EXTRA_SIDS, USER_FLAGS.EXTRA_SIDS);
      assert.equal(v.clientInfo?.name, "WS01$");
      assert.equal(v.upnDnsInfo?.sid, `${DOMAIN_SID}-1104`);
      assert.equal(v.upnDnsInfo?.samName, "WS01$");
      const sig = findSignature(v.pac, 6)!;
      assert.equal(sig.signatureType, getEnctype(serverEtype).checksumType);
      assert.equal(findSignature(v.pac, 7)!.signatureType, getEnctype(kdcEtype).checksumType);
    });
  }

  it("MS-PAC 2.8 one layout signed for several tickets equals signing each afresh; the layout is unchanged", () => {
    for (const [se, ke] of [
      [18, 18],
      [17, 20],
      [19, 18],
    ] as const) {
      const server = key(se);
      const kdc = key(ke);
      const layout = layOutPac(machinePac(), se, ke, { ticket: true });
      const before = Uint8Array.from(layout.bytes);
      for (const t of [Uint8Array.of(1, 2, 3), new Uint8Array(300).fill(7)]) {
        const reused = signPacLayout(layout, server, kdc, { ticket: t });
        assert.deepEqual(reused, signPac(machinePac(), server, kdc, { ticket: t }));
        assert.ok(verifyPac(reused, server, kdc, { ticket: t }).verified.ticket);
      }
      assert.deepEqual(layout.bytes, before);
      const tgtLayout = layOutPac(machinePac(), se, ke);
      assert.deepEqual(signPacLayout(tgtLayout, server, kdc), signPac(machinePac(), server, kdc));
      assert.throws(() => signPacLayout(layout, server, kdc), RangeError);
      assert.throws(() => signPacLayout(tgtLayout, key(se === 17 ? 18 : 17), kdc), RangeError);
    }
  });

  it("MS-PAC 2.7 CLIENT_INFO must name the ticket's client and authtime", () => {
    const server = key(18);
    const v = verifyPac(signPac(machinePac(), server, key(18)), server);
    const authTimeMs = Date.UTC(2026, 10, 27, 8, 0, 0);
    checkClientInfo(v.pac, { name: "WS01$", authTimeMs: authTimeMs + 999 });
    assert.throws(
      () => checkClientInfo(v.pac, { name: "WS02$", authTimeMs }),
      (e: unknown) =>
        e instanceof PacError &&
        e.code === "pac-client-mismatch" &&
        e.krbErrorCode === 41 &&
        e.message === 'PAC CLIENT_INFO: name "WS01$" is not the ticket\'s client "WS02$"',
    );
    assert.throws(
      () => checkClientInfo(v.pac, { name: "WS01$", authTimeMs: authTimeMs + 1000 }),
      /ClientId 2026-11-27T08:00:00.000Z is not the ticket's authtime 2026-11-27T08:00:01.000Z/,
    );
  });

  it("MS-PAC 2.8 a service without the KDC key still verifies the server signature", () => {
    const server = key(18);
    const v = verifyPac(signPac(machinePac(), server, key(18)), server);
    assert.deepEqual(v.verified, { server: true, kdc: false, extendedKdc: false, ticket: false });
  });

  it("MS-PAC 2.8 a group added to the account shows in a newly signed PAC", () => {
    const server = key(18);
    const kdc = key(18);
    const before = verifyPac(signPac(machinePac([1105]), server, kdc), server, kdc);
    const after = verifyPac(signPac(machinePac([1105, 1200]), server, kdc), server, kdc);
    assert.equal(before.groupSids.includes(`${DOMAIN_SID}-1200`), false);
    assert.equal(after.groupSids.includes(`${DOMAIN_SID}-1200`), true);
  });

  it("MS-PAC 2.8.4 a wrong service key fails as pac-bad-signature (KRB_AP_ERR_BAD_INTEGRITY)", () => {
    const bytes = signPac(machinePac(), key(18), key(18));
    assert.throws(
      () => verifyPac(bytes, key(18)),
      (e: unknown) =>
        e instanceof PacError &&
        e.code === "pac-bad-signature" &&
        e.krbErrorCode === 31 &&
        e.message ===
          "PAC server signature does not verify (hmac-sha1-96-aes256): wrong key or modified PAC",
    );
  });

  it("MS-PAC 2.8.5 a wrong KDC key fails the KDC signature", () => {
    const server = key(18);
    const bytes = signPac(machinePac(), server, key(18));
    assert.throws(() => verifyPac(bytes, server, key(18)), /PAC KDC signature does not verify/);
  });

  it("MS-PAC 2.8.2 a changed ticket fails the ticket signature", () => {
    const server = key(18);
    const kdc = key(18);
    const bytes = signPac(machinePac(), server, kdc, { ticket: TICKET });
    const other = Uint8Array.from(TICKET);
    other[0]! ^= 1;
    assert.throws(
      () => verifyPac(bytes, server, kdc, { ticket: other }),
      /PAC ticket signature does not verify/,
    );
  });

  it("MS-PAC 2.8 a key whose enctype does not fit the signature type is refused with one line", () => {
    const server = key(18);
    const bytes = signPac(machinePac(), server, key(18));
    assert.throws(
      () => verifyPac(bytes, { etype: 17, key: new Uint8Array(16) }),
      (e: unknown) =>
        e instanceof PacError &&
        e.code === "pac-key-mismatch" &&
        e.message ===
          "PAC server signature: checksum type 16 (hmac-sha1-96-aes256) needs a aes256-cts-hmac-sha1-96 (18) key, got aes128-cts-hmac-sha1-96 (17)",
    );
  });

  it("MS-PAC 2.8 a PAC without signatures or without LOGON_INFO is refused", () => {
    const server = key(18);
    const signed = signPac(machinePac(), server, key(18));
    const pac = decodePac(signed);
    const noLogon = signPac(
      { buffers: pac.buffers.filter((b) => b.kind !== "logon-info") },
      server,
      key(18),
    );
    assert.throws(() => verifyPac(noLogon, server), isPacError("pac-missing-buffer"));
  });

  it("MS-PAC 2.8 every single-byte change of a signed PAC is caught (typed error, never a crash)", () => {
    const server = key(18);
    const kdc = key(20);
    const bytes = signPac(machinePac(), server, kdc, { extendedKdcSignature: true });
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const m = Uint8Array.from(bytes);
        m[i]! ^= x;
        // The server signature covers every byte but its own and the KDC's; those two are
        // covered by the KDC signature and the server signature check itself.
        assert.throws(
          () => verifyPac(m, server, kdc),
          (e: unknown) => e instanceof PacError,
          `flip at ${i}`,
        );
      }),
      { numRuns: 400 },
    );
  });

  it("MS-PAC 2.8 truncating a signed PAC anywhere gives a typed error", () => {
    const server = key(18);
    const bytes = signPac(machinePac(), server, key(18));
    for (let n = 0; n < bytes.length; n += 3) {
      assert.throws(
        () => verifyPac(bytes.subarray(0, n), server),
        (e: unknown) => e instanceof PacError,
      );
    }
  });
});
