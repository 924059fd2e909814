import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeClientInfo, encodeClientInfo } from "../../src/kerberos/pac/client-info.js";
import {
  decodePac,
  encodePac,
  type KerbValidationInfo,
  type Pac,
  PacError,
  sidFromBytes,
  sidToBytes,
} from "../../src/kerberos/pac/index.js";
import { decodeLogonInfo, encodeLogonInfo } from "../../src/kerberos/pac/logon-info.js";
import { decodePacContainer } from "../../src/kerberos/pac/pactype.js";
import { decodeUpnDnsInfo, encodeUpnDnsInfo } from "../../src/kerberos/pac/upn-dns-info.js";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const filetime = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
const text = fc.string({ maxLength: 40, unit: "binary-ascii" });
const sid = fc
  .tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.array(u32, { maxLength: 15 }))
  .map(([a, subs]) => [`S-1-${a}`, ...subs].join("-"));
const group = fc.record({ relativeId: u32, attributes: u32 });

const logonInfo: fc.Arbitrary<KerbValidationInfo> = fc.record({
  logonTime: filetime,
  logoffTime: filetime,
  kickOffTime: filetime,
  passwordLastSet: filetime,
  passwordCanChange: filetime,
  passwordMustChange: filetime,
  effectiveName: text,
  fullName: text,
  logonScript: text,
  profilePath: text,
  homeDirectory: text,
  homeDirectoryDrive: text,
  logonCount: u16,
  badPasswordCount: u16,
  userId: u32,
  primaryGroupId: u32,
  groupIds: fc.array(group, { maxLength: 20 }),
  userFlags: u32.map((f) => (f & ~(0x20 | 0x200)) >>> 0),
  userSessionKey: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  logonServer: text,
  logonDomainName: text,
  logonDomainId: fc.option(sid, { nil: null }),
  userAccountControl: u32,
  subAuthStatus: u32,
  lastSuccessfulILogon: filetime,
  lastFailedILogon: filetime,
  failedILogonCount: u32,
  extraSids: fc.array(fc.record({ sid, attributes: u32 }), { maxLength: 8 }),
  resourceGroupDomainSid: fc.option(sid, { nil: null }),
  resourceGroupIds: fc.array(group, { maxLength: 5 }),
});

/** What the encoder stores in UserFlags: EXTRA_SIDS / RESOURCE_GROUPS follow the lists. */
function withFlags(v: KerbValidationInfo): KerbValidationInfo {
  let f = v.userFlags;
  if (v.extraSids.length > 0) f |= 0x20;
  if (v.resourceGroupIds.length > 0) f |= 0x200;
  return { ...v, userFlags: f >>> 0 };
}

describe("MS-PAC codecs: round trips (property tests)", () => {
  it("MS-DTYP 2.4.2 SID text -> binary -> text is the identity", () => {
    fc.assert(
      fc.property(sid, (s) => {
        assert.equal(sidFromBytes(sidToBytes(s)).sid, s);
      }),
    );
    assert.equal(
      Buffer.from(sidToBytes("S-1-5-21-397955417-626881126-188441444")).toString("hex"),
      "010400000000000515000000595 1b817 66725d25 64633b0b".replaceAll(" ", ""),
    );
  });

  it("MS-DTYP 2.4.2 malformed SID text is refused with one line", () => {
    for (const bad of [
      "S-1",
      "S-2-5",
      "S-1-5-x",
      "S-1-5-4294967296",
      `S-1-5${"-1".repeat(16)}`,
      "S-1-281474976710656",
    ]) {
      assert.throws(
        () => sidToBytes(bad),
        (e: unknown) => e instanceof PacError && e.code === "pac-malformed",
        bad,
      );
    }
  });

  it("MS-PAC 2.5 KERB_VALIDATION_INFO encode -> decode is the identity", () => {
    fc.assert(
      fc.property(logonInfo, (v) => {
        const bytes = encodeLogonInfo(v);
        assert.equal(bytes.length % 8, 0);
        assert.deepEqual(decodeLogonInfo(bytes), structuredClone(withFlags(v)));
      }),
      { numRuns: 200 },
    );
  });

  it("MS-PAC 2.7 PAC_CLIENT_INFO and 2.10 UPN_DNS_INFO encode -> decode is the identity", () => {
    fc.assert(
      fc.property(
        filetime,
        text,
        text,
        text,
        fc.option(fc.tuple(text, sid)),
        (id, name, upn, dns, ext) => {
          assert.deepEqual(decodeClientInfo(encodeClientInfo({ clientId: id, name })), {
            clientId: id,
            name,
          });
          const u = ext
            ? { upn, dnsDomainName: dns, flags: 2, samName: ext[0], sid: ext[1] }
            : { upn, dnsDomainName: dns, flags: 0 };
          assert.deepEqual(decodeUpnDnsInfo(encodeUpnDnsInfo(u)), structuredClone(u));
        },
      ),
    );
  });

  it("MS-PAC 2.3 PAC container: every buffer lands on an 8-byte boundary and round-trips", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            type: fc.integer({ min: 20, max: 1000 }),
            data: fc.uint8Array({ maxLength: 50 }),
          }),
          {
            minLength: 1,
            maxLength: 10,
          },
        ),
        (raws) => {
          const pac: Pac = {
            buffers: raws.map((r) => ({ kind: "raw", type: r.type, data: r.data })),
          };
          const bytes = encodePac(pac);
          for (const b of decodePacContainer(bytes)) assert.equal(b.offset % 8, 0);
          assert.deepEqual(decodePac(bytes), structuredClone(pac));
        },
      ),
    );
  });

  it("MS-PAC 2.14 ATTRIBUTES_INFO and 2.15 REQUESTER_SID round-trip inside a PAC", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), sid, (flags, requester) => {
        const pac: Pac = {
          buffers: [
            { kind: "attributes-info", value: { flagsLength: 2, flags } },
            { kind: "requester-sid", value: requester },
          ],
        };
        assert.deepEqual(decodePac(encodePac(pac)), structuredClone(pac));
      }),
    );
  });

  it("MS-PAC 2.5 random bytes after valid headers never crash the LOGON_INFO decoder", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (junk) => {
        const buf = new Uint8Array(16 + junk.length);
        buf.set([1, 0x10, 8, 0, 0xcc, 0xcc, 0xcc, 0xcc]);
        new DataView(buf.buffer).setUint32(8, junk.length, true);
        buf.set(junk, 16);
        try {
          decodeLogonInfo(buf);
        } catch (e) {
          assert.ok(e instanceof PacError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("MS-PAC 2.3 hostile headers: huge counts and offsets are refused before allocation", () => {
    const b = new Uint8Array(24);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, 0xffffffff, true);
    assert.throws(() => decodePac(b), /cBuffers 4294967295 is outside 1\.\.256/);
    dv.setUint32(0, 1, true);
    dv.setUint32(8, 1, true);
    dv.setUint32(12, 0xffffffff, true);
    assert.throws(() => decodePac(b), /unaligned or outside/);
    dv.setUint32(4, 1, true);
    assert.throws(() => decodePac(b), /Version 1, expected 0/);
  });
});
