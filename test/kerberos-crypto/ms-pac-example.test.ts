import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  decodePac,
  encodePac,
  findBuffer,
  findSignature,
  logonInfoSids,
  PacError,
  verifyPac,
} from "../../src/kerberos/pac/index.js";
import { decodePacContainer, encodePacContainer } from "../../src/kerberos/pac/pactype.js";
import { hex, loadVectors, toHex } from "./load-vectors.js";

interface Example {
  authorizationDataHex: string;
  pacOffsetInAuthorizationData: number;
  pacHex: string;
  expected: {
    buffers: { type: number; size: number; offset: number }[];
    logonInfo: Record<string, unknown> & {
      groupIds: { relativeId: number; attributes: number }[];
      firstGroup: { relativeId: number; attributes: number };
    };
    clientInfo: { clientId: string; name: string };
    signatures: Record<"server" | "kdc", { signatureType: number; signature: string }>;
  };
}

const ex = loadVectors<Example>("ms-pac/structure-example.json");
const pacBytes = hex(ex.pacHex);
const e = ex.expected;

describe("MS-PAC 3 structure example", () => {
  it("MS-PAC 3 the AD-IF-RELEVANT prefix wraps ad-type 128 (AD-WIN2K-PAC) around the PAC", () => {
    const ad = hex(ex.authorizationDataHex);
    // ... a0 04 02 02 00 80: ad-type INTEGER 128
    assert.equal(toHex(ad.subarray(8, 14)), "a00402020080");
    assert.deepEqual(ad.subarray(ex.pacOffsetInAuthorizationData), pacBytes);
  });

  it("MS-PAC 3 / 2.3-2.4 PACTYPE: four buffers with the stated types, sizes and offsets", () => {
    const raw = decodePacContainer(pacBytes);
    assert.deepEqual(
      raw.map((b) => ({ type: b.type, size: b.data.length, offset: b.offset })),
      e.buffers,
    );
    // Laying the same buffers out again reproduces the example byte for byte (8-byte alignment).
    assert.deepEqual(encodePacContainer(raw).bytes, Uint8Array.from(pacBytes));
  });

  it("MS-PAC 3.1 KERB_VALIDATION_INFO decodes to the annotated values", () => {
    const li = findBuffer(decodePac(pacBytes), "logon-info")!.value;
    const x = e.logonInfo;
    for (const k of [
      "effectiveName",
      "fullName",
      "logonScript",
      "profilePath",
      "homeDirectory",
      "homeDirectoryDrive",
      "logonCount",
      "badPasswordCount",
      "userId",
      "primaryGroupId",
      "userFlags",
      "logonServer",
      "logonDomainName",
      "logonDomainId",
      "userAccountControl",
    ] as const) {
      assert.deepEqual(li[k], x[k], k);
    }
    assert.equal(li.logonTime.toString(16).padStart(16, "0"), x.logonTime);
    assert.equal(li.logoffTime.toString(16), x.logoffTime);
    assert.equal(li.kickOffTime.toString(16), x.kickOffTime);
    assert.equal(li.groupIds.length, x.groupCount);
    assert.deepEqual(li.groupIds[0], x.firstGroup);
    assert.deepEqual(li.groupIds, x.groupIds);
    assert.equal(li.extraSids.length, x.sidCount);
    assert.ok(li.extraSids.every((s) => s.sid.startsWith("S-1-5-21-")));
  });

  it("MS-PAC 3.1 group SIDs are the domain SID with each RID appended", () => {
    const li = findBuffer(decodePac(pacBytes), "logon-info")!.value;
    const sids = logonInfoSids(li);
    assert.equal(sids.domainSid, e.logonInfo.logonDomainId);
    assert.equal(sids.userSid, `${e.logonInfo.logonDomainId}-2914711`);
    assert.ok(sids.groupSids.includes(e.logonInfo.firstGroupSid as string));
    // UserFlags has EXTRA_SIDS (0x20): the 13 extra SIDs are part of the groups.
    for (const s of li.extraSids) assert.ok(sids.groupSids.includes(s.sid));
  });

  it("MS-PAC 3.2 PAC_CLIENT_INFO: ClientId and name", () => {
    const ci = findBuffer(decodePac(pacBytes), "client-info")!.value;
    assert.equal(ci.clientId.toString(16).padStart(16, "0"), e.clientInfo.clientId);
    assert.equal(ci.name, e.clientInfo.name);
  });

  it("MS-PAC 3 signatures are KERB_CHECKSUM_HMAC_MD5 (-138), which we decode but refuse to trust", () => {
    const pac = decodePac(pacBytes);
    for (const [type, name] of [
      [6, "server"],
      [7, "kdc"],
    ] as const) {
      const s = findSignature(pac, type)!;
      assert.equal(s.signatureType, e.signatures[name].signatureType);
      assert.equal(toHex(s.signature), e.signatures[name].signature);
    }
    assert.throws(
      () => verifyPac(pacBytes, { etype: 18, key: new Uint8Array(32) }),
      (err: unknown) =>
        err instanceof PacError &&
        err.code === "pac-unsupported-checksum" &&
        err.krbErrorCode === 15 &&
        /PAC server signature: checksum type -138 \(hmac-md5 \(rc4-hmac\)\) is not supported/.test(
          err.message,
        ),
    );
  });

  it("MS-PAC 3 re-encoding the decoded example gives the same bytes", () => {
    const once = decodePac(pacBytes);
    const again = decodePac(encodePac(once));
    assert.deepEqual(again, once);
    // Our encoder lays the example out byte for byte as Windows did.
    assert.equal(toHex(encodePac(once)), ex.pacHex);
  });

  it("MS-PAC 3 mutation fuzz: byte flips and truncations give a PacError or a PAC, never a crash", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(pacBytes.length - 1), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(pacBytes.length),
        (flips, cut) => {
          const m = Uint8Array.from(pacBytes);
          for (const [i, x] of flips) m[i]! ^= x;
          for (const input of [m, m.subarray(0, cut)]) {
            try {
              decodePac(input);
            } catch (err) {
              if (!(err instanceof PacError)) throw err;
              assert.ok(err.message.length < 300 && !err.message.includes("\n"));
            }
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
