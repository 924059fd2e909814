import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../../src/errors.js";
import {
  parseAuthList,
  parseIpseccmd,
  parseNegotiation,
} from "../../src/netsh/ipseccmd/switches.js";

const warnings: string[] = [];
const warn = (m: string) => warnings.push(m);

function usage(argv: string[], pattern: RegExp): void {
  assert.throws(
    () => parseIpseccmd(argv, warn),
    (e: unknown) => e instanceof UsageError && e.exitCode === 2 && pattern.test(e.message),
    argv.join(" "),
  );
}

describe("ipseccmd switches", () => {
  it("static mode: -w REG -p NAME:POLL -r RULE -f ... -x", () => {
    const r = parseIpseccmd(
      ["-w", "REG", "-p", "Web:30", "-r", "Secure web", "-f", "*+0:80:TCP", "-a", "K", "-x"],
      warn,
    );
    assert.equal(r.mode, "static");
    if (r.mode !== "static") return;
    assert.deepEqual(
      [r.store, r.policy, r.pollMin, r.ruleName, r.assign],
      ["reg", "Web", 30, "Secure web", true],
    );
    assert.equal(r.rule.filters?.length, 1);
    assert.deepEqual(r.rule.auth, [{ kind: "kerberos" }]);
  });

  it("switches are case-insensitive; -w DS:domain keeps the domain", () => {
    const r = parseIpseccmd(["-W", "ds:bigfirm.com", "-P", "x", "-F", "0+*"], warn);
    assert.ok(r.mode === "static" && r.store === "ds" && r.domain === "bigfirm.com");
  });

  it("without -w: dynamic mode; -u alone deletes the dynamic policies", () => {
    const d = parseIpseccmd(["-f", "0+*", "-n", "ESP[AES128,SHA256]"], warn);
    assert.ok(d.mode === "dynamic" && !d.deleteAll);
    assert.equal(d.rule.filters?.length, 1, "the rule parsed as -w REG parses it");
    assert.equal(d.rule.negotiation?.action, "negotiate");
    const u = parseIpseccmd(["-u", "-confirm"], warn);
    assert.ok(u.mode === "dynamic" && u.deleteAll);
    usage(["-u", "-f", "0+*"], /^-u: deletes every dynamic policy; give it alone/);
    usage(["-f", "0+*", "-x"], /^-x: only in static mode/);
  });

  it("show: several words, policy as policies", () => {
    assert.deepEqual(parseIpseccmd(["show", "filters", "policy", "sas"], warn), {
      mode: "show",
      what: ["filters", "policies", "sas"],
    });
  });

  it("-n: ipseccmd's offers map to the store's, SHA meaning SHA1, with rekey and PFS", () => {
    const n = parseNegotiation(["ESP[NONE,SHA]", "AH[SHA]+ESP[3DES,SHA]50000K/600SPFS2"], warn);
    assert.equal(n.action, "negotiate");
    assert.equal(n.qmPfs, true);
    assert.deepEqual(n.qmSecMethods, [
      { esp: { conf: "none", auth: "sha1" }, lifetimeKb: 100000, lifetimeSec: 3600 },
      {
        ah: { hash: "sha1" },
        esp: { conf: "3des", auth: "sha1" },
        lifetimeKb: 50000,
        lifetimeSec: 600,
      },
    ]);
    assert.deepEqual(parseNegotiation(["PASS"], warn).action, "permit");
    assert.deepEqual(parseNegotiation(["block"], warn).action, "block");
    const inpass = parseNegotiation(["ESP[AES256,SHA256]", "INPASS"], warn);
    assert.equal(inpass.inpass, true);
    assert.throws(
      () => parseNegotiation(["ESP[DES,MD5]"], warn),
      /^UsageError: -n .*DES is refused/,
    );
    assert.throws(
      () => parseNegotiation(["PASS", "ESP[AES256,SHA256]"], warn),
      /-n: PASS stands alone/,
    );
    assert.throws(() => parseNegotiation(["ESP(AES256)"], warn), /-n: 'ESP\(AES256\)'/);
  });

  it('-a: K, P:"key", C:"CA" and the long spellings', () => {
    assert.deepEqual(parseAuthList(["K", 'PRESHARE:"s3cret"', "C:CN=Root"]), [
      { kind: "kerberos" },
      { kind: "psk", key: "s3cret" },
      { kind: "rootca", ca: "CN=Root", certmap: false, excludeCaName: false },
    ]);
    assert.throws(() => parseAuthList(["P:"]), /-a: 'P:'/);
    assert.throws(() => parseAuthList(["NTLM"]), /-a: 'NTLM'/);
  });

  it("-1s, -1k, -1p go to the policy's main mode", () => {
    const r = parseIpseccmd(
      [
        "-w",
        "REG",
        "-p",
        "x",
        "-f",
        "0+*",
        "-1s",
        "3DES-SHA-2",
        "AES256-SHA256-14",
        "-1k",
        "5Q/3600S",
        "-1p",
      ],
      warn,
    );
    assert.ok(r.mode === "static");
    if (r.mode !== "static") return;
    assert.deepEqual(r.rule.mmSecMethods, [
      { conf: "3des", hash: "sha1", dhGroup: 2 },
      { conf: "aes256", hash: "sha256", dhGroup: 14 },
    ]);
    assert.deepEqual([r.rule.qmPerMm, r.rule.mmLifetimeMin, r.rule.mmPfs], [5, 60, true]);
  });

  it("usage errors name the switch", () => {
    usage(["-w", "REG", "-f", "0+*"], /^-p: static mode/);
    usage(["-w", "FILE", "-p", "x", "-f", "0+*"], /^-w: 'FILE'/);
    usage(["-w", "REG", "-p", "x", "-f", "0+*", "-k"], /^unknown switch -k/);
    usage(["-w", "REG", "-p", "x", "-p", "y"], /^-p: given twice/);
    usage(["-w", "REG", "-p", "x", "-f", "0+*", "-x", "-y"], /^-x and -y/);
    usage(["-w", "REG", "-p", "x", "-f", "0+*", "-confirm"], /^-confirm: only in dynamic mode/);
    usage(["-f", "0+*", "-x"], /^-x: only in static mode/);
    usage(["-w", "REG", "-p", "x", "-f", "0+*", "-1k", "10M"], /^-1k: '10M'/);
    usage(["-w", "REG", "-p", "x", "-f", "0+*", "-1k", "90S"], /^-1k: 90S/);
    usage(["-w", "REG", "-p", "x", "-f", "0+*", "-1s", "3DES-SHA"], /^-1s '3DES-SHA'/);
    usage(["-w", "REG", "-p", "x", "-f", "0+*", "-1e", "soon"], /^-1e: 'soon'/);
    usage(["-w", "REG", "-p", "x", "-n", "PASS"], /^-f: -n, -a/);
    usage(["-w", "REG", "-p", "x"], /^-f: needed/);
    usage(["-w", "REG", "-p", "x", "-o", "-f", "0+*"], /^-o: deletes the policy/);
    usage(["-w", "REG", "-p", "x", "-f"], /^-f: needs a value/);
    usage(["-w", "REG", "REG"], /^-w: unexpected 'REG'/);
    usage(["-w", "REG", "-p", "x:0", "-f", "0+*"], /^-p: polling interval 0/);
    usage(["-w", "REG", "-p", "x", "-f", "0+*", "-dialup", "-lan"], /^-dialup and -lan/);
    usage(["\\\\server1", "-f", "0+*"], /remote computers/);
    usage(["show"], /^show: expected/);
    usage(["show", "everything"], /^show: 'everything'/);
    usage(["-file", "x.txt"], /^-file: batch files/);
  });
});
