import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  APPLY_GROUP_POLICY,
  computeScope,
  type GpoObject,
  parseGpLink,
  type Som,
  somChain,
} from "../../src/gpipsec/scope.js";
import { type Ace, decodeDacl } from "../../src/gpipsec/secdesc.js";

const DOMAIN = "DC=ad,DC=example";
const ME = "S-1-5-21-1-2-3-1105";
const GROUP = "S-1-5-21-1-2-3-1200";
const OTHER = "S-1-5-21-1-2-3-1300";
const RP_LC_RC = 0x20094;
const CR = 0x100;

function sidBytes(sid: string): Buffer {
  const [, , auth, ...subs] = sid.split("-");
  const b = Buffer.alloc(8 + 4 * subs.length);
  b[0] = 1;
  b[1] = subs.length;
  b.writeUIntBE(Number(auth), 2, 6);
  for (const [i, s] of subs.entries()) b.writeUInt32LE(Number(s), 8 + 4 * i);
  return b;
}

function guidBytes(g: string): Buffer {
  const h = g.replace(/-/g, "");
  const le = (s: number, e: number) => Buffer.from(h.slice(s, e), "hex").reverse();
  return Buffer.concat([le(0, 8), le(8, 12), le(12, 16), Buffer.from(h.slice(16), "hex")]);
}

/** A self-relative SD with an owner and a DACL (as AD returns with SD flags 5). */
function sd(aces: Ace[]): Buffer {
  const body = aces.map((a) => {
    const obj = a.type === 5 || a.type === 6;
    const parts: Buffer[] = [Buffer.alloc(8)];
    if (obj) {
      const f = Buffer.alloc(4);
      f.writeUInt32LE(a.objectType ? 1 : 0);
      parts.push(f);
      if (a.objectType) parts.push(guidBytes(a.objectType));
    }
    parts.push(sidBytes(a.sid));
    const ace = Buffer.concat(parts);
    ace[0] = a.type;
    ace[1] = a.flags;
    ace.writeUInt16LE(ace.length, 2);
    ace.writeUInt32LE(a.mask >>> 0, 4);
    return ace;
  });
  const aclBody = Buffer.concat(body);
  const acl = Buffer.concat([Buffer.alloc(8), aclBody]);
  acl[0] = 4;
  acl.writeUInt16LE(acl.length, 2);
  acl.writeUInt16LE(aces.length, 4);
  const owner = sidBytes("S-1-5-32-544");
  const head = Buffer.alloc(20);
  head[0] = 1;
  head.writeUInt16LE(0x8004, 2);
  head.writeUInt32LE(20, 4);
  head.writeUInt32LE(20 + owner.length, 16);
  return Buffer.concat([head, owner, acl]);
}

const read = (sid: string): Ace => ({ type: 0, flags: 0, mask: RP_LC_RC, sid });
const apply = (sid: string): Ace => ({
  type: 5,
  flags: 0,
  mask: CR,
  objectType: APPLY_GROUP_POLICY,
  sid,
});
const denyApply = (sid: string): Ace => ({
  type: 6,
  flags: 0,
  mask: CR,
  objectType: APPLY_GROUP_POLICY,
  sid,
});
/** The default GPO DACL: Authenticated Users read and apply. */
const DEFAULT = sd([read("S-1-5-11"), apply("S-1-5-11")]);

const guid = (n: number) => `${String(n).padStart(8, "0")}-0000-0000-0000-000000000000`;
const link = (n: number, flags = 0) =>
  `[LDAP://cn={${guid(n)}},cn=policies,cn=system,${DOMAIN};${flags}]`;

function gpos(...defs: [number, Partial<GpoObject>?][]): Map<string, GpoObject> {
  return new Map(
    defs.map(([n, o]) => [
      guid(n),
      { guid: guid(n), name: `G${n}`, flags: 0, securityDescriptor: DEFAULT, ...o },
    ]),
  );
}

const names = (s: { name: string }[]) => s.map((g) => g.name);

describe("gPLink and the container chain", () => {
  it("parses links in string order with their flags, GUIDs lower case", () => {
    const links = parseGpLink(`${link(1)}${link(2, 2)}`.replace("cn={0", "CN={0"));
    assert.deepEqual(
      links.map((l) => [l.guid, l.flags]),
      [
        [guid(1), 0],
        [guid(2), 2],
      ],
    );
    assert.deepEqual(parseGpLink(" "), []);
  });

  it("refuses a malformed gPLink whole, naming the place", () => {
    assert.throws(() => parseGpLink(`${link(1)}[LDAP://cn=x;0]`), /does not name a GPO/);
    assert.throws(() => parseGpLink(`${link(1)}junk`), /at character \d+/);
  });

  it("walks the domain then the OUs top down, skipping CN containers", () => {
    assert.deepEqual(somChain(`CN=PC1,OU=Lab,OU=Sites,${DOMAIN}`, DOMAIN), [
      DOMAIN,
      `OU=Sites,${DOMAIN}`,
      `OU=Lab,OU=Sites,${DOMAIN}`,
    ]);
    assert.deepEqual(somChain(`CN=PC1,CN=Computers,${DOMAIN}`, DOMAIN), [DOMAIN]);
    assert.throws(() => somChain("CN=PC1,DC=other", DOMAIN), /not in/);
  });
});

describe("which GPOs apply", () => {
  const ou = `OU=Lab,${DOMAIN}`;
  it("domain first, then OUs; link order within a container; disabled links skipped", () => {
    const soms: Som[] = [
      { dn: DOMAIN, gpLink: `${link(1)}${link(2)}`, gpOptions: 0 },
      { dn: ou, gpLink: `${link(3, 1)}${link(4)}`, gpOptions: 0 },
    ];
    const r = computeScope(soms, gpos([1], [2], [3], [4]), [ME]);
    assert.deepEqual(names(r.applied), ["G1", "G2", "G4"]);
    assert.deepEqual(r.filtered, [{ guid: guid(3), name: "G3", som: ou, reason: "link disabled" }]);
  });

  it("block inheritance drops non-enforced links from above; enforced ones pass and win", () => {
    const soms: Som[] = [
      { dn: DOMAIN, gpLink: `${link(1)}${link(2, 2)}`, gpOptions: 0 },
      { dn: ou, gpLink: `${link(3, 2)}${link(4)}`, gpOptions: 1 },
    ];
    const r = computeScope(soms, gpos([1], [2], [3], [4]), [ME]);
    // Enforced after the rest, the lowest container's first: the domain's enforced link last.
    assert.deepEqual(names(r.applied), ["G4", "G3", "G2"]);
    assert.deepEqual(
      r.applied.map((a) => a.enforced),
      [false, true, true],
    );
    assert.deepEqual(
      r.filtered.map((f) => [f.name, f.reason, f.detail]),
      [["G1", "blocked by inheritance", ou]],
    );
  });

  it("without block inheritance an enforced domain link still applies after the OU's", () => {
    const soms: Som[] = [
      { dn: DOMAIN, gpLink: link(1, 2), gpOptions: 0 },
      { dn: ou, gpLink: link(2), gpOptions: 0 },
    ];
    assert.deepEqual(names(computeScope(soms, gpos([1], [2]), [ME]).applied), ["G2", "G1"]);
  });

  it("a GPO whose computer half is disabled is filtered out", () => {
    const soms: Som[] = [{ dn: DOMAIN, gpLink: `${link(1)}${link(2)}${link(3)}`, gpOptions: 0 }];
    const r = computeScope(soms, gpos([1, { flags: 2 }], [2, { flags: 1 }], [3, { flags: 3 }]), [
      ME,
    ]);
    assert.deepEqual(names(r.applied), ["G2"]);
    assert.deepEqual(
      r.filtered.map((f) => [f.name, f.reason]),
      [
        ["G1", "computer settings disabled"],
        ["G3", "computer settings disabled"],
      ],
    );
  });

  it("a GPO linked twice applies once, at its last place; a missing GPO is reported", () => {
    const soms: Som[] = [
      { dn: DOMAIN, gpLink: `${link(1)}${link(2)}${link(9)}`, gpOptions: 0 },
      { dn: ou, gpLink: link(1), gpOptions: 0 },
    ];
    const r = computeScope(soms, gpos([1], [2]), [ME]);
    assert.deepEqual(names(r.applied), ["G2", "G1"]);
    assert.equal(r.applied[1]?.som, ou);
    assert.deepEqual(
      r.filtered.map((f) => [f.name, f.reason]),
      [[`{${guid(9)}}`, "not found"]],
    );
  });
});

describe("security filtering", () => {
  const soms: Som[] = [{ dn: DOMAIN, gpLink: link(1), gpOptions: 0 }];
  const only = (desc: Buffer, token: string[]) =>
    computeScope(soms, gpos([1, { securityDescriptor: desc }]), token);

  it("applies when a group of the token has Read and Apply Group Policy", () => {
    const desc = sd([read("S-1-5-11"), apply(GROUP)]);
    assert.deepEqual(names(only(desc, [ME, GROUP]).applied), ["G1"]);
    const out = only(desc, [ME, OTHER]);
    assert.deepEqual(out.applied, []);
    assert.deepEqual(
      out.filtered.map((f) => [f.reason, f.detail]),
      [["denied by security filtering", "no Apply Group Policy for the computer or its groups"]],
    );
  });

  it("applies to the computer's own SID, and to Authenticated Users without listing it", () => {
    assert.deepEqual(names(only(sd([read(ME), apply(ME)]), [ME]).applied), ["G1"]);
    assert.deepEqual(names(only(DEFAULT, [ME]).applied), ["G1"]);
  });

  it("Apply without Read does not apply", () => {
    const r = only(sd([apply("S-1-5-11")]), [ME]);
    assert.equal(r.filtered[0]?.reason, "not readable (no Read permission)");
  });

  it("a deny ACE wins over an allow for a group the computer is in", () => {
    const r = only(sd([denyApply(GROUP), read("S-1-5-11"), apply("S-1-5-11")]), [ME, GROUP]);
    assert.deepEqual(
      r.filtered.map((f) => [f.reason, f.detail]),
      [["denied by security filtering", `Apply Group Policy denied to ${GROUP}`]],
    );
    // Not in the denied group: the allow stands.
    assert.deepEqual(
      names(only(sd([denyApply(GROUP), read("S-1-5-11"), apply("S-1-5-11")]), [ME]).applied),
      ["G1"],
    );
  });

  it("an extended-right ACE with no object type grants every extended right; inherit-only ACEs do not count", () => {
    const all: Ace = { type: 5, flags: 0, mask: CR, sid: GROUP };
    assert.deepEqual(names(only(sd([read(GROUP), all]), [GROUP]).applied), ["G1"]);
    const io: Ace = { ...apply(GROUP), flags: 0x08 };
    assert.equal(
      only(sd([read(GROUP), io]), [GROUP]).filtered[0]?.reason,
      "denied by security filtering",
    );
    const other: Ace = { ...apply(GROUP), objectType: "00299570-246d-11d0-a768-00aa006e0529" };
    assert.equal(
      only(sd([read(GROUP), other]), [GROUP]).filtered[0]?.reason,
      "denied by security filtering",
    );
  });

  it("full control (GENERIC_ALL) grants both", () => {
    const all: Ace = { type: 0, flags: 0, mask: 0x10000000, sid: GROUP };
    assert.deepEqual(names(only(sd([all]), [GROUP]).applied), ["G1"]);
  });
});

describe("the security descriptor codec", () => {
  it("reads back the ACEs it is given, GUIDs mixed-endian", () => {
    const aces = [read("S-1-5-11"), apply(GROUP), denyApply(OTHER)];
    assert.deepEqual(decodeDacl(sd(aces)), aces);
  });

  it("no DACL means no restriction; truncated descriptors are refused with one line", () => {
    const noDacl = Buffer.alloc(20);
    noDacl[0] = 1;
    assert.equal(decodeDacl(noDacl), null);
    const good = sd([read("S-1-5-11"), apply(GROUP)]);
    for (const n of [5, 30, good.length - 3]) {
      assert.throws(() => decodeDacl(good.subarray(0, n)), /^GpipsecError: nTSecurityDescriptor: /);
    }
  });
});
