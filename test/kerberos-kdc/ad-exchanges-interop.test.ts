/**
 * User-to-user, S4U2Self and S4U2Proxy against our KDC with the clients people use on AD
 * (in-process server on loopback, in-memory directory where SERVER1$ may delegate to
 * host/ws01.pkd.test and is trusted for protocol transition):
 *
 *   - impacket's getST.py -impersonate alice (S4U2Self + S4U2Proxy, as against a Windows
 *     DC); impacket always talks to port 88, so the script runs with getaddrinfo mapping
 *     88 to our port (nothing else in impacket changes)
 *   - MIT kvno -U alice -P host/ws01.pkd.test (S4U2Self then S4U2Proxy)
 *   - MIT kvno --u2u (user-to-user with SERVER1$'s TGT)
 *
 * Each resulting ticket is opened with the target's key and its PAC verified.
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
import { decodeTicket, hasFlag, TICKET_FLAGS } from "../../src/kerberos/messages/index.js";
import { verifyPac } from "../../src/kerberos/pac/index.js";
import { freePort, haveMit } from "../kerberos-codec/mit-realm.js";
import { openServiceTicket } from "./client.js";
import { getSt, haveGetSt } from "./getst.js";
import { mitConfig, ok, run } from "./runner.js";

const REALM = "PKD.TEST";
const SID = "S-1-5-21-91-92-93";
const key = (name: string, pw: string) => getEnctype(18).stringToKey(pw, adSalt(REALM, name));
const serverKey = key("SERVER1$", "server1-pw");
const wsKey = key("WS01$", "ws01-pw");
const krbtgtKey = getEnctype(18).stringToKey("krbtgt-pw", `${REALM}krbtgt${REALM}`);
function credential(file: string, client: string, server: string) {
  const cred = readCcacheFile(file).credentials.find(
    (c) =>
      c.client.name.nameString.join("/") === client &&
      c.server.name.nameString.join("/") === server,
  );
  assert.ok(cred, `no ${client} -> ${server} ticket in ${file}`);
  return cred;
}

function pacFor(ticketBytes: Uint8Array, k: Uint8Array) {
  const part = openServiceTicket(decodeTicket(ticketBytes), k);
  const pac = verifyPac(
    ticketPacBytes(part)!,
    { etype: 18, key: k },
    { etype: 18, key: krbtgtKey },
  );
  return { part, pac };
}

describe("U2U, S4U2Self and S4U2Proxy with impacket and MIT clients", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pkd-adx-"));
  const db = createMemoryDatabase({
    realm: REALM,
    domainSid: SID,
    enctypes: [18, 17],
    principals: [
      { name: "alice", password: "alice-pw", rid: 1104, groups: [1105] },
      {
        name: "SERVER1$",
        password: "server1-pw",
        rid: 1107,
        aliases: ["host/server1.pkd.test"],
        allowedToDelegateTo: ["host/ws01.pkd.test"],
        trustedToAuthForDelegation: true,
      },
      { name: "WS01$", password: "ws01-pw", rid: 1106, aliases: ["host/ws01.pkd.test"] },
      // Resource-based constrained delegation: FS1$ lets SVC2$ (no classic delegation, no
      // protocol transition) act on behalf of users to it.
      { name: "SVC2$", password: "svc2-pw", rid: 1120, aliases: ["host/svc2.pkd.test"] },
      {
        name: "FS1$",
        password: "fs1-pw",
        rid: 1121,
        aliases: ["cifs/fs1.pkd.test"],
        allowedToActOnBehalfOf: [1120],
      },
    ],
  });
  let server: KdcServer;
  let port = 0;
  const env = (cc: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    KRB5_CONFIG: path.join(dir, "krb5.conf"),
    KRB5CCNAME: `FILE:${path.join(dir, cc)}`,
  });

  before(async () => {
    port = await freePort();
    server = createKdcServer({
      database: db,
      realm: REALM,
      krbtgtKeys: [{ etype: 18, kvno: 1, key: krbtgtKey }],
      listen: { address: "127.0.0.1", port },
    });
    await server.start();
    fs.writeFileSync(path.join(dir, "krb5.conf"), mitConfig(REALM, port, [18, 17]));
    writeKeytabFile(path.join(dir, "server1.keytab"), {
      entries: [
        {
          principal: { realm: REALM, name: { nameType: 1, nameString: ["SERVER1$"] } },
          timestamp: 0,
          kvno: 1,
          key: { keytype: 18, keyvalue: serverKey },
        },
      ],
    });
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("impacket getST.py -impersonate alice -spn host/ws01.pkd.test: a ticket to WS01$ in alice's name with her PAC", {
    skip: !haveGetSt && "impacket's getST.py missing (python3-impacket)",
  }, async () => {
    const cwd = fs.mkdtempSync(path.join(dir, "getst-"));
    const r = await getSt(
      [
        "-spn",
        "host/ws01.pkd.test",
        "-impersonate",
        "alice",
        "-dc-ip",
        "127.0.0.1",
        `${REALM}/SERVER1$:server1-pw`,
      ],
      port,
      cwd,
    );
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Requesting S4U2Proxy/);
    assert.doesNotMatch(r.out, /SessionError|Error/, r.out);
    const saved = fs.readdirSync(cwd).filter((f) => f.endsWith(".ccache"));
    assert.equal(saved.length, 1, r.out);
    const cred = credential(path.join(cwd, saved[0]!), "alice", "host/ws01.pkd.test");
    const { part, pac } = pacFor(cred.ticket, wsKey);
    assert.equal(pac.userSid, `${SID}-1104`);
    assert.ok(pac.groupSids.includes(`${SID}-1105`));
    assert.ok(hasFlag(part.flags, TICKET_FLAGS.forwardable));
  });

  it("MIT kvno -U alice -P host/ws01.pkd.test (protocol transition, then constrained delegation)", {
    skip: !haveMit() && "MIT Kerberos tools missing",
  }, async () => {
    await ok(
      "kinit",
      ["-k", "-t", path.join(dir, "server1.keytab"), `SERVER1$@${REALM}`],
      env("s.cc"),
    );
    const out = await ok("kvno", ["-U", "alice", "-P", "host/ws01.pkd.test"], env("s.cc"));
    assert.match(out, /host\/ws01\.pkd\.test@PKD\.TEST: kvno = 1/);
    const cred = credential(path.join(dir, "s.cc"), "alice", "host/ws01.pkd.test");
    assert.equal(pacFor(cred.ticket, wsKey).pac.userSid, `${SID}-1104`);
  });

  it("MIT kvno -U alice -P to a service not in allowedToDelegateTo fails (KDC_ERR_BADOPTION)", {
    skip: !haveMit() && "MIT Kerberos tools missing",
  }, async () => {
    await ok(
      "kinit",
      ["-k", "-t", path.join(dir, "server1.keytab"), `SERVER1$@${REALM}`],
      env("s2.cc"),
    );
    const r = await run("kvno", ["-U", "alice", "-P", "host/server1.pkd.test"], env("s2.cc"));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /KDC can't fulfill requested option/);
  });

  it("RBCD: MIT kvno -U alice -P cifs/fs1.pkd.test as SVC2$ (granted by FS1$'s msDS-AllowedToActOnBehalfOfOtherIdentity)", {
    skip: !haveMit() && "MIT Kerberos tools missing",
  }, async () => {
    const kt = path.join(dir, "svc2.keytab");
    writeKeytabFile(kt, {
      entries: [
        {
          principal: { realm: REALM, name: { nameType: 1, nameString: ["SVC2$"] } },
          timestamp: 0,
          kvno: 1,
          key: { keytype: 18, keyvalue: key("SVC2$", "svc2-pw") },
        },
      ],
    });
    await ok("kinit", ["-k", "-t", kt, `SVC2$@${REALM}`], env("rbcd.cc"));
    const out = await ok("kvno", ["-U", "alice", "-P", "cifs/fs1.pkd.test"], env("rbcd.cc"));
    assert.match(out, /cifs\/fs1\.pkd\.test@PKD\.TEST: kvno = 1/);
    const cred = credential(path.join(dir, "rbcd.cc"), "alice", "cifs/fs1.pkd.test");
    const { part, pac } = pacFor(cred.ticket, key("FS1$", "fs1-pw"));
    assert.equal(pac.userSid, `${SID}-1104`);
    assert.ok(hasFlag(part.flags, TICKET_FLAGS.forwardable));
    // Not granted: SVC2$ to host/ws01 (WS01$ grants no one, SVC2$ has no classic delegation).
    const r = await run("kvno", ["-U", "alice", "-P", "host/ws01.pkd.test"], env("rbcd.cc"));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /KDC can't fulfill requested option/);
  });

  it("RBCD: impacket getST.py -impersonate alice -spn cifs/fs1.pkd.test as SVC2$", {
    skip: !haveGetSt && "impacket's getST.py missing (python3-impacket)",
  }, async () => {
    const cwd = fs.mkdtempSync(path.join(dir, "getst-rbcd-"));
    const r = await getSt(
      [
        "-spn",
        "cifs/fs1.pkd.test",
        "-impersonate",
        "alice",
        "-dc-ip",
        "127.0.0.1",
        `${REALM}/SVC2$:svc2-pw`,
      ],
      port,
      cwd,
    );
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Requesting S4U2Proxy/);
    const saved = fs.readdirSync(cwd).filter((f) => f.endsWith(".ccache"));
    assert.equal(saved.length, 1, r.out);
    const cred = credential(path.join(cwd, saved[0]!), "alice", "cifs/fs1.pkd.test");
    assert.equal(pacFor(cred.ticket, key("FS1$", "fs1-pw")).pac.userSid, `${SID}-1104`);
  });

  it("MIT kvno --u2u: alice gets a ticket to SERVER1$ sealed in the session key of SERVER1$'s TGT", {
    skip: !haveMit() && "MIT Kerberos tools missing",
  }, async () => {
    await ok(
      "kinit",
      ["-k", "-t", path.join(dir, "server1.keytab"), `SERVER1$@${REALM}`],
      env("u.cc"),
    );
    await ok("kinit", [`alice@${REALM}`], env("a.cc"), "alice-pw\n");
    await ok("kvno", ["--u2u", path.join(dir, "u.cc"), `SERVER1$@${REALM}`], env("a.cc"));
    const tgt = credential(path.join(dir, "u.cc"), "SERVER1$", `krbtgt/${REALM}`);
    const st = credential(path.join(dir, "a.cc"), "alice", "SERVER1$");
    const t = decodeTicket(st.ticket);
    assert.equal(t.encPart.kvno, undefined);
    const part = openServiceTicket(t, tgt.key.keyvalue);
    assert.deepEqual(part.cname.nameString, ["alice"]);
  });
});
