/**
 * MIT Kerberos 1.20 clients against our KDC (the `postern kdc` runner on loopback), for
 * both enctype families (aes-sha1 17/18, RFC 3962; aes-sha2 19/20, RFC 8009):
 *
 *   kinit with a password; klist -e; kvno host/server1 (TGS); the service ticket in MIT's
 *   ccache decrypted with SERVER1$'s key and its PAC verified (alice's groups); kinit -k -t
 *   with a keytab we wrote for WS01$; a wrong password refused. The AS exchange is not
 *   armored (no armor ccache) but MIT learns from the enc-pa-rep that FAST is available
 *   (its `fast_avail` cache entry) and armours the TGS-REQ (fast-interop.test.ts: kinit -T).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { cacheConfigEntries, readCcacheFile } from "../../src/kerberos/files/ccache.js";
import { writeKeytabFile } from "../../src/kerberos/files/keytab.js";
import { adSalt } from "../../src/kerberos/kdc/database.js";
import { ticketPacBytes } from "../../src/kerberos/kdc/ticket.js";
import { decodeTicket } from "../../src/kerberos/messages/index.js";
import { verifyPac } from "../../src/kerberos/pac/index.js";
import { haveMit } from "../kerberos-codec/mit-realm.js";
import { openServiceTicket } from "./client.js";
import { ENCTYPE_NAMES, ok, type RunningKdc, run, startRunner } from "./runner.js";

const REALM = "PKD.TEST";
const SID = "S-1-5-21-71-72-73";

for (const family of [
  { name: "aes-sha1 (RFC 3962)", enctypes: [18, 17] },
  { name: "aes-sha2 (RFC 8009)", enctypes: [20, 19] },
]) {
  const [strong] = family.enctypes as [number];
  describe(`MIT kinit, kvno, klist -e against our KDC: ${family.name}`, {
    skip: !haveMit() && "MIT Kerberos tools missing",
  }, () => {
    let kdc: RunningKdc;
    before(async () => {
      kdc = await startRunner(`mit${strong}`, {
        realm: REALM,
        domainSid: SID,
        enctypes: family.enctypes,
        krbtgtPassword: "krbtgt-secret",
        principals: [
          { name: "alice", password: "alice-pw", rid: 1104, groups: [1105] },
          {
            name: "WS01$",
            password: "ws01-machine-pw",
            rid: 1106,
            aliases: ["host/ws01.pkd.test"],
          },
          {
            name: "SERVER1$",
            password: "server1-machine-pw",
            rid: 1107,
            aliases: ["host/server1.pkd.test"],
          },
        ],
      });
    });
    after(async () => {
      await kdc?.stop();
    });

    it("RFC 4120 §3.1: kinit with a password gets a TGT; klist -e shows the enctype; FAST negotiated (RFC 6806 enc-pa-rep)", async () => {
      const trace = path.join(kdc.dir, "kinit.trace");
      await ok("kinit", [`alice@${REALM}`], { ...kdc.env, KRB5_TRACE: trace }, "alice-pw\n");
      const t = fs.readFileSync(trace, "utf8");
      assert.match(t, /Preauth module encrypted_timestamp \(2\) \(real\) returned: 0\/Success/);
      assert.match(t, /FAST negotiation: available/);
      assert.doesNotMatch(t, /FAST armor key/, "the AS exchange itself is not armored");
      const list = await ok("klist", ["-e"], kdc.env);
      assert.match(list, /Default principal: alice@PKD\.TEST/);
      assert.match(
        list,
        new RegExp(
          `krbtgt/PKD\\.TEST@PKD\\.TEST[\\s\\S]*Etype \\(skey, tkt\\): ${ENCTYPE_NAMES[strong]}, ${ENCTYPE_NAMES[strong]}`,
        ),
      );
      const cc = readCcacheFile(path.join(kdc.dir, "ccache"));
      const conf = cacheConfigEntries(cc).map((e) => e.key);
      assert.ok(conf.includes("fast_avail"), `MIT did not see FAST offered: ${conf.join(", ")}`);
    });

    it("RFC 4120 §3.3: kvno host/server1 gets a service ticket whose PAC carries alice's groups", async () => {
      const trace = path.join(kdc.dir, "kvno.trace");
      const out = await ok("kvno", ["host/server1.pkd.test"], { ...kdc.env, KRB5_TRACE: trace });
      assert.match(out, /host\/server1\.pkd\.test@PKD\.TEST: kvno = 1/);
      const t = fs.readFileSync(trace, "utf8");
      assert.match(t, /TGS request result: 0/, "the trace shows the TGS exchange");
      assert.match(
        t,
        /Encoding request body and padata into FAST request/,
        "MIT armours its TGS requests once FAST was offered",
      );
      const list = await ok("klist", ["-e"], kdc.env);
      assert.match(
        list,
        new RegExp(
          `host/server1\\.pkd\\.test@PKD\\.TEST[\\s\\S]*Etype \\(skey, tkt\\): ${ENCTYPE_NAMES[strong]}, ${ENCTYPE_NAMES[strong]}`,
        ),
      );
      const cc = readCcacheFile(path.join(kdc.dir, "ccache"));
      const cred = cc.credentials.find(
        (c) => c.server.name.nameString.join("/") === "host/server1.pkd.test",
      );
      assert.ok(cred);
      const serverKey = getEnctype(strong).stringToKey(
        "server1-machine-pw",
        adSalt(REALM, "SERVER1$"),
      );
      const part = openServiceTicket(decodeTicket(cred.ticket), serverKey);
      const pac = verifyPac(ticketPacBytes(part)!, { etype: strong, key: serverKey });
      assert.equal(pac.userSid, `${SID}-1104`);
      assert.ok(pac.groupSids.includes(`${SID}-1105`));
    });

    it("kinit -k -t with a keytab we wrote for WS01$ (machine salt); klist -e", async () => {
      const kt = path.join(kdc.dir, "ws01.keytab");
      writeKeytabFile(kt, {
        entries: family.enctypes.map((etype) => ({
          principal: { realm: REALM, name: { nameType: 1, nameString: ["WS01$"] } },
          timestamp: 0,
          kvno: 1,
          key: {
            keytype: etype,
            keyvalue: getEnctype(etype).stringToKey("ws01-machine-pw", adSalt(REALM, "WS01$")),
          },
        })),
      });
      const env = { ...kdc.env, KRB5CCNAME: `FILE:${path.join(kdc.dir, "ccache-ws01")}` };
      await ok("kinit", ["-k", "-t", kt, `WS01$@${REALM}`], env);
      const list = await ok("klist", ["-e"], env);
      assert.match(list, /Default principal: WS01\$@PKD\.TEST/);
      assert.match(
        list,
        new RegExp(`Etype \\(skey, tkt\\): ${ENCTYPE_NAMES[strong]}, ${ENCTYPE_NAMES[strong]}`),
      );
      await ok("kvno", ["host/ws01.pkd.test"], env);
    });

    it("a wrong password: kinit fails with MIT's 'Password incorrect' (KDC_ERR_PREAUTH_FAILED)", async () => {
      const env = { ...kdc.env, KRB5CCNAME: `FILE:${path.join(kdc.dir, "ccache-bad")}` };
      const r = await run("kinit", [`alice@${REALM}`], env, "not-the-password\n");
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Password incorrect/);
      const u = await run("kinit", [`nobody@${REALM}`], env, "x\n");
      assert.match(u.stderr, /not found in Kerberos database/);
    });
  });
}
