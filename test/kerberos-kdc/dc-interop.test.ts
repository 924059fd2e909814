/**
 * The whole chain the article needs, with real parts: the DC's directory (src/dc, SQLite)
 * serves as the principal database of our KDC through the DC's `startKdc` seam
 * (`kdcStarter`); a computer WS01 is added and put in group "trusted"; MIT `kinit -k -t`
 * logs in as WS01$ with a keytab we wrote from the directory's keys; MIT `kvno` gets a
 * ticket for the computer's own host/ SPN; its PAC (verified with the directory's keys)
 * carries Domain Computers (515) and "trusted".
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { addComputer } from "../../src/dc/computers.js";
import { type RunningDc, startDc } from "../../src/dc/daemon.js";
import { addGroup, addMember } from "../../src/dc/groups.js";
import { createPrincipalDatabase } from "../../src/dc/principals.js";
import { readCcacheFile } from "../../src/kerberos/files/ccache.js";
import { writeKeytabFile } from "../../src/kerberos/files/keytab.js";
import { kdcStarter } from "../../src/kerberos/kdc/dc-seam.js";
import { ticketPacBytes } from "../../src/kerberos/kdc/ticket.js";
import { decodeTicket } from "../../src/kerberos/messages/index.js";
import { verifyPac } from "../../src/kerberos/pac/index.js";
import { tempHome } from "../helpers/cli.js";
import { freePort, haveMit } from "../kerberos-codec/mit-realm.js";
import { cliInit } from "../dc/helpers.js";
import { openServiceTicket } from "./client.js";
import { mitConfig, ok } from "./runner.js";
import * as fs from "node:fs";

const REALM = "BIGFIRM.COM";

describe("the DC's directory behind our KDC, MIT clients in front", {
  skip: !haveMit() && "MIT Kerberos tools missing",
}, () => {
  const home = tempHome("pkd-dc");
  let dc: RunningDc;
  const log: string[] = [];
  let port = 0;

  before(async () => {
    await cliInit(home.dir);
    port = await freePort();
    dc = await startDc({
      home: home.dir,
      host: "127.0.0.1",
      kdcPort: port,
      dnsPort: 0,
      apiPort: 0,
      log: (l) => log.push(l),
      startKdc: kdcStarter({ realm: REALM, netbiosDomain: "BIGFIRM", dnsDomain: "bigfirm.com" }),
    });
    fs.writeFileSync(path.join(home.dir, "krb5.conf"), mitConfig(REALM, port, [20, 19, 18, 17]));
  });
  after(async () => {
    await dc?.stop();
    home.cleanup();
  });

  it("WS01$ logs in with a keytab from the directory's keys; its service ticket's PAC lists 515 and 'trusted'", async () => {
    assert.ok(
      log.some((l) => l.includes(`kdc: realm ${REALM} on 127.0.0.1:${port}`)),
      log.join("\n"),
    );
    const ws = addComputer(dc.dir, "test", "ws01");
    const trusted = addGroup(dc.dir, "test", "trusted");
    addMember(dc.dir, "test", "trusted", "WS01$");
    const entry = createPrincipalDatabase(dc.dir).lookup("WS01$", REALM);
    assert.ok(entry);
    const kt = path.join(home.dir, "ws01.keytab");
    writeKeytabFile(kt, {
      entries: entry.keys.map((k) => ({
        principal: { realm: REALM, name: { nameType: 1, nameString: ["WS01$"] } },
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
    await ok("kinit", ["-k", "-t", kt, `WS01$@${REALM}`], env);
    const spn = ws.spns.find((s) => s.includes("."))!;
    const out = await ok("kvno", [spn], env);
    assert.match(
      out,
      new RegExp(`${spn.replace(/\./g, "\\.")}@${REALM.replace(".", "\\.")}: kvno = 1`),
    );
    const cred = readCcacheFile(path.join(home.dir, "cc")).credentials.find(
      (c) => c.server.name.nameString.join("/") === spn,
    );
    assert.ok(cred);
    const ticket = decodeTicket(cred.ticket);
    const key = entry.keys.find((k) => k.etype === ticket.encPart.etype)!;
    const pac = verifyPac(ticketPacBytes(openServiceTicket(ticket, key.key))!, {
      etype: key.etype,
      key: key.key,
    });
    assert.equal(pac.userSid, ws.sid);
    assert.ok(pac.groupSids.includes(pac.primaryGroupSid) && pac.primaryGroupSid.endsWith("-515"));
    assert.ok(pac.groupSids.includes(trusted.sid), `${trusted.sid} in ${pac.groupSids.join(", ")}`);
  });
});
