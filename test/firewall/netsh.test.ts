/**
 * `postern netsh firewall ...` as an administrator uses it, without root: settings are
 * saved, nothing is applied (and the command says so), bad input changes nothing.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { settingsFile } from "../../src/firewall/store.js";
import { cliAsUser, runBin, tempHome } from "../helpers/cli.js";

const fw = cliAsUser;

const SID = "S-1-5-21-1004336348-1177238915-682003330-1105";

describe("netsh firewall (not root: saved, not applied)", () => {
  let home: { dir: string; cleanup: () => void };
  before(() => {
    home = tempHome("pfwcli");
  });
  after(() => home.cleanup());

  it("add portopening saves and notes that the rules were not applied", async () => {
    const r = await fw(home.dir, "netsh", "firewall", "add", "portopening", "TCP", "80", "Web");
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /not running as root: the settings were saved but the firewall rules were not applied/,
    );
    assert.match(r.out, /Ok\./);
    const show = await fw(home.dir, "--json", "netsh", "firewall", "show", "portopening");
    assert.deepEqual(JSON.parse(show.out).portOpenings, [
      { protocol: "tcp", port: 80, name: "Web", enabled: true, scope: "all", addresses: [] },
    ]);
  });

  it("tags by prefix and positional values, as netsh", async () => {
    const r = await fw(
      home.dir,
      "netsh",
      "firewall",
      "add",
      "port",
      "prot=udp",
      "53",
      "DNS",
      "ENABLE",
      "CUSTOM",
      "10.0.0.0/255.0.0.0,LocalSubnet",
      "ALL",
    );
    assert.equal(r.code, 0, r.err);
    const cfg = JSON.parse(
      (await fw(home.dir, "--json", "netsh", "firewall", "show", "config")).out,
    );
    for (const p of ["domain", "standard"]) {
      assert.deepEqual(
        cfg.profiles[p].portOpenings.find((o: { port: number }) => o.port === 53).addresses,
        ["10.0.0.0/8", "LocalSubnet"],
      );
    }
  });

  it("set opmode, icmpsetting, logging, currentprofile show up in show", async () => {
    for (const cmd of [
      ["set", "opmode", "mode=enable", "exceptions=disable"],
      ["set", "icmpsetting", "type=8", "mode=enable"],
      ["set", "logging", "filelocation=fw.log", "filesize=1024", "droppedpackets=enable"],
    ]) {
      const r = await fw(home.dir, "netsh", "firewall", ...cmd);
      assert.equal(r.code, 0, `${cmd.join(" ")}: ${r.err}`);
    }
    const icmp = await fw(home.dir, "netsh", "firewall", "show", "icmpsetting");
    assert.match(icmp.out, /Enable\s+8\s+Allow inbound echo request/);
    assert.equal(
      (await fw(home.dir, "netsh", "firewall", "set", "currentprofile", "domain")).code,
      0,
    );
    const state = await fw(home.dir, "netsh", "firewall", "show", "state");
    assert.match(state.out, /Profile\s+= Domain/);
    const log = JSON.parse(
      (await fw(home.dir, "--json", "netsh", "firewall", "show", "logging")).out,
    );
    assert.deepEqual(log, {
      file: path.join(home.dir, "fw.log"),
      maxSizeKb: 1024,
      droppedPackets: true,
      connections: false,
    });
    const dom = JSON.parse(
      (await fw(home.dir, "--json", "netsh", "firewall", "show", "icmpsetting", "profile=domain"))
        .out,
    );
    assert.equal(dom.profile, "domain");
    assert.equal(dom.icmp.find((i: { type: number }) => i.type === 8).enabled, false);
    const std = JSON.parse(
      (await fw(home.dir, "--json", "netsh", "firewall", "show", "config")).out,
    ).profiles.standard;
    assert.equal(std.exceptions, false);
    await fw(home.dir, "netsh", "firewall", "set", "currentprofile", "standard");
  });

  it("bypass list: SDDL accepted and printed back; add/delete by SID and by mapped name", async () => {
    const sddl = `O:DAG:DAD:(A;;RCGW;;;${SID})`;
    assert.equal(
      (await fw(home.dir, "netsh", "firewall", "set", "bypass", `sddl=${sddl}`)).code,
      0,
    );
    const shown = JSON.parse(
      (await fw(home.dir, "--json", "netsh", "firewall", "show", "bypass")).out,
    );
    assert.equal(shown.sddl, sddl);
    fs.writeFileSync(
      path.join(home.dir, "firewall", "principals.json"),
      JSON.stringify({ trusted: "S-1-5-21-1-2-3-1106" }),
    );
    assert.equal((await fw(home.dir, "netsh", "firewall", "add", "bypass", "Trusted")).code, 0);
    const text = await fw(home.dir, "netsh", "firewall", "show", "bypass");
    assert.match(
      text.out,
      new RegExp(`O:DAG:DAD:\\(A;;RCGW;;;${SID}\\)\\(A;;RCGW;;;S-1-5-21-1-2-3-1106\\)`),
    );
    assert.match(text.out, /S-1-5-21-1-2-3-1106 {2}Trusted/);
    assert.equal((await fw(home.dir, "netsh", "firewall", "delete", "bypass", SID)).code, 0);
    const after_ = JSON.parse(
      (await fw(home.dir, "--json", "netsh", "firewall", "show", "bypass")).out,
    );
    assert.deepEqual(after_.entries, [{ sid: "S-1-5-21-1-2-3-1106", name: "Trusted" }]);
  });

  const bad: [string[], number, RegExp][] = [
    [["add", "portopening", "TCP", "70000", "x"], 1, /port: '70000' is not a port number 1-65535/],
    [["add", "portopening", "TCP", "0", "x"], 1, /port: '0'/],
    [["add", "portopening", "TCP", "81", "x", "scope=custom"], 1, /scope=CUSTOM needs addresses=/],
    [
      ["add", "portopening", "TCP", "81", "x", "scope=subnet", "addresses=10.0.0.1"],
      1,
      /addresses= needs scope=CUSTOM/,
    ],
    [
      ["add", "portopening", "TCP", "81", "x", "addresses=10.0.0.300"],
      1,
      /addresses: '10.0.0.300' is not an IP address/,
    ],
    [
      ["add", "portopening", "TCP", "81", "x", "scope=everywhere"],
      2,
      /scope: expected one of all\|subnet\|custom/,
    ],
    [["add", "portopening", "SCTP", "81", "x"], 2, /protocol: expected one of tcp\|udp\|all/],
    [["add", "portopening", "TCP", "81"], 2, /missing required tag 'name='/],
    [
      ["set", "portopening", "TCP", "4444", "mode=disable"],
      1,
      /no port opening TCP 4444 in the standard profile/,
    ],
    [["delete", "portopening", "UDP", "4444"], 1, /no port opening UDP 4444/],
    [
      ["set", "icmpsetting", "type=10"],
      2,
      /type: expected one of 2, 3, 4, 5, 8, 9, 11, 12, 13, 17 or ALL/,
    ],
    [["set", "logging", "filesize=40000"], 2, /filesize: 40000 is out of range 1-32767/],
    [
      ["set", "opmode", "mode=maybe"],
      2,
      /^postern: mode: expected ENABLE or DISABLE, got .maybe.\n$/,
    ],
    [
      ["set", "bypass", "sddl=O:DAG:DAD:(A;;RCGW;;;S-1-5-21-x)"],
      1,
      /sddl: at position 22: 'S-1-5-21-x' is not a SID/,
    ],
    [
      ["add", "bypass", "Domain Admins"],
      1,
      /unknown group 'Domain Admins': no domain controller configured; give its SID/,
    ],
    [
      ["add", "bypass", "XPCLIENT$"],
      1,
      /unknown computer 'XPCLIENT\$': no domain controller configured; give its SID/,
    ],
    [["show", "everything"], 2, /unknown or ambiguous word 'everything'/],
  ];
  for (const [args, code, re] of bad) {
    it(`bad input, one line, settings byte-identical: ${args.join(" ")}`, async () => {
      const file = settingsFile(home.dir);
      const before_ = fs.readFileSync(file);
      const r = await fw(home.dir, "netsh", "firewall", ...args);
      assert.equal(r.code, code, r.err);
      assert.match(r.err, re);
      assert.equal(r.err.trim().split("\n").length, 1);
      assert.deepEqual(fs.readFileSync(file), before_);
    });
  }

  it("netsh -f runs a firewall script with pushd, stopping at the first error with its line", async () => {
    const script = path.join(home.dir, "fw.netsh");
    fs.writeFileSync(
      script,
      "# server firewall\npushd firewall\nadd portopening TCP 443 HTTPS scope=subnet\nset icmpsetting type=ALL mode=disable\npopd\nfirewall add portopening TCP 99999 bad\n",
    );
    const r = await fw(home.dir, "netsh", "-f", script);
    assert.equal(r.code, 1);
    assert.match(r.err, /fw\.netsh:6: port: '99999' is not a port number 1-65535/);
    const ports = JSON.parse(
      (await fw(home.dir, "--json", "netsh", "firewall", "show", "portopening")).out,
    ).portOpenings;
    assert.ok(
      ports.some((p: { port: number; scope: string }) => p.port === 443 && p.scope === "subnet"),
    );
  });

  it("the real binary prints no stack trace for bad SDDL", () => {
    const r = runBin(["--home", home.dir, "netsh", "firewall", "set", "bypass", "O:DAG:DAD:(X"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^postern: sddl: at position 11: ACE without closing '\)'/);
    assert.doesNotMatch(r.err, /at .*\.js/);
  });

  it("a hand-broken settings file is reported, not overwritten", async () => {
    const h = tempHome("pfwbad");
    try {
      fs.mkdirSync(path.join(h.dir, "firewall"));
      const bad_ = '{"version":1,"currentProfile":"standard","profiles":{}}';
      fs.writeFileSync(settingsFile(h.dir), bad_);
      const r = await fw(h.dir, "netsh", "firewall", "set", "opmode", "enable");
      assert.equal(r.code, 1);
      assert.match(r.err, /settings\.json: profiles\.domain: not an object/);
      assert.equal(fs.readFileSync(settingsFile(h.dir), "utf8"), bad_);
    } finally {
      h.cleanup();
    }
  });
});
