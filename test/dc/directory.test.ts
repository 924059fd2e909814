import { SCHEMA_VERSION } from "../../src/dc/schema.js";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  addComputer,
  deleteComputer,
  resetComputerKey,
  setComputerEnctypes,
  showComputer,
} from "../../src/dc/computers.js";
import { type Directory, dumpDirectory, openDirectory } from "../../src/dc/directory.js";
import {
  addGroup,
  addMember,
  deleteGroup,
  effectiveGroupRids,
  effectiveGroups,
  groupMembers,
  removeMember,
} from "../../src/dc/groups.js";
import { verifyPassword } from "../../src/dc/keys.js";
import { dbPath } from "../../src/dc/paths.js";
import { createPrincipalDatabase } from "../../src/dc/principals.js";
import { checkAdminPassword, setAdminPassword } from "../../src/dc/admin-account.js";
import { listAudit } from "../../src/dc/audit.js";
import { setDelegation, showDelegation } from "../../src/dc/delegation.js";
import { tempHome } from "../helpers/cli.js";
import { newDirectory, PASSWORD } from "./helpers.js";

function unchanged(dir: Directory, fn: () => unknown, code: string): void {
  const before = JSON.stringify(dumpDirectory(dir));
  assert.throws(fn, (e: Error & { code?: string }) => e.code === code && !e.message.includes("\n"));
  assert.equal(
    JSON.stringify(dumpDirectory(dir)),
    before,
    "a refused change leaves the directory unchanged",
  );
}

describe("directory: a fresh domain (MS-DTYP 2.4.2.4 well-known RIDs)", () => {
  const home = tempHome("pdc-dir");
  let dir: Directory;
  before(() => {
    dir = newDirectory(home.dir);
  });
  after(() => {
    dir?.close();
    home.cleanup();
  });

  it("has a random S-1-5-21 domain SID, realm and NetBIOS name", () => {
    const d = dir.domain();
    assert.match(d.sid, /^S-1-5-21-\d+-\d+-\d+$/);
    assert.equal(d.realm, "BIGFIRM.COM");
    assert.equal(d.netbios, "BIGFIRM");
    assert.equal(d.dcHostName, "dc1.bigfirm.com");
  });

  it("holds the built-in groups 512, 513, 515, 516 and Administrator 500 in Domain Admins", () => {
    const sid = dir.domain().sid;
    const admin = effectiveGroups(dir, "Administrator").map((g) => g.sid);
    assert.deepEqual(admin, [`${sid}-513`, `${sid}-512`]);
    const dcs = groupMembers(dir, "Domain Controllers");
    assert.deepEqual(
      dcs.map((m) => [m.name, m.primary]),
      [["DC1$", true]],
    );
    assert.equal(showComputer(dir, "dc1").rid, 1000, "the first DC's account takes RID 1000");
  });

  it("keeps the administrator password as a PBKDF2 hash only", () => {
    const row = dir.stmt("SELECT password_hash FROM users WHERE rid = 500").get() as {
      password_hash: string;
    };
    assert.ok(!row.password_hash.includes(PASSWORD));
    assert.ok(verifyPassword(PASSWORD, row.password_hash));
    assert.ok(!verifyPassword("wrong-password", row.password_hash));
  });

  it("adds computers with RIDs from 1001 up, NAME$, SPNs and keys for enctypes 17 and 18 (AD's default 0x18)", () => {
    const c = addComputer(dir, "test", "xpclient");
    assert.equal(c.sam, "XPCLIENT$");
    assert.equal(c.rid, 1001);
    assert.equal(c.dnsHostName, "xpclient.bigfirm.com");
    assert.deepEqual(c.spns, ["host/XPCLIENT", "host/xpclient.bigfirm.com"]);
    assert.deepEqual(c.etypes, [17, 18]);
    assert.equal(c.supportedEnctypes, 0x18);
    assert.equal(c.kvno, 1);
    const keys = dir
      .stmt("SELECT etype, length(key) AS n FROM keys WHERE rid = ? ORDER BY etype")
      .all(c.rid);
    assert.deepEqual(keys, [
      { etype: 17, n: 16 },
      { etype: 18, n: 32 },
    ]);
    assert.equal(addComputer(dir, "test", "server1").rid, 1002);
  });

  it("never reuses a RID after a delete (as a RID pool)", () => {
    const c = addComputer(dir, "test", "temp1");
    deleteComputer(dir, "test", "temp1$");
    assert.equal(addComputer(dir, "test", "temp2").rid, c.rid + 1);
  });

  it("reset-key draws new keys with kvno + 1", () => {
    const before = dir.stmt("SELECT key FROM keys WHERE rid = 1001 AND etype = 18").get() as {
      key: Buffer;
    };
    assert.equal(resetComputerKey(dir, "test", "xpclient"), 2);
    const afterKey = dir.stmt("SELECT key FROM keys WHERE rid = 1001 AND etype = 18").get() as {
      key: Buffer;
    };
    assert.notDeepEqual(afterKey.key, before.key);
  });

  it("refuses duplicate and invalid names with one line, leaving everything unchanged", () => {
    unchanged(dir, () => addComputer(dir, "t", "XPCLIENT"), "dc.duplicate");
    unchanged(dir, () => addComputer(dir, "t", "bad_name"), "dc.invalid-name");
    unchanged(dir, () => addComputer(dir, "t", "sixteencharsname"), "dc.invalid-name");
    unchanged(dir, () => addComputer(dir, "t", "12345"), "dc.invalid-name");
    unchanged(dir, () => addGroup(dir, "t", "a/b"), "dc.invalid-name");
    unchanged(dir, () => addGroup(dir, "t", "domain admins"), "dc.duplicate");
    unchanged(dir, () => deleteGroup(dir, "t", "Domain Computers"), "dc.protected");
    unchanged(dir, () => deleteComputer(dir, "t", "dc1"), "dc.protected");
  });
});

describe("directory: group scopes and nesting (AD native-mode rules)", () => {
  const home = tempHome("pdc-grp");
  let dir: Directory;
  before(() => {
    dir = newDirectory(home.dir);
    addComputer(dir, "t", "xpclient");
    addComputer(dir, "t", "client2");
    addGroup(dir, "t", "trusted", "global");
    addGroup(dir, "t", "g2", "global");
    addGroup(dir, "t", "u1", "universal");
    addGroup(dir, "t", "dl1", "domainlocal");
    addGroup(dir, "t", "dl2", "domainlocal");
  });
  after(() => {
    dir?.close();
    home.cleanup();
  });

  it("a global group takes computers and global groups; not universal or domain local ones", () => {
    addMember(dir, "t", "trusted", "xpclient$");
    addMember(dir, "t", "g2", "trusted");
    unchanged(dir, () => addMember(dir, "t", "g2", "u1"), "dc.membership");
    unchanged(dir, () => addMember(dir, "t", "g2", "dl1"), "dc.membership");
  });

  it("a universal group takes global and universal groups; a domain local group takes all three", () => {
    addMember(dir, "t", "u1", "g2");
    addMember(dir, "t", "dl1", "u1");
    unchanged(dir, () => addMember(dir, "t", "u1", "dl2"), "dc.membership");
    addMember(dir, "t", "dl2", "dl1");
  });

  it("refuses nesting cycles, direct and transitive", () => {
    unchanged(dir, () => addMember(dir, "t", "trusted", "trusted"), "dc.cycle");
    unchanged(dir, () => addMember(dir, "t", "trusted", "g2"), "dc.cycle");
  });

  it("refuses unknown members and duplicate memberships", () => {
    unchanged(dir, () => addMember(dir, "t", "trusted", "nosuch$"), "dc.not-found");
    unchanged(dir, () => addMember(dir, "t", "nosuch", "xpclient$"), "dc.not-found");
    unchanged(dir, () => addMember(dir, "t", "trusted", "xpclient"), "dc.duplicate");
    unchanged(dir, () => addMember(dir, "t", "Domain Computers", "xpclient$"), "dc.duplicate");
    unchanged(dir, () => removeMember(dir, "t", "Domain Computers", "xpclient$"), "dc.membership");
  });

  it("effectiveGroups expands nesting: primary group, then every group reached, once each", () => {
    const names = effectiveGroups(dir, "xpclient$").map((g) => g.name);
    assert.deepEqual(names, ["Domain Computers", "trusted", "g2", "u1", "dl1", "dl2"]);
    assert.deepEqual(
      effectiveGroups(dir, "client2").map((g) => g.name),
      ["Domain Computers"],
    );
  });

  it("removing a membership takes the nested groups away too", () => {
    removeMember(dir, "t", "g2", "trusted");
    assert.deepEqual(
      effectiveGroups(dir, "xpclient$").map((g) => g.name),
      ["Domain Computers", "trusted"],
    );
    addMember(dir, "t", "g2", "trusted");
  });

  it("writes one audit row per change (who, what, when) and none for a refused one", () => {
    const rows = listAudit(dir);
    const adds = rows.filter((r) => r.action === "group.add-member");
    assert.equal(adds.length, 6);
    assert.ok(adds.every((r) => r.actor === "t" && /^\d{4}-\d\d-\d\dT/.test(r.at)));
    assert.equal(rows.filter((r) => r.action === "group.remove-member").length, 1);
  });
});

describe("PrincipalDatabase: the KDC's view of the directory", () => {
  const home = tempHome("pdc-princ");
  let dir: Directory;
  before(() => {
    dir = newDirectory(home.dir);
    addComputer(dir, "t", "xpclient");
    addGroup(dir, "t", "trusted");
    addGroup(dir, "t", "outer", "universal");
    addMember(dir, "t", "trusted", "xpclient$");
    addMember(dir, "t", "outer", "trusted");
  });
  after(() => {
    dir?.close();
    home.cleanup();
  });

  it("finds a computer as NAME$, host/NAME and host/fqdn, with nested group SIDs", () => {
    const db = createPrincipalDatabase(dir);
    const sid = dir.domain().sid;
    for (const n of [
      "XPCLIENT$",
      "xpclient$",
      "host/XPCLIENT",
      "host/xpclient.bigfirm.com",
      "HOST/XPClient.BigFirm.com",
    ]) {
      const e = db.lookup(n, "BIGFIRM.COM");
      assert.ok(e, n);
      assert.equal(e.name, "XPCLIENT$");
      assert.equal(e.accountSid, `${sid}-1001`);
      assert.equal(e.primaryGroupRid, 515);
      assert.deepEqual(e.groupSids, [`${sid}-515`, `${sid}-1002`, `${sid}-1003`]);
      assert.equal(e.enabled, true);
      assert.deepEqual(
        e.keys.map((k) => [k.etype, k.kvno, k.key.length]),
        [
          [18, 1, 32],
          [17, 1, 16],
        ],
      );
    }
  });

  it("finds krbtgt/REALM with random keys, Administrator with string-to-key keys (RFC 3962 §4)", async () => {
    const { getEnctype } = await import("../../src/kerberos/crypto/index.js");
    const db = createPrincipalDatabase(dir);
    const k = db.lookup("krbtgt/BIGFIRM.COM", "BIGFIRM.COM");
    assert.equal(k?.name, "krbtgt/BIGFIRM.COM");
    assert.equal(k?.keys.length, 2, "17 and 18: krbtgt's default 0x18, as AD's");
    const a = db.lookup("Administrator", "BIGFIRM.COM");
    assert.equal(a?.accountSid, `${dir.domain().sid}-500`);
    const k18 = a?.keys.find((x) => x.etype === 18);
    assert.deepEqual(
      Buffer.from(k18?.key ?? []),
      Buffer.from(getEnctype(18).stringToKey(PASSWORD, "BIGFIRM.COMAdministrator")),
    );
  });

  it("returns null for unknown names, other realms, groups and krbtgt of another realm", () => {
    const db = createPrincipalDatabase(dir);
    assert.equal(db.lookup("nosuch$", "BIGFIRM.COM"), null);
    assert.equal(db.lookup("XPCLIENT$", "OTHER.COM"), null);
    assert.equal(db.lookup("trusted", "BIGFIRM.COM"), null);
    assert.equal(db.lookup("krbtgt/OTHER.COM", "BIGFIRM.COM"), null);
  });

  it("injects a KeyDeriver for the administrator's password keys (the Kerberos seam)", () => {
    const h = tempHome("pdc-kd");
    try {
      const calls: string[] = [];
      const d2 = newDirectory(h.dir, {
        clock: () => new Date(),
        random: (n) => new Uint8Array(n).fill(7),
        keyDeriver: {
          deriveKeys: (pw, salt, etypes) => {
            calls.push(`${pw}|${salt}`);
            return etypes.map((etype) => ({
              etype,
              key: new Uint8Array(etype === 17 || etype === 19 ? 16 : 32),
            }));
          },
        },
      });
      assert.deepEqual(calls, [`${PASSWORD}|BIGFIRM.COMAdministrator`]);
      assert.equal(
        createPrincipalDatabase(d2).lookup("Administrator", "bigfirm.com")?.keys.length,
        2,
      );
      d2.close();
    } finally {
      h.cleanup();
    }
  });
});

describe("directory: schema version", () => {
  it("refuses a database written by a newer postern", () => {
    const home = tempHome("pdc-schema");
    try {
      const dir = newDirectory(home.dir);
      dir.db.pragma("user_version = 99");
      dir.close();
      assert.throws(() => openDirectory(dbPath(home.dir)), /schema version 99 is newer/);
    } finally {
      home.cleanup();
    }
  });
});

describe("msDS-SupportedEncryptionTypes (issue 20 item 1)", () => {
  it("set-enctypes with enctypes the account has keys for changes only the attribute; one it lacks rolls the keys; the KDC's view follows", () => {
    const home = tempHome("pdc-enctypes");
    try {
      const dir = newDirectory(home.dir);
      addComputer(dir, "test", "ws01");
      const view = createPrincipalDatabase(dir);
      assert.equal(view.lookup("WS01$", "BIGFIRM.COM")?.supportedEnctypes, undefined);
      assert.deepEqual(setComputerEnctypes(dir, "test", "ws01", ["aes256-cts-hmac-sha1-96"]), {
        rolled: false,
        kvno: 1,
      });
      assert.equal(view.lookup("WS01$", "BIGFIRM.COM")?.supportedEnctypes, 0x10);
      const r = setComputerEnctypes(dir, "test", "ws01", ["20", "aes256-cts-hmac-sha1-96"]);
      assert.deepEqual(r, { rolled: true, kvno: 2 });
      const c = showComputer(dir, "ws01");
      assert.deepEqual(c.etypes, [18, 20]);
      assert.equal(c.supportedEnctypes, 0x90);
      assert.throws(
        () => setComputerEnctypes(dir, "test", "ws01", ["rc4-hmac"]),
        /unknown enctype 'rc4-hmac'/,
      );
      assert.equal(showComputer(dir, "ws01").supportedEnctypes, 0x90, "unchanged after a refusal");
      dir.close();
    } finally {
      home.cleanup();
    }
  });

  it("a version-2 directory (19/20 keys, no attribute) opens as version 4 with its keys intact and the default 0x18", () => {
    const home = tempHome("pdc-v2");
    try {
      const dir = newDirectory(home.dir);
      const ws = addComputer(dir, "test", "ws01");
      // What postern wrote before versions 3 and 4: keys 17-20 at one kvno, no delegation
      // table, no attribute column.
      for (const etype of [19, 20])
        dir
          .stmt("INSERT INTO keys VALUES (?, ?, 1, ?)")
          .run(ws.rid, etype, Buffer.alloc(etype === 19 ? 16 : 32, 7));
      dir.db.exec(
        "ALTER TABLE objects DROP COLUMN supported_enctypes; DROP TABLE delegation; ALTER TABLE gpos DROP COLUMN expect;",
      );
      dir.db.pragma("user_version = 2");
      dir.close();
      const upgraded = openDirectory(dbPath(home.dir));
      assert.equal(Number(upgraded.db.pragma("user_version", { simple: true })), SCHEMA_VERSION);
      const c = showComputer(upgraded, "ws01");
      assert.deepEqual(c.etypes, [17, 18, 19, 20]);
      assert.equal(c.kvno, 1);
      assert.equal(c.supportedEnctypes, 0x18);
      upgraded.close();
    } finally {
      home.cleanup();
    }
  });
});

describe("msDS-AllowedToActOnBehalfOfOtherIdentity (RBCD, schema 6)", () => {
  it("a version-5 directory opens as version 6: delegation rows kept, no one allowed to act; the KDC sees a grant", () => {
    const home = tempHome("pdc-v5");
    try {
      const dir = newDirectory(home.dir);
      addComputer(dir, "test", "svc1");
      addComputer(dir, "test", "fs1");
      setDelegation(dir, "test", "svc1", { allowedToDelegateTo: ["host/fs1"] });
      dir.db.exec("ALTER TABLE delegation DROP COLUMN allowed_to_act;");
      dir.db.pragma("user_version = 5");
      dir.close();
      const upgraded = openDirectory(dbPath(home.dir));
      assert.equal(Number(upgraded.db.pragma("user_version", { simple: true })), SCHEMA_VERSION);
      const svc1 = showDelegation(upgraded, "svc1");
      assert.deepEqual(svc1.allowedToDelegateTo, ["host/fs1"]);
      assert.deepEqual(svc1.allowedToActOnBehalfOf, []);
      const db = createPrincipalDatabase(upgraded);
      assert.equal(db.lookup("FS1$", upgraded.domain().realm)?.allowedToActOnBehalfOf, undefined);
      // A group and an account, by name; the KDC's entry carries their SIDs.
      setDelegation(upgraded, "test", "fs1", {
        allowedToActOnBehalfOf: ["svc1", "Domain Computers"],
      });
      const fs1 = db.lookup("host/fs1", upgraded.domain().realm)!;
      assert.deepEqual(fs1.allowedToActOnBehalfOf, [
        db.lookup("SVC1$", upgraded.domain().realm)!.accountSid,
        `${upgraded.domainSid()}-515`,
      ]);
      assert.throws(
        () => setDelegation(upgraded, "test", "fs1", { allowedToActOnBehalfOf: ["krbtgt"] }),
        /cannot be granted/,
      );
      setDelegation(upgraded, "test", "fs1", { allowedToActOnBehalfOf: [] });
      assert.equal(db.lookup("FS1$", upgraded.domain().realm)?.allowedToActOnBehalfOf, undefined);
      upgraded.close();
    } finally {
      home.cleanup();
    }
  });
});

describe("group expansion for the KDC: cached closure equals the recursive query", () => {
  const home = tempHome("pdc-expand");
  let dir: Directory;
  before(() => {
    dir = newDirectory(home.dir);
  });
  after(() => {
    dir?.close();
    home.cleanup();
  });

  it("the primary group's own nesting counts (Domain Computers inside another group)", () => {
    addComputer(dir, "t", "pc1");
    addGroup(dir, "t", "all-machines");
    addMember(dir, "t", "all-machines", "Domain Computers");
    const sid = dir.domain().sid;
    const rid = showGroupRid(dir, "all-machines");
    assert.deepEqual(
      effectiveGroups(dir, "pc1$").map((g) => g.name),
      ["Domain Computers", "all-machines"],
    );
    assert.deepEqual(createPrincipalDatabase(dir).lookup("PC1$", "BIGFIRM.COM")?.groupSids, [
      `${sid}-515`,
      `${sid}-${rid}`,
    ]);
  });

  it("random nesting: PrincipalDatabase.lookup and effectiveGroupRids agree for every computer", () => {
    const db = createPrincipalDatabase(dir);
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let g = 0; g < 30; g++) addGroup(dir, "t", `rg${g}`);
    for (let e = 0; e < 60; e++) {
      try {
        addMember(dir, "t", `rg${rnd(30)}`, `rg${rnd(30)}`);
      } catch {
        // cycles and duplicates are refused: fine
      }
    }
    for (let c = 0; c < 20; c++) {
      addComputer(dir, "t", `rc${c}`);
      for (let k = 0; k < 3; k++) {
        try {
          addMember(dir, "t", `rg${rnd(30)}`, `rc${c}$`);
        } catch {
          // duplicate membership
        }
      }
      const rid = showComputer(dir, `rc${c}`).rid;
      const sid = dir.domain().sid;
      const expected = effectiveGroupRids(dir, rid, 515).map((r) => `${sid}-${r}`);
      assert.deepEqual(db.lookup(`rc${c}$`, "BIGFIRM.COM")?.groupSids, expected);
    }
  });

  it("sees a change committed by another connection (the CLI's direct path)", () => {
    const db = createPrincipalDatabase(dir);
    const before = db.lookup("PC1$", "BIGFIRM.COM")?.groupSids.length ?? 0;
    const other = openDirectory(dbPath(home.dir));
    try {
      addGroup(other, "other", "late");
      addMember(other, "other", "late", "pc1$");
    } finally {
      other.close();
    }
    assert.equal(db.lookup("PC1$", "BIGFIRM.COM")?.groupSids.length, before + 1);
  });
});

function showGroupRid(dir: Directory, name: string): number {
  return (dir.stmt("SELECT rid FROM objects WHERE sam = ?").get(name) as { rid: number }).rid;
}

describe("the administrator password (the string-to-key seam)", () => {
  it("set-password: new PBKDF2 hash; Kerberos keys (kvno + 1 over the keys held) once a KeyDeriver is injected", () => {
    const h = tempHome("pdc-adminpw");
    try {
      const plain = newDirectory(h.dir, {
        clock: () => new Date(),
        random: (n) => new Uint8Array(n),
      });
      assert.deepEqual(setAdminPassword(plain, "t", "New-Passw0rd"), { kvno: 2, keys: 0 });
      assert.ok(checkAdminPassword(plain, "New-Passw0rd"));
      assert.ok(!checkAdminPassword(plain, PASSWORD));
      assert.throws(() => setAdminPassword(plain, "t", "short"), /at least 8 characters/);
      plain.close();
      const withKdc = openDirectory(dbPath(h.dir), {
        clock: () => new Date(),
        random: (n) => new Uint8Array(n).fill(3),
        keyDeriver: {
          deriveKeys: (_pw, _salt, etypes) =>
            etypes.map((etype) => ({
              etype,
              key: new Uint8Array(etype === 17 || etype === 19 ? 16 : 32),
            })),
        },
      });
      assert.deepEqual(setAdminPassword(withKdc, "t", "Third-Passw0rd"), { kvno: 2, keys: 2 });
      const entry = createPrincipalDatabase(withKdc).lookup("Administrator", "BIGFIRM.COM");
      assert.deepEqual(
        entry?.keys.map((k) => k.kvno),
        [2, 2],
      );
      withKdc.close();
    } finally {
      h.cleanup();
    }
  });
});
