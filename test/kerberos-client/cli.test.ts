/**
 * `postern ktutil` against MIT's tools (keys from a password that MIT's kinit -k accepts,
 * MIT klist -k reads our keytabs, merge), and bad input on every Kerberos command: one
 * line, exit 1 (2 for usage), never a stack trace.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { readKeytabFile } from "../../src/kerberos/files/keytab.js";
import { runBin } from "../helpers/cli.js";
import { createMitRealm, haveMit, type MitRealm } from "../kerberos-codec/mit-realm.js";

const SKIP = haveMit() ? false : "skipped: MIT Kerberos tools (krb5-kdc, krb5-user) missing";

function oneLine(r: { code: number; err: string }, code: number, re: RegExp) {
  assert.equal(r.code, code, r.err);
  assert.equal(r.err.trim().split("\n").length, 1, r.err);
  assert.doesNotMatch(r.err, /^\s+at /m);
  assert.match(r.err, re);
}

describe("postern ktutil with MIT's kinit and klist", { skip: SKIP }, () => {
  let realm: MitRealm;
  let env: NodeJS.ProcessEnv;
  const file = (n: string) => path.join(realm.dir, n);
  before(async () => {
    realm = await createMitRealm("pkl-ktutil");
    realm.ok("kadmin.local", ["-q", "addprinc -pw alice-secret alice"]);
    realm.ok("kadmin.local", ["-q", "addprinc -pw bob-secret bob"]);
    await realm.startKdc();
    env = { ...realm.env, KRB5CCNAME: `FILE:${path.join(realm.dir, "ours.cc")}` };
  });
  after(() => realm?.stop());

  it("ktutil add derives the KDC's keys from the password: MIT kinit -k and ours log in with it", () => {
    const kt = file("alice.keytab");
    const add = runBin(
      [
        "ktutil",
        "add",
        "-p",
        "alice",
        "-e",
        "aes256-cts-hmac-sha1-96",
        "-e",
        "aes256-cts-hmac-sha384-192",
        "-V",
        "1",
        "-k",
        kt,
      ],
      { input: "alice-secret\n", env },
    );
    assert.equal(add.code, 0, add.err);
    const listed = realm.ok("klist", ["-k", "-e", kt]);
    assert.match(listed, /1 alice@MIT\.TEST \(aes256-cts-hmac-sha1-96\)/);
    assert.match(listed, /1 alice@MIT\.TEST \(aes256-cts-hmac-sha384-192\)/);
    realm.ok("kinit", ["-k", "-t", kt, "alice"], { env: { KRB5CCNAME: `FILE:${file("mit.cc")}` } });
    const ours = runBin(["kinit", "-k", "-t", kt], { env });
    assert.equal(ours.code, 0, ours.err);
    assert.match(runBin(["klist"], { env }).out, /Default principal: alice@MIT\.TEST/);
  });

  it("ktutil merge appends keytabs without duplicating entries; ktutil list as MIT's klist -k", () => {
    const a = file("a.keytab");
    const b = file("b.keytab");
    const m = file("merged.keytab");
    assert.equal(
      runBin(["ktutil", "add", "-p", "alice", "-k", a], { input: "alice-secret\n", env }).code,
      0,
    );
    assert.equal(
      runBin(["ktutil", "add", "-p", "bob", "-V", "2", "-k", b], { input: "bob-secret\n", env })
        .code,
      0,
    );
    assert.equal(runBin(["ktutil", "merge", "-k", m, a, b], { env }).code, 0);
    assert.equal(runBin(["ktutil", "merge", "-k", m, a, b], { env }).code, 0);
    assert.equal(readKeytabFile(m).entries.length, 4);
    const ours = runBin(["ktutil", "list", "-e", "-k", m], { env });
    assert.equal(ours.out, realm.ok("klist", ["-k", "-e", m]));
    realm.ok("kinit", ["-k", "-t", m, "bob"], { env: { KRB5CCNAME: `FILE:${file("mit2.cc")}` } });
  });

  it("bad input: one line, exit 1 or 2, no stack trace, nothing written", () => {
    oneLine(runBin(["kinit", "-x"], { env }), 2, /kinit: unknown option -x/);
    oneLine(
      runBin(["ktutil", "add", "-k", file("x.kt")], { env, input: "p\n" }),
      2,
      /-p PRINCIPAL is required/,
    );
    oneLine(runBin(["ktutil", "frobnicate"], { env }), 2, /expected list, add or merge/);
    oneLine(
      runBin(["ktutil", "add", "-p", "alice", "-e", "rc4-hmac", "-k", file("x.kt")], {
        env,
        input: "p\n",
      }),
      1,
      /rc4-hmac|not supported|unknown/,
    );
    assert.equal(fs.existsSync(file("x.kt")), false);
    oneLine(
      runBin(["kinit", "alice@OTHER.TEST"], { env, input: "p\n" }),
      1,
      /no KDC known for realm OTHER\.TEST/,
    );
    oneLine(runBin(["kinit", "alice"], { env }), 1, /no password on stdin/);
    fs.writeFileSync(file("junk.cc"), "not a cache");
    oneLine(runBin(["klist", "-c", file("junk.cc")], { env }), 1, /ccache/);
    oneLine(
      runBin(["klist"], { env: { ...env, KRB5CCNAME: "KEYRING:persistent:0" } }),
      1,
      /only FILE: ccaches/,
    );
    oneLine(
      runBin(["kvno", "host/x"], { env: { ...env, KRB5CCNAME: `FILE:${file("none.cc")}` } }),
      1,
      /no credentials cache found/,
    );
    oneLine(runBin(["kinit", "-k", "-t", file("missing.kt"), "alice"], { env }), 1, /no such file/);
    const bad = file("bad.conf");
    fs.writeFileSync(bad, "[realms]\n MIT.TEST = {\n kdc 1.2.3.4\n}\n");
    oneLine(
      runBin(["kinit", "alice"], { env: { ...env, KRB5_CONFIG: bad }, input: "p\n" }),
      1,
      /bad\.conf line 3/,
    );
  });
});
