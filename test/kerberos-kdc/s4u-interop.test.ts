/**
 * The article's membership-refresh catch with real MIT tools against our KDC (in-process
 * server, in-memory directory): alice logs in with MIT kinit while in group 1105; the
 * directory moves her to 1200; her own kvno (old TGT) still gets a ticket saying 1105; the
 * server SERVER1$ (kinit -k -t with a keytab we wrote) asks with MIT `kvno -U alice`
 * (S4U2Self, MS-SFU) and gets a ticket for alice whose PAC says 1200.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { readCcacheFile } from "../../src/kerberos/files/ccache.js";
import { writeKeytabFile } from "../../src/kerberos/files/keytab.js";
import { adSalt, createMemoryDatabase } from "../../src/kerberos/kdc/database.js";
import { createKdcServer, type KdcServer } from "../../src/kerberos/kdc/server.js";
import { ticketPacBytes } from "../../src/kerberos/kdc/ticket.js";
import { decodeTicket } from "../../src/kerberos/messages/index.js";
import { verifyPac } from "../../src/kerberos/pac/index.js";
import { freePort, haveMit } from "../kerberos-codec/mit-realm.js";
import { openServiceTicket } from "./client.js";
import { mitConfig, ok } from "./runner.js";

const REALM = "PKD.TEST";
const SID = "S-1-5-21-81-82-83";
const serverKey = getEnctype(18).stringToKey("server1-pw", adSalt(REALM, "SERVER1$"));
const krbtgtKey = getEnctype(18).stringToKey("krbtgt-pw", `${REALM}krbtgt${REALM}`);

function pacOf(ccacheFile: string, client: string, server: string) {
  const cred = readCcacheFile(ccacheFile).credentials.find(
    (c) =>
      c.client.name.nameString.join("/") === client &&
      c.server.name.nameString.join("/") === server,
  );
  assert.ok(cred, `no ${client} -> ${server} ticket in ${ccacheFile}`);
  const part = openServiceTicket(decodeTicket(cred.ticket), serverKey);
  return verifyPac(
    ticketPacBytes(part)!,
    { etype: 18, key: serverKey },
    { etype: 18, key: krbtgtKey },
  );
}

describe("MS-SFU S4U2Self with MIT kvno -U: a server refreshes a client's groups", {
  skip: !haveMit() && "MIT Kerberos tools missing",
}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pkd-s4u-"));
  const db = createMemoryDatabase({
    realm: REALM,
    domainSid: SID,
    enctypes: [18, 17],
    principals: [
      { name: "alice", password: "alice-pw", rid: 1104, groups: [1105] },
      { name: "SERVER1$", password: "server1-pw", rid: 1107, aliases: ["host/server1.pkd.test"] },
    ],
  });
  let server: KdcServer;
  const env = (cc: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    KRB5_CONFIG: path.join(dir, "krb5.conf"),
    KRB5CCNAME: `FILE:${path.join(dir, cc)}`,
  });

  before(async () => {
    const port = await freePort();
    server = createKdcServer({
      database: db,
      realm: REALM,
      krbtgtKeys: [{ etype: 18, kvno: 1, key: krbtgtKey }],
      listen: { address: "127.0.0.1", port },
    });
    await server.start();
    fs.writeFileSync(path.join(dir, "krb5.conf"), mitConfig(REALM, port, [18, 17]));
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("old TGT: the stale group; S4U2Self: the current group", async () => {
    await ok("kinit", [`alice@${REALM}`], env("alice.cc"), "alice-pw\n");
    db.setGroups("alice", [1200]);

    await ok("kvno", ["host/server1.pkd.test"], env("alice.cc"));
    const stale = pacOf(path.join(dir, "alice.cc"), "alice", "host/server1.pkd.test");
    assert.ok(stale.groupSids.includes(`${SID}-1105`), "the old TGT still says 1105");
    assert.ok(!stale.groupSids.includes(`${SID}-1200`));

    const kt = path.join(dir, "server1.keytab");
    writeKeytabFile(kt, {
      entries: [
        {
          principal: { realm: REALM, name: { nameType: 1, nameString: ["SERVER1$"] } },
          timestamp: 0,
          kvno: 1,
          key: { keytype: 18, keyvalue: serverKey },
        },
      ],
    });
    await ok("kinit", ["-k", "-t", kt, `SERVER1$@${REALM}`], env("server.cc"));
    const out = await ok("kvno", ["-U", "alice", "SERVER1$"], env("server.cc"));
    assert.match(out, /SERVER1\$@PKD\.TEST: kvno = 1/);
    const fresh = pacOf(path.join(dir, "server.cc"), "alice", "SERVER1$");
    assert.equal(fresh.userSid, `${SID}-1104`);
    assert.ok(fresh.groupSids.includes(`${SID}-1200`), "S4U2Self says 1200");
    assert.ok(!fresh.groupSids.includes(`${SID}-1105`), "and no longer 1105");
    assert.ok((server.counters().requests["TGS-REQ"] ?? 0) >= 2);
  });
});
