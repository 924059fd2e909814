/**
 * FAST (RFC 6113) with MIT Kerberos 1.20's own client against our KDC (the `postern kdc`
 * runner on loopback), both ways:
 *
 *   - `kinit -T ARMOR` where ARMOR holds the machine's TGT (`kinit -k -t` as WS01$, as a
 *     domain member armours its users' logons): the AS exchange is armored (MIT's trace:
 *     FAST armor key, encrypted challenge, FAST reply key; the KDC's counters: armored
 *     AS-REQs), and the TGT works for `kvno`, whose TGS-REQ is armored too;
 *   - a wrong password under FAST is refused with MIT's "Password incorrect" (the error
 *     came inside PA-FX-ERROR and MIT read it there);
 *   - plain `kinit` (no armor) still logs in with encrypted timestamp; MIT learns from
 *     the enc-pa-rep that FAST is available and armours `kvno`'s TGS-REQ.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { readCcacheFile } from "../../src/kerberos/files/ccache.js";
import { writeKeytabFile } from "../../src/kerberos/files/keytab.js";
import { adSalt } from "../../src/kerberos/kdc/database.js";
import { haveMit } from "../kerberos-codec/mit-realm.js";
import { ok, type RunningKdc, run, startRunner } from "./runner.js";

const REALM = "PKD.TEST";

/** The runner's counters, printed as JSON when it stops. */
function countersOf(output: string): { armored: Record<string, number> } {
  const line = output.split("\n").find((l) => l.startsWith("{") && l.includes('"armored"'));
  assert.ok(line, `no counters in the runner's output: ${output}`);
  return JSON.parse(line);
}

describe("MIT kinit -T (FAST armor) and plain kinit against our KDC", {
  skip: !haveMit() && "MIT Kerberos tools missing",
}, () => {
  let kdc: RunningKdc;
  let armor: string;
  before(async () => {
    kdc = await startRunner("fast", {
      realm: REALM,
      domainSid: "S-1-5-21-81-82-83",
      enctypes: [18, 17],
      krbtgtPassword: "krbtgt-secret",
      principals: [
        { name: "alice", password: "alice-pw", rid: 1104, groups: [1105] },
        { name: "WS01$", password: "ws01-machine-pw", rid: 1106, aliases: ["host/ws01.pkd.test"] },
        {
          name: "SERVER1$",
          password: "server1-machine-pw",
          rid: 1107,
          aliases: ["host/server1.pkd.test"],
        },
      ],
    });
    // The armor: the machine's own TGT, from its keytab.
    const kt = path.join(kdc.dir, "ws01.keytab");
    writeKeytabFile(kt, {
      entries: [18, 17].map((etype) => ({
        principal: { realm: REALM, name: { nameType: 1, nameString: ["WS01$"] } },
        timestamp: 0,
        kvno: 1,
        key: {
          keytype: etype,
          keyvalue: getEnctype(etype).stringToKey("ws01-machine-pw", adSalt(REALM, "WS01$")),
        },
      })),
    });
    armor = path.join(kdc.dir, "armor.ccache");
    await ok("kinit", ["-k", "-t", kt, "-c", `FILE:${armor}`, `WS01$@${REALM}`], kdc.env);
  });
  after(async () => {
    await kdc?.stop();
  });

  it("kinit -T with the machine's TGT: an armored AS exchange (encrypted challenge, strengthened reply key)", async () => {
    const trace = path.join(kdc.dir, "kinit-t.trace");
    const env = { ...kdc.env, KRB5_TRACE: trace, KRB5CCNAME: `FILE:${path.join(kdc.dir, "cc-t")}` };
    await ok("kinit", ["-T", `FILE:${armor}`, `alice@${REALM}`], env, "alice-pw\n");
    const t = fs.readFileSync(trace, "utf8");
    assert.match(t, /FAST armor ccache: FILE:/);
    assert.match(t, /FAST armor key: aes256-cts/);
    assert.match(t, /Encoding request body and padata into FAST request/);
    assert.match(t, /Decoding FAST response/);
    assert.match(t, /Preauth module encrypted_challenge \(138\) \(real\) returned: 0\/Success/);
    assert.match(t, /FAST reply key: aes256-cts/);
    assert.doesNotMatch(
      t,
      /encrypted_timestamp \(2\) \(real\)/,
      "no encrypted timestamp under FAST",
    );
    const list = await ok("klist", [], env);
    assert.match(list, /Default principal: alice@PKD\.TEST/);
    // The TGT works, and its TGS request is armored as well.
    const kt = path.join(kdc.dir, "kvno-t.trace");
    const out = await ok("kvno", ["host/server1.pkd.test"], { ...env, KRB5_TRACE: kt });
    assert.match(out, /kvno = 1/);
    assert.match(fs.readFileSync(kt, "utf8"), /Decoding FAST response/);
    // Session keys are random (MIT's ccache holds them).
    const cc = readCcacheFile(path.join(kdc.dir, "cc-t"));
    const keys = cc.credentials
      .filter((c) => c.key.keyvalue.length > 0)
      .map((c) => Buffer.from(c.key.keyvalue).toString("hex"));
    assert.equal(keys.length, 2);
    assert.notEqual(keys[0], keys[1]);
    assert.ok(
      keys.every((k) => /[1-9a-f]/.test(k)),
      "no all-zero session key",
    );
  });

  it("kinit -T with a wrong password: MIT reads the error from PA-FX-ERROR (Password incorrect)", async () => {
    const env = { ...kdc.env, KRB5CCNAME: `FILE:${path.join(kdc.dir, "cc-bad")}` };
    const r = await run("kinit", ["-T", `FILE:${armor}`, `alice@${REALM}`], env, "wrong-pw\n");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Password incorrect/);
  });

  it("plain kinit (no armor) still works with encrypted timestamp; FAST negotiated; kvno armours its TGS-REQ", async () => {
    const trace = path.join(kdc.dir, "kinit.trace");
    const env = { ...kdc.env, KRB5_TRACE: trace, KRB5CCNAME: `FILE:${path.join(kdc.dir, "cc-p")}` };
    await ok("kinit", [`alice@${REALM}`], env, "alice-pw\n");
    const t = fs.readFileSync(trace, "utf8");
    assert.match(t, /Preauth module encrypted_timestamp \(2\) \(real\) returned: 0\/Success/);
    assert.doesNotMatch(t, /FAST armor key/, "the AS exchange itself is not armored");
    assert.match(t, /FAST negotiation: available/, "enc-pa-rep verified by MIT");
    const kt = path.join(kdc.dir, "kvno.trace");
    await ok("kvno", ["host/server1.pkd.test"], { ...env, KRB5_TRACE: kt });
    const k = fs.readFileSync(kt, "utf8");
    assert.match(k, /Encoding request body and padata into FAST request/);
    assert.match(k, /TGS request result: 0\/Success/);
  });

  it("the KDC counted the armored exchanges", async () => {
    const counters = countersOf(await kdc.stop());
    // kinit -T: PREAUTH_REQUIRED + AS-REP, wrong password: 2 more; kvno twice.
    assert.ok((counters.armored["AS-REQ"] ?? 0) >= 4, JSON.stringify(counters.armored));
    assert.ok((counters.armored["TGS-REQ"] ?? 0) >= 2, JSON.stringify(counters.armored));
  });
});
