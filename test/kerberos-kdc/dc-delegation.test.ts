/**
 * Constrained delegation from the DC's directory: `postern domain computer delegation`
 * sets msDS-AllowedToDelegateTo and protocol transition on SVC1$ (the database directly,
 * the DC not running; bad input refused in one line, nothing stored); the DC's KDC then
 * lets MIT `kvno -U Administrator -P host/ws02.<domain>` (S4U2Self + S4U2Proxy) as SVC1$
 * get a ticket to WS02 in Administrator's name, whose PAC verifies with WS02$'s key; after
 * the list is cleared (in process, DC running) the next S4U2Proxy is refused.
 *
 * Resource-based constrained delegation the same way: `--allowed-to-act-on-behalf SVC2$` on
 * FS1$ (msDS-AllowedToActOnBehalfOfOtherIdentity, stored as SVC2$'s SID); impacket's
 * `getST.py -impersonate Administrator -spn host/fs1.bigfirm.com` as SVC2$ (no classic
 * delegation, no protocol transition) gets a ticket to FS1$ in Administrator's name; with
 * the grant removed, AD's refusal (KDC_ERR_BADOPTION).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { type RunningDc, startDc } from "../../src/dc/daemon.js";
import { setDelegation } from "../../src/dc/delegation.js";
import { createPrincipalDatabase } from "../../src/dc/principals.js";
import { readCcacheFile } from "../../src/kerberos/files/ccache.js";
import { writeKeytabFile } from "../../src/kerberos/files/keytab.js";
import { kdcStarter } from "../../src/kerberos/kdc/dc-seam.js";
import { ticketPacBytes } from "../../src/kerberos/kdc/ticket.js";
import { decodeTicket } from "../../src/kerberos/messages/index.js";
import { verifyPac } from "../../src/kerberos/pac/index.js";
import { runBin, tempHome } from "../helpers/cli.js";
import { freePort, haveMit } from "../kerberos-codec/mit-realm.js";
import { cliInit } from "../dc/helpers.js";
import { openServiceTicket } from "./client.js";
import { getSt, haveGetSt } from "./getst.js";
import { mitConfig, ok, run } from "./runner.js";

const REALM = "BIGFIRM.COM";

describe("constrained delegation set with `postern domain computer delegation`, used by MIT kvno -P", {
  skip: !haveMit() && "MIT Kerberos tools missing",
}, () => {
  const home = tempHome("pkd-deleg");
  let dc: RunningDc;
  let port = 0;
  const cli = (...args: string[]) => runBin(["--home", home.dir, "domain", ...args]);

  before(async () => {
    await cliInit(home.dir);
    for (const name of ["svc1", "ws02", "fs1", "svc2"])
      assert.equal(cli("computer", "add", name).code, 0);
  });
  after(async () => {
    await dc?.stop();
    home.cleanup();
  });

  it("the command shows, sets and refuses bad input in one line without storing it", () => {
    const none = cli("computer", "delegation", "svc1", "--json");
    assert.equal(none.code, 0, none.err);
    assert.deepEqual(JSON.parse(none.out), {
      account: "SVC1$",
      allowedToDelegateTo: [],
      trustedToAuthForDelegation: false,
      allowedToActOnBehalfOf: [],
    });
    const set = cli(
      "computer",
      "delegation",
      "svc1",
      "--allow",
      "host/ws02.bigfirm.com",
      "--allow",
      "host/ws02",
      "--protocol-transition",
      "on",
    );
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /allowed to delegate to\s+host\/ws02\.bigfirm\.com, host\/ws02/);
    assert.match(set.out, /protocol transition\s+on/);
    for (const bad of [
      ["--allow", "not an spn"],
      ["--protocol-transition", "maybe"],
      ["--allow", "host/x", "--clear"],
    ]) {
      const r = cli("computer", "delegation", "svc1", ...bad);
      assert.notEqual(r.code, 0, bad.join(" "));
      assert.equal(r.err.trim().split("\n").length, 1, r.err);
      assert.doesNotMatch(r.err, /at .*\.js/);
    }
    const group = cli("computer", "delegation", "Domain Admins", "--clear");
    assert.notEqual(group.code, 0);
    const after = JSON.parse(cli("computer", "delegation", "svc1", "--json").out);
    assert.deepEqual(after.allowedToDelegateTo, ["host/ws02.bigfirm.com", "host/ws02"]);
    assert.equal(after.trustedToAuthForDelegation, true);
    assert.match(cli("audit", "--limit", "3").out, /account\.delegation\s+SVC1\$/);
  });

  it("RBCD: --allowed-to-act-on-behalf stores SIDs, shows names, refuses bad input without storing it", () => {
    const set = cli("computer", "delegation", "fs1", "--allowed-to-act-on-behalf", "svc2,svc1");
    assert.equal(set.code, 0, set.err);
    assert.match(
      set.out,
      /allowed to act on its behalf \(RBCD\)\s+SVC2\$ \(S-1-5-21-[\d-]+\), SVC1\$/,
    );
    const shown = JSON.parse(cli("computer", "delegation", "fs1", "--json").out);
    assert.equal(shown.allowedToActOnBehalfOf.length, 2);
    assert.equal(shown.allowedToActOnBehalfOf[0].name, "SVC2$");
    assert.match(shown.allowedToActOnBehalfOf[0].sid, /^S-1-5-21-\d+-\d+-\d+-\d+$/);
    assert.deepEqual(shown.allowedToDelegateTo, [], "classic delegation untouched");
    const svc2Sid = shown.allowedToActOnBehalfOf[0].sid as string;
    for (const bad of [
      ["--allowed-to-act-on-behalf", "nobody"],
      ["--allowed-to-act-on-behalf", "S-1-5-21-abc"],
      ["--allowed-to-act-on-behalf", `${svc2Sid.replace(/-\d+$/, "")}-99999`],
      ["--allowed-to-act-on-behalf", "svc2,"],
      ["--allowed-to-act-on-behalf", "svc2", "--clear-allowed-to-act"],
    ]) {
      const r = cli("computer", "delegation", "fs1", ...bad);
      assert.notEqual(r.code, 0, bad.join(" "));
      assert.equal(r.err.trim().split("\n").length, 1, r.err);
      assert.doesNotMatch(r.err, /at .*\.js/);
    }
    // A SID as given, then the list replaced by it alone.
    const bySid = cli("computer", "delegation", "fs1", "--allowed-to-act-on-behalf", svc2Sid);
    assert.equal(bySid.code, 0, bySid.err);
    const after = JSON.parse(cli("computer", "delegation", "fs1", "--json").out);
    assert.deepEqual(after.allowedToActOnBehalfOf, [{ sid: svc2Sid, name: "SVC2$" }]);
    assert.match(
      cli("audit", "--limit", "1").out,
      new RegExp(`account\\.delegation\\s+FS1\\$.*allowedToActOnBehalfOf=${svc2Sid}`),
    );
  });

  it("MIT kvno -U Administrator -P host/ws02.bigfirm.com as SVC1$: a ticket to WS02 in Administrator's name; cleared, refused", async () => {
    port = await freePort();
    dc = await startDc({
      home: home.dir,
      host: "127.0.0.1",
      kdcPort: port,
      dnsPort: 0,
      apiPort: 0,
      log: () => undefined,
      startKdc: kdcStarter({ realm: REALM, netbiosDomain: "BIGFIRM", dnsDomain: "bigfirm.com" }),
    });
    fs.writeFileSync(path.join(home.dir, "krb5.conf"), mitConfig(REALM, port, [20, 19, 18, 17]));
    const db = createPrincipalDatabase(dc.dir);
    const svc = db.lookup("SVC1$", REALM)!;
    assert.deepEqual(svc.allowedToDelegateTo, ["host/ws02.bigfirm.com", "host/ws02"]);
    const kt = path.join(home.dir, "svc1.keytab");
    writeKeytabFile(kt, {
      entries: svc.keys.map((k) => ({
        principal: { realm: REALM, name: { nameType: 1, nameString: ["SVC1$"] } },
        timestamp: 0,
        kvno: k.kvno,
        key: { keytype: k.etype, keyvalue: k.key },
      })),
    });
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home.dir,
      KRB5_CONFIG: path.join(home.dir, "krb5.conf"),
      KRB5CCNAME: `FILE:${path.join(home.dir, "cc")}`,
    };
    await ok("kinit", ["-k", "-t", kt, `SVC1$@${REALM}`], env);
    await ok("kvno", ["-U", "Administrator", "-P", "host/ws02.bigfirm.com"], env);
    const cred = readCcacheFile(path.join(home.dir, "cc")).credentials.find(
      (c) =>
        c.client.name.nameString.join("/") === "Administrator" &&
        c.server.name.nameString.join("/") === "host/ws02.bigfirm.com",
    );
    assert.ok(cred, "the S4U2Proxy ticket is in the cache");
    const ws = db.lookup("WS02$", REALM)!;
    const ticket = decodeTicket(cred.ticket);
    const key = ws.keys.find((k) => k.etype === ticket.encPart.etype)!;
    const pac = verifyPac(ticketPacBytes(openServiceTicket(ticket, key.key))!, {
      etype: key.etype,
      key: key.key,
    });
    assert.ok(pac.userSid.endsWith("-500"), pac.userSid);

    setDelegation(dc.dir, "test", "svc1", { allowedToDelegateTo: [] });
    const refused = await run("kvno", ["-U", "Administrator", "-P", "host/ws02"], env);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /KDC can't fulfill requested option/);
  });

  it("RBCD: impacket getST.py -impersonate Administrator -spn host/fs1.bigfirm.com as SVC2$; the grant removed, KDC_ERR_BADOPTION", {
    skip: !haveGetSt && "impacket's getST.py missing (python3-impacket)",
  }, async () => {
    assert.ok(dc, "the DC runs (previous test)");
    const db = createPrincipalDatabase(dc.dir);
    const fs1 = db.lookup("FS1$", REALM)!;
    const svc2 = db.lookup("SVC2$", REALM)!;
    assert.deepEqual(fs1.allowedToActOnBehalfOf, [svc2.accountSid]);
    assert.equal(svc2.allowedToDelegateTo, undefined);
    const aes = Buffer.from(svc2.keys.find((k) => k.etype === 18)!.key).toString("hex");
    const args = [
      "-spn",
      "host/fs1.bigfirm.com",
      "-impersonate",
      "Administrator",
      "-aesKey",
      aes,
      "-dc-ip",
      "127.0.0.1",
      `${REALM}/SVC2$`,
    ];
    const cwd = fs.mkdtempSync(path.join(home.dir, "getst-"));
    const r = await getSt(args, port, cwd);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Requesting S4U2Proxy/);
    assert.doesNotMatch(r.out, /SessionError/, r.out);
    const saved = fs.readdirSync(cwd).filter((f) => f.endsWith(".ccache"));
    assert.equal(saved.length, 1, r.out);
    const cred = readCcacheFile(path.join(cwd, saved[0]!)).credentials.find(
      (c) => c.server.name.nameString.join("/") === "host/fs1.bigfirm.com",
    );
    assert.ok(cred, r.out);
    assert.deepEqual(cred.client.name.nameString, ["Administrator"]);
    const ticket = decodeTicket(cred.ticket);
    const key = fs1.keys.find((k) => k.etype === ticket.encPart.etype)!;
    const pac = verifyPac(ticketPacBytes(openServiceTicket(ticket, key.key))!, {
      etype: key.etype,
      key: key.key,
    });
    assert.ok(pac.userSid.endsWith("-500"), pac.userSid);

    // The grant removed (DC running): the next S4U2Proxy is refused as AD refuses it.
    setDelegation(dc.dir, "test", "fs1", { allowedToActOnBehalfOf: [] });
    const cwd2 = fs.mkdtempSync(path.join(home.dir, "getst-"));
    const refused = await getSt(args, port, cwd2);
    assert.notEqual(refused.status === 0 && /Saving ticket/.test(refused.out), true, refused.out);
    assert.match(refused.out, /KDC_ERR_BADOPTION/);
    assert.equal(fs.readdirSync(cwd2).filter((f) => f.endsWith(".ccache")).length, 0);
  });
});
