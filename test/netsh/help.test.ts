/**
 * `help` and `?` at every netsh level (issue 17, item 6), through the real CLI: netsh
 * itself and `ipsec` list their sub-contexts, each context lists its commands, a verb lists
 * its commands' usage, and a command (words shortened as netsh allows) prints its usage.
 * Help runs nothing: the home stays empty.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { cli, tempHome } from "../helpers/cli.js";

describe("netsh help and ? at every level", () => {
  const home = tempHome("nhelp");
  after(() => home.cleanup());

  const cases: [string[], RegExp, RegExp?][] = [
    [["?"], /sub-contexts are available:\n ipsec firewall\n/],
    [["help"], /^Usage: postern netsh /],
    [["ipsec", "?"], /sub-contexts are available:\n static dynamic\n/],
    [["ipsec", "help"], /Commands in this context:/],
    [["ipsec", "static", "?"], /add policy\|filterlist\|filter\|filteraction\|rule/],
    [["ipsec", "static", "add", "filter", "?"], /^add filter \[filterlist=\]<string> \[srcaddr=\]/],
    [["ipsec", "dynamic", "help"], /^The following commands are available:/],
    [["ipsec", "dynamic", "show", "?"], /^Usage: show mmsas/, /Usage: set config/],
    [["ipsec", "dynamic", "delete", "qmsas", "/?"], /^Usage: delete qmsas \[all\]/],
    [
      ["ipsec", "dynamic", "help", "set", "config"],
      /^Usage: set config \[property=\]ipsecdiagnostics/,
    ],
    [["firewall", "?"], /^The following commands are available:\n\nCommands in this context:\n\?/],
    [["firewall", "help"], /reset\s+- Resets firewall configuration to default\./],
    [["firewall", "set", "?"], /^Usage: set opmode/, /show state/],
    [["firewall", "sh", "serv", "?"], /^Usage: show service \[\[profile=\]CURRENT/],
    [["firewall", "help", "add", "allowedprogram"], /^Usage: add allowedprogram \[program=\]PATH/],
    [["firewall", "reset", "?"], /^Usage: reset\n/],
  ];
  for (const [args, want, not] of cases) {
    it(`netsh ${args.join(" ")}`, async () => {
      const r = await cli(home.dir, "netsh", ...args);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, want);
      if (not) assert.doesNotMatch(r.out, not);
    });
  }

  it("in a script, help after pushd is the pushed context's", async () => {
    const script = path.join(home.dir, "..", `${path.basename(home.dir)}.netsh`);
    fs.writeFileSync(
      script,
      "pushd firewall\nset opmode ?\npopd\npushd ipsec dynamic\nhelp show stats\n",
    );
    try {
      const r = await cli(home.dir, "netsh", "-f", script);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^Usage: set opmode \[mode=\]ENABLE\|DISABLE/);
      assert.match(r.out, /\nUsage: show stats \[\[type=\]all\|ike\|ipsec\]/);
    } finally {
      fs.rmSync(script, { force: true });
    }
  });

  it("help for a command that does not exist: one line, exit 2; help stored nothing", async () => {
    const r = await cli(home.dir, "netsh", "firewall", "help", "set", "bogus");
    assert.equal(r.code, 2);
    assert.equal(r.err, "postern: firewall help: no command 'set bogus' (try 'help')\n");
    const d = await cli(home.dir, "netsh", "ipsec", "dynamic", "help", "add");
    assert.equal(d.code, 2);
    assert.match(d.err, /^postern: ipsec dynamic help: no command 'add'/);
    assert.deepEqual(fs.readdirSync(home.dir), []);
  });
});
