/**
 * Input traps (issue 17, item 8): what an administrator following the article types, with
 * Windows habits, through the real CLI in a temporary home. Each trap is one clear line
 * naming what is wrong and how to fix it, exit 1 (2 for usage), and nothing stored: the
 * store and settings files are byte-identical before and after.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { settingsFile } from "../../src/firewall/store.js";
import { cli, tempHome } from "../helpers/cli.js";

/** Every file under the home with its bytes, to show that a refused command stored nothing. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) visit(full);
      else out.set(path.relative(dir, full), fs.readFileSync(full, "base64"));
    }
  };
  visit(dir);
  return out;
}

describe("netsh and gpupdate input traps: one line, exit status, nothing stored", () => {
  let home: { dir: string; cleanup: () => void };
  before(async () => {
    home = tempHome("traps");
    const setup = [
      ["netsh", "ipsec", "static", "add", "policy", "name=Secure web"],
      ["netsh", "ipsec", "static", "add", "filterlist", "name=web"],
      ["netsh", "firewall", "set", "opmode", "mode=enable"],
    ];
    for (const a of setup) {
      const r = await cli(home.dir, ...a);
      assert.equal(r.code, 0, r.err);
    }
    assert.ok(fs.existsSync(path.join(home.dir, "ipsec", "local-store.json")));
    assert.ok(fs.existsSync(settingsFile(home.dir)));
  });
  after(() => home.cleanup());

  const traps: [string, string[], number, string][] = [
    [
      "typographic double quotes, as pasted from a formatted page",
      ["netsh", "ipsec", "static", "add", "policy", "name=\u201cSecure\u201d"],
      2,
      `netsh: typographic quote \u201c in 'name=\u201cSecure\u201d': retype it as a straight quote (") - it was probably copied from a formatted page`,
    ],
    [
      "a typographic single quote in a description",
      ["netsh", "ipsec", "static", "set", "policy", "name=Secure web", "description=it\u2019s"],
      2,
      `netsh: typographic quote \u2019 in 'description=it\u2019s': retype it as a straight quote (") - it was probably copied from a formatted page`,
    ],
    [
      "a closing typographic quote as its own word (the shell split the name)",
      ["netsh", "firewall", "add", "portopening", "TCP", "80", "\u2018Web", "site\u2019"],
      2,
      `netsh: typographic quote \u2018 in '\u2018Web': retype it as a straight quote (") - it was probably copied from a formatted page`,
    ],
    [
      "srcaddr with a /prefix",
      [
        "netsh",
        "ipsec",
        "static",
        "add",
        "filter",
        "filterlist=web",
        "srcaddr=10.0.0.0/24",
        "dstaddr=me",
      ],
      2,
      "add filter: srcaddr: netsh takes no /prefix in the address; write srcaddr=10.0.0.0 srcmask=24",
    ],
    [
      "dstaddr with a /dotted mask",
      [
        "netsh",
        "ipsec",
        "static",
        "add",
        "filter",
        "filterlist=web",
        "srcaddr=me",
        "dstaddr=192.168.1.0/255.255.255.0",
      ],
      2,
      "add filter: dstaddr: netsh takes no /prefix in the address; write dstaddr=192.168.1.0 dstmask=255.255.255.0",
    ],
    [
      "firewall mode= with a word that is not ENABLE|DISABLE",
      ["netsh", "firewall", "set", "opmode", "mode=enabled-ish"],
      2,
      "mode: expected ENABLE or DISABLE, got 'enabled-ish'",
    ],
    [
      "portopening mode=",
      ["netsh", "firewall", "add", "portopening", "TCP", "80", "Web", "mode=active"],
      2,
      "mode: expected ENABLE or DISABLE, got 'active'",
    ],
    [
      "multicastbroadcastresponse mode=",
      ["netsh", "firewall", "set", "multicastbroadcastresponse", "mode=maybe"],
      2,
      "mode: expected ENABLE or DISABLE, got 'maybe'",
    ],
    [
      "set service mode=",
      ["netsh", "firewall", "set", "service", "REMOTEADMIN", "mode=allow"],
      2,
      "mode: expected ENABLE or DISABLE, got 'allow'",
    ],
    [
      "ipsec dynamic set config out of Windows' range",
      ["netsh", "ipsec", "dynamic", "set", "config", "property=ipsecloginterval", "value=30"],
      2,
      "set config: ipsecloginterval takes an integer 60-86400, not '30'",
    ],
    [
      "a drive-letter path for the firewall log",
      ["netsh", "firewall", "set", "logging", "filelocation=C:\\WINDOWS\\pfirewall.log"],
      2,
      "",
    ],
    [
      "a %systemroot% path below a subdirectory (Vista's default)",
      [
        "netsh",
        "firewall",
        "set",
        "logging",
        "filelocation=%systemroot%\\system32\\LogFiles\\Firewall\\pfirewall.log",
      ],
      2,
      "",
    ],
    [
      "another %VARIABLE%",
      ["netsh", "firewall", "set", "logging", "filelocation=%TEMP%\\fw.log"],
      2,
      "",
    ],
    [
      "exportpolicy to a directory that does not exist",
      ["netsh", "ipsec", "static", "exportpolicy", "file=no-such-dir/policy.ipsec"],
      1,
      "",
    ],
    [
      "gpupdate /target:user",
      ["gpupdate", "/target:user"],
      1,
      "gpupdate /target:user: postern has no user policy, only computer policy (/target:computer, the default)",
    ],
    [
      "gpupdate with a Windows switch postern does not take",
      ["gpupdate", "/logoff"],
      2,
      "gpupdate: unknown switch /logoff (Windows switches taken: /force, /target:computer, /target:user)",
    ],
  ];

  /** The expected line where it names the temporary home (filled in at run time). */
  function expected(args: string[], line: string): string {
    if (line !== "") return line;
    const value = (args.at(-1) as string).replace(/^[a-z]+=/, "");
    if (args[3] === "exportpolicy") {
      const dir = path.join(process.cwd(), "no-such-dir");
      return `exportpolicy: directory ${dir} does not exist (create it first, or give another file=)`;
    }
    const log = path.join(home.dir, "firewall", "pfirewall.log");
    return `filelocation: '${value}' is a Windows path; give a Linux path, or %systemroot%\\pfirewall.log for ${log}`;
  }

  for (const [what, args, code, line] of traps) {
    it(`${what}: refused with one line, exit ${code}, nothing stored`, async () => {
      const before_ = snapshot(home.dir);
      const r = await cli(home.dir, ...args);
      assert.equal(r.err, `postern: ${expected(args, line)}\n`);
      assert.equal(r.out, "");
      assert.equal(r.code, code);
      assert.deepEqual(snapshot(home.dir), before_);
    });
  }

  it("a script line with typographic quotes stops the script, naming FILE:LINE", async () => {
    const script = path.join(home.dir, "..", `${path.basename(home.dir)}-script.txt`);
    fs.writeFileSync(script, "pushd ipsec static\nadd policy name=\u201cSecure\u201d\n");
    try {
      const before_ = snapshot(home.dir);
      const r = await cli(home.dir, "netsh", "-f", script);
      assert.equal(
        r.err,
        `postern: ${script}:2: netsh: typographic quote \u201c in 'name=\u201cSecure\u201d': retype it as a straight quote (") - it was probably copied from a formatted page\n`,
      );
      assert.equal(r.code, 2);
      assert.deepEqual(snapshot(home.dir), before_);
    } finally {
      fs.rmSync(script, { force: true });
    }
  });

  it("exportpolicy creates no directory", () => {
    assert.equal(fs.existsSync(path.join(process.cwd(), "no-such-dir")), false);
  });

  it("%systemroot%\\pfirewall.log and %windir%\\NAME map to the home's firewall directory", async () => {
    const show = async () => {
      const r = await cli(home.dir, "--json", "netsh", "firewall", "show", "logging");
      assert.equal(r.code, 0, r.err);
      return (JSON.parse(r.out) as { file: string }).file;
    };
    const fwDir = path.join(home.dir, "firewall");
    let r = await cli(
      home.dir,
      "netsh",
      "firewall",
      "set",
      "logging",
      "filelocation=%windir%\\fw.log",
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(await show(), path.join(fwDir, "fw.log"));
    r = await cli(
      home.dir,
      "netsh",
      "firewall",
      "set",
      "logging",
      "filelocation=%SystemRoot%\\pfirewall.log",
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(await show(), path.join(fwDir, "pfirewall.log"));
  });

  it("gpupdate /force and /target:computer are taken (and reach the join check, as --force does)", async () => {
    const windows = await cli(home.dir, "gpupdate", "/FORCE", "/target:computer");
    const posix = await cli(home.dir, "gpupdate", "--force");
    assert.equal(windows.err, "postern: this host is not joined to a domain\n");
    assert.deepEqual([windows.code, windows.err], [posix.code, posix.err]);
  });
});
