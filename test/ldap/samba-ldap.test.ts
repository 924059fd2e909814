/**
 * Our LDAP client against a real Samba 4.17 AD DC in a namespace of its own (samba-probe.ts
 * runs inside it): SASL GSSAPI bind as Administrator with a sealed security layer, the
 * rootDSE, a paged search (pages of 2) equal to the unpaged one, add / modify / delete of a
 * contact whose name needs filter and DN escaping, one-line errors (entry exists, no such
 * object, wrong password), and the relay's capture: neither the password nor the values we
 * wrote nor the domain's DN appear in clear on the wire.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  type SambaDc,
  type SambaInNamespace,
  sambaInNamespace,
  SAMBA_SKIP,
} from "../helpers/samba.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SKIP = SAMBA_SKIP;
const PASSWORD = "Ldap-Adm1n-Passw0rd";
const DC_IP = "10.78.0.1";
const MARKER = "PosternMarker-7f3a9c";

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

describe("LDAP client against Samba AD: sealed GSSAPI bind, paged search, add/modify/delete", {
  skip: SKIP,
}, () => {
  let ns = "";
  let dc: SambaDc | undefined;
  let samba: SambaInNamespace | undefined;
  let r: Record<string, unknown> & { wire: string } = { wire: "" };

  before(async () => {
    samba = sambaInNamespace("ldap", {
      realm: "LDAP.TEST",
      domain: "LDAPT",
      adminPassword: PASSWORD,
      ip: DC_IP,
      services: ["kdc", "ldap"],
    });
    ({ ns, dc } = samba);
    await dc.waitReady();
    const probe = path.join(HERE, "samba-probe.js");
    const args = [DC_IP, "dc1.ldap.test", PASSWORD, MARKER];
    r = JSON.parse(run("ip", ["netns", "exec", ns, process.execPath, probe, ...args]));
  });

  after(() => samba?.cleanup());

  it("binds as Administrator and reads the rootDSE", () => {
    assert.equal(r.boundAs, "Administrator");
    assert.equal(r.base, "DC=ldap,DC=test");
    assert.equal(r.dnsHostName, "dc1.ldap.test");
  });

  it("a search in pages of 2 takes several requests and returns what the unpaged one does", () => {
    const users = r.users as string[];
    assert.ok(users.includes("Administrator") && users.includes("krbtgt"), users.join(","));
    assert.equal(users.length, r.unpagedCount);
    const pages = r.pagedRequests as number;
    assert.ok(
      pages >= Math.ceil(users.length / 2) && pages <= Math.ceil(users.length / 2) + 1,
      `${pages} requests for ${users.length} users`,
    );
  });

  it("adds, modifies and deletes an entry whose name needs escaping; errors are one line", () => {
    assert.deepEqual(r.added, [
      {
        dn: "CN=postern (ldap) test*,CN=Users,DC=ldap,DC=test",
        description: `${MARKER}-2`,
      },
    ]);
    const twice = r.addTwice as { code: number; message: string };
    assert.equal(twice.code, 68);
    assert.match(twice.message, /^LDAP add CN=postern .*: entryAlreadyExists \(68\)/);
    assert.equal(r.afterDelete, 0);
    const none = r.noSuchObject as { code: number; message: string };
    assert.equal(none.code, 32);
    assert.doesNotMatch(none.message, /\n/);
  });

  it("a wrong password is one LdapError line (invalid credentials), no connection kept", () => {
    const w = r.wrongPassword as { ldap: boolean; code: number; message: string };
    assert.equal(w.ldap, true);
    assert.equal(w.code, 49);
    assert.match(w.message, /password incorrect|PREAUTH_FAILED|pre-?auth/i);
    assert.doesNotMatch(w.message, /\n/);
  });

  it("the wire carries neither the password nor the values written nor the domain's DN in clear", () => {
    const wire = Buffer.from(r.wire, "base64");
    assert.ok(wire.length > 2000, `captured ${wire.length} bytes`);
    for (const secret of [PASSWORD, MARKER, "DC=ldap,DC=test", "Administrator", "sAMAccountName"]) {
      assert.equal(wire.indexOf(Buffer.from(secret)), -1, `${secret} in clear on the wire`);
      assert.equal(wire.indexOf(Buffer.from(secret, "utf16le")), -1, `${secret} (UTF-16) in clear`);
    }
    // the bind itself is visible: the mechanism name, before the layer starts
    assert.notEqual(wire.indexOf(Buffer.from("GSSAPI")), -1);
  });
});
