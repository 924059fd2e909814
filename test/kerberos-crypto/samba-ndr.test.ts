/**
 * Interop: Samba's own NDR code (python3-samba, samba.dcerpc.krb5pac) reads the PACs we
 * encode (signed, with LOGON_INFO, CLIENT_INFO, UPN_DNS_INFO, ATTRIBUTES_INFO, REQUESTER_SID)
 * field for field, and its
 * re-encoding of them is byte-identical to ours. The MS-PAC example round-trips through it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import fc from "fast-check";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import {
  buildLogonInfo,
  decodePac,
  findBuffer,
  findSignature,
  type KerbValidationInfo,
  type Pac,
  signPac,
} from "../../src/kerberos/pac/index.js";
import { loadVectors, toHex } from "./load-vectors.js";

const SCRIPT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../test/kerberos-crypto/samba-pac.py",
);

interface SambaView {
  buffers: Record<string, unknown>[];
  repacked: string;
}

/** Samba's reading of each PAC (one python3 process for the batch). */
function samba(pacs: Uint8Array[]): SambaView[] {
  const r = spawnSync("/usr/bin/python3", [SCRIPT], {
    input: `${pacs.map(toHex).join("\n")}\n`,
    encoding: "utf8",
    timeout: 60000,
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `python3-samba (Debian package samba) is required: ${r.stderr}`);
  return r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as SambaView);
}

function expectSame(ours: KerbValidationInfo, theirs: Record<string, unknown>): void {
  const pairs = (g: { relativeId: number; attributes: number }[]) =>
    g.map((x) => [x.relativeId, x.attributes]);
  assert.deepEqual(theirs, {
    effectiveName: ours.effectiveName,
    fullName: ours.fullName,
    logonScript: ours.logonScript,
    profilePath: ours.profilePath,
    homeDirectory: ours.homeDirectory,
    homeDirectoryDrive: ours.homeDirectoryDrive,
    logonTime: ours.logonTime.toString(),
    logonCount: ours.logonCount,
    badPasswordCount: ours.badPasswordCount,
    userId: ours.userId,
    primaryGroupId: ours.primaryGroupId,
    groupIds: pairs(ours.groupIds),
    userFlags: ours.userFlags,
    logonServer: ours.logonServer,
    logonDomainName: ours.logonDomainName,
    logonDomainId: ours.logonDomainId,
    userAccountControl: ours.userAccountControl,
    extraSids: ours.extraSids.map((e) => [e.sid, e.attributes]),
    resourceGroupDomainSid: ours.resourceGroupDomainSid,
    resourceGroupIds: pairs(ours.resourceGroupIds),
  });
}

const word = fc.string({ minLength: 1, maxLength: 20, unit: "grapheme-ascii" });
const rid = fc.integer({ min: 500, max: 0x7fffffff });
const sid = fc
  .array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 6 })
  .map((subs) => ["S-1-5", ...subs].join("-"));

function pacFrom(i: {
  name: string;
  userId: number;
  groups: number[];
  extra: string[];
  resource?: { sid: string; rids: number[] };
}): Pac {
  const logon = buildLogonInfo({
    userName: i.name,
    fullName: `${i.name} full`,
    userId: i.userId,
    groupRids: i.groups,
    extraSids: i.extra,
    domainSid: "S-1-5-21-1004336348-1177238915-682003330",
    domainName: "EXAMPLE",
    logonServer: "DC1",
    logonTimeMs: Date.UTC(2026, 10, 27),
  });
  if (i.resource) {
    logon.resourceGroupDomainSid = i.resource.sid;
    logon.resourceGroupIds = i.resource.rids.map((r) => ({
      relativeId: r,
      attributes: 0x20000007,
    }));
  }
  return {
    buffers: [
      { kind: "logon-info", value: logon },
      { kind: "client-info", value: { clientId: logon.logonTime, name: i.name } },
      {
        kind: "upn-dns-info",
        value: {
          upn: `${i.name}@example.test`,
          dnsDomainName: "EXAMPLE.TEST",
          flags: 0,
          samName: i.name,
          sid: `S-1-5-21-1-2-3-${i.userId}`,
        },
      },
      { kind: "attributes-info", value: { flagsLength: 2, flags: 1 } },
      { kind: "requester-sid", value: `S-1-5-21-1-2-3-${i.userId}` },
    ],
  };
}

describe("PACs we encode, read by Samba's NDR (python3-samba)", () => {
  it("MS-PAC 3 example: Samba decodes the same fields we do and re-encodes it byte for byte", () => {
    const ex = loadVectors<{ pacHex: string }>("ms-pac/structure-example.json");
    const bytes = Buffer.from(ex.pacHex, "hex");
    const [view] = samba([bytes]);
    assert.equal(view!.repacked, ex.pacHex);
    expectSame(
      findBuffer(decodePac(bytes), "logon-info")!.value,
      view!.buffers[0]!.logon as Record<string, unknown>,
    );
  });

  it("MS-PAC 2.5-2.10 signed PACs (random names, groups, extra SIDs, resource groups): Samba reads every field and re-encodes our bytes exactly", () => {
    const inputs = fc.sample(
      fc.record({
        name: word,
        userId: rid,
        groups: fc.array(rid, { maxLength: 30 }),
        extra: fc.array(sid, { maxLength: 5 }),
        resource: fc.option(
          fc.record({ sid, rids: fc.array(rid, { minLength: 1, maxLength: 4 }) }),
          { nil: undefined },
        ),
      }),
      { numRuns: 120, seed: 20261127 },
    );
    const server = { etype: 18, key: getEnctype(18).generateKey() };
    const kdc = { etype: 20, key: getEnctype(20).generateKey() };
    const signed = inputs.map((i) =>
      signPac(pacFrom(i), server, kdc, { extendedKdcSignature: true }),
    );
    const views = samba(signed);
    views.forEach((view, n) => {
      const bytes = signed[n]!;
      assert.equal(view.repacked, toHex(bytes), `PAC ${n}: Samba's re-encoding differs`);
      const pac = decodePac(bytes);
      const byType = (t: number) => view.buffers.find((b) => b.type === t)!;
      expectSame(findBuffer(pac, "logon-info")!.value, byType(1).logon as Record<string, unknown>);
      const ci = findBuffer(pac, "client-info")!.value;
      assert.equal(byType(10).name, ci.name);
      assert.equal(byType(10).clientId, ci.clientId.toString());
      const upn = findBuffer(pac, "upn-dns-info")!.value;
      assert.deepEqual(
        [byType(12).upn, byType(12).dns, byType(12).flags, byType(12).samName, byType(12).sid],
        [upn.upn, upn.dnsDomainName, 2, upn.samName, upn.sid],
      );
      assert.deepEqual([byType(17).flagsLength, byType(17).flags], [2, 1]);
      assert.equal(byType(18).sid, findBuffer(pac, "requester-sid")!.value);
      for (const t of [6, 7, 19] as const) {
        const s = findSignature(pac, t)!;
        assert.equal(byType(t).signatureType, s.signatureType);
        assert.equal(byType(t).signature, toHex(s.signature));
      }
    });
  });
});
