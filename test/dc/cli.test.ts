import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { BIN, cli, needsRoot, runBin, tempHome } from "../helpers/cli.js";
import { cliInit, PASSWORD } from "./helpers.js";

async function dump(home: string): Promise<{ state: string; audit: { action: string }[] }> {
  const r = await cli(home, "--json", "domain", "computer", "list");
  const g = await cli(home, "--json", "domain", "group", "list");
  const a = await cli(home, "--json", "domain", "audit");
  return { state: r.out + g.out, audit: JSON.parse(a.out) };
}

describe("postern dc init and domain commands, DC not running (direct database path)", () => {
  const home = tempHome("pdc-cli");
  before(async () => {
    await cliInit(home.dir);
  });
  after(() => home.cleanup());

  it("dc init creates <home>/dc/ (0700) with the directory (0600); a second init is refused", async () => {
    assert.equal(fs.statSync(path.join(home.dir, "dc")).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(home.dir, "dc", "directory.db")).mode & 0o777, 0o600);
    const r = await cli(home.dir, "dc", "init", "--domain", "other.com");
    assert.equal(r.code, 1);
    assert.match(r.err, /already holds a domain/);
  });

  it("dc init reads the password from stdin when it is not a terminal, and checks it", () => {
    const h = tempHome("pdc-stdin");
    try {
      const weak = runBin(["--home", h.dir, "dc", "init", "--domain", "bigfirm.com"], {
        input: "short\n",
      });
      assert.equal(weak.code, 1);
      assert.equal(
        weak.err.trim(),
        "postern: the administrator password needs at least 8 characters",
      );
      assert.equal(fs.existsSync(path.join(h.dir, "dc", "directory.db")), false);
      const ok = runBin(
        [
          "--home",
          h.dir,
          "--json",
          "dc",
          "init",
          "--domain",
          "bigfirm.com",
          "--netbios",
          "BIGFIRM",
        ],
        { input: `${PASSWORD}\n` },
      );
      assert.equal(ok.code, 0, ok.err);
      assert.equal(JSON.parse(ok.out).netbios, "BIGFIRM");
    } finally {
      h.cleanup();
    }
  });

  it("computer add --join-token prints the account and a one-time token; --json everywhere", async () => {
    const r = await cli(
      home.dir,
      "--json",
      "domain",
      "computer",
      "add",
      "xpclient",
      "--join-token",
    );
    assert.equal(r.code, 0, r.err);
    const c = JSON.parse(r.out);
    assert.equal(c.sam, "XPCLIENT$");
    assert.match(c.token, /^pjt1\./);
    const text = await cli(home.dir, "domain", "computer", "show", "xpclient");
    assert.match(text.out, /XPCLIENT\$ {2}enabled/);
    assert.match(text.out, /host\/xpclient\.bigfirm\.com/);
  });

  it("net group habits: create, add a member with /add /domain, list members", async () => {
    assert.equal((await cli(home.dir, "net", "group", "trusted", "/add", "/domain")).code, 0);
    const add = await cli(home.dir, "net", "group", "trusted", "xpclient$", "/add", "/domain");
    assert.equal(add.out.trim(), "The command completed successfully.");
    const show = await cli(home.dir, "net", "group", "trusted");
    assert.match(show.out, /Group name {5}trusted/);
    assert.match(show.out, /^XPCLIENT\$$/m);
    const members = await cli(home.dir, "--json", "domain", "group", "members", "trusted");
    assert.deepEqual(
      JSON.parse(members.out).map((m: { name: string }) => m.name),
      ["XPCLIENT$"],
    );
  });

  it("effective-groups shows nested groups; the audit names who did what", async () => {
    await cli(home.dir, "domain", "group", "add", "servers", "--scope", "universal");
    await cli(home.dir, "domain", "group", "add-member", "servers", "trusted");
    await cli(home.dir, "domain", "group", "add", "uni2", "--scope", "universal");
    const r = await cli(home.dir, "--json", "domain", "effective-groups", "xpclient$");
    assert.deepEqual(
      JSON.parse(r.out).map((g: { name: string }) => g.name),
      ["Domain Computers", "trusted", "servers"],
    );
    const audit = JSON.parse((await cli(home.dir, "--json", "domain", "audit")).out) as {
      action: string;
      actor: string;
    }[];
    assert.deepEqual(
      audit.slice(-3).map((a) => a.action),
      ["group.add", "group.add-member", "group.add"],
    );
    assert.match(audit.at(-1)?.actor ?? "", /\(direct\)$/);
  });

  it("bad input: one line, exit 1 (2 for usage), nothing changed", async () => {
    const before = await dump(home.dir);
    const cases: [string[], number, RegExp][] = [
      [["domain", "computer", "add", "xpclient"], 1, /already exists/],
      [["domain", "computer", "add", "bad_name!"], 1, /computer name 'bad_name!'/],
      [
        ["domain", "group", "add-member", "trusted", "nosuch$"],
        1,
        /no account or group named 'nosuch\$'/,
      ],
      [
        ["domain", "group", "add-member", "trusted", "uni2"],
        1,
        /global group \('trusted'\) cannot contain a universal group \('uni2'\)/,
      ],
      [["domain", "group", "add", "inner"], 0, /added/],
      [["domain", "group", "delete", "Domain Admins"], 1, /built-in group/],
      [["net", "group", "trusted", "xpclient$", "/frob"], 2, /unknown switch/],
      [
        ["domain", "computer", "frob"],
        2,
        /expected add, delete, list, show, reset-key, delegation or set-enctypes, got frob/,
      ],
    ];
    for (const [args, code, re] of cases) {
      const r = await cli(home.dir, ...args);
      assert.equal(r.code, code, args.join(" "));
      if (code !== 0) assert.equal(r.err.trim().split("\n").length, 1);
      assert.match(code === 0 ? r.out : r.err, re);
      if (args[3] === "inner") {
        await cli(home.dir, "domain", "group", "add-member", "inner", "trusted");
        const cyc = await cli(home.dir, "domain", "group", "add-member", "trusted", "inner");
        assert.equal(cyc.code, 1);
        assert.match(cyc.err, /nesting cycle/);
        await cli(home.dir, "domain", "group", "remove-member", "inner", "trusted");
        await cli(home.dir, "domain", "group", "delete", "inner");
      }
    }
    const afterDump = await dump(home.dir);
    assert.equal(afterDump.state, before.state);
    assert.deepEqual(
      afterDump.audit.slice(before.audit.length).map((a) => a.action),
      ["group.add", "group.add-member", "group.remove-member", "group.delete"],
      "only the accepted changes were audited",
    );
  });

  it("a refused change leaves the database byte-for-byte equal in content (full dump)", async () => {
    const { openDirectory, dumpDirectory } = await import("../../src/dc/directory.js");
    const file = path.join(home.dir, "dc", "directory.db");
    const snap = () => {
      const d = openDirectory(file);
      try {
        return JSON.stringify(dumpDirectory(d));
      } finally {
        d.close();
      }
    };
    const before = snap();
    for (const args of [
      ["domain", "group", "add-member", "trusted", "trusted"],
      ["domain", "group", "add", "Trusted"],
      ["domain", "gpo", "link", "nosuch", "domain"],
      ["domain", "computer", "delete", "dc1"],
    ]) {
      const r = await cli(home.dir, ...args);
      assert.equal(r.code, 1, args.join(" "));
    }
    assert.equal(snap(), before);
  });
});

describe("the admin path is for root only (drops to nobody)", needsRoot(), () => {
  const home = tempHome("pdc-root");
  before(async () => {
    await cliInit(home.dir);
    fs.chmodSync(home.dir, 0o755);
  });
  after(() => home.cleanup());

  it("a non-root user gets one line naming the problem, exit 1", () => {
    const r = spawnSync(
      "setpriv",
      [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        process.execPath,
        BIN,
        "--home",
        home.dir,
        "domain",
        "computer",
        "list",
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.equal(
      r.stderr.trim(),
      `postern: ${path.join(home.dir, "dc")} is for root only: run this as root`,
    );
  });
});
