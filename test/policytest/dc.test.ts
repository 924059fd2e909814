/**
 * Policy tests against a real `postern dc start` process (issue 16 item 5): the article's
 * domain and matrix set up through its admin socket, then, as an administrator would:
 *   1. `policy test` passes (exit 0);
 *   2. xpclient removed from `trusted`: `policy test` names its cell (exit 1, the firewall
 *      decides, flip: add it back); added back, it passes again;
 *   3. `domain gpo set` with a port 80 opening breaks client2's not-reach: refused (exit 1,
 *      one line for the cell), the GPO's version, firewall settings and the audit log as
 *      they were; with --force it is made and `policy test` reports the cell;
 *   4. netsh on the domain store: assigning a permit-only policy to the GPO breaks
 *      xpclient's reach: refused, the assignment unchanged; `force=yes` makes it.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { cli, tempHome } from "../helpers/cli.js";
import { cliInit, type DcProcess, startDcProcess } from "../dc/helpers.js";
import { type ArticleDomain, articleDomain, must } from "./fixture.js";

const home = tempHome("ptest-dc");
let dc: DcProcess | undefined;
let domain: ArticleDomain;

async function gpoState(): Promise<{ version: number; firewall: unknown; audit: number }> {
  const g = JSON.parse(await must(home.dir, "--json", "domain", "gpo", "show", "Web servers")) as {
    version: number;
    firewall: unknown;
  };
  const audit = JSON.parse(await must(home.dir, "--json", "domain", "audit")) as unknown[];
  return { version: g.version, firewall: g.firewall, audit: audit.length };
}

before(async () => {
  await cliInit(home.dir);
  dc = await startDcProcess(home.dir);
  const scratch = path.join(home.dir, "scratch");
  fs.mkdirSync(scratch);
  domain = await articleDomain(home.dir, scratch);
});

after(async () => {
  await dc?.stop();
  home.cleanup();
});

describe("policy test against a running DC", () => {
  it("the article's matrix holds: exit 0, nothing differs", async () => {
    const r = await cli(home.dir, "policy", "test");
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), "policy test: 0 of 3 cells differ (1 GPO matrix)");
    assert.match(
      await must(home.dir, "domain", "gpo", "show-expect", "Web servers"),
      /CLIENT2\$\s+server1\s+tcp\/80\s+not-reach/,
    );
  });

  it("show-expect --json gives rows that set-expect takes back", async () => {
    const json = await must(home.dir, "--json", "domain", "gpo", "show-expect", "Web servers");
    const rows = JSON.parse(json) as { who: string }[];
    assert.deepEqual(
      rows.map((r) => r.who),
      ["XPCLIENT$", "CLIENT2$", "198.18.0.40"],
    );
    const file = path.join(home.dir, "scratch", "matrix.json");
    fs.writeFileSync(file, json);
    assert.match(
      await must(home.dir, "domain", "gpo", "set-expect", "Web servers", "--file", file),
      /Web servers: 3 expectations stored/,
    );
    fs.writeFileSync(file, "[{");
    const bad = await cli(home.dir, "domain", "gpo", "set-expect", "Web servers", "--file", file);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^postern: .*matrix\.json: not JSON/);
    assert.equal(bad.err.trim().split("\n").length, 1);
  });

  it("a group change: xpclient out of trusted is the one differing cell, until it is back", async () => {
    await must(home.dir, "net", "group", "trusted", "XPCLIENT$", "/delete", "/domain");
    const r = await cli(home.dir, "policy", "test", "Web servers");
    assert.equal(r.code, 1, r.err);
    const lines = r.out.trim().split("\n");
    assert.equal(lines.length, 2, r.out);
    assert.match(
      lines[0] ?? "",
      /^XPCLIENT\$ -> server1 tcp\/80: expected reach, got not-reach \(firewall: .*no exception for TCP 80 from 198\.18\.0\.30\); to flip: add XPCLIENT\$ to BIGFIRM\\trusted, then purge its tickets \[GPO Web servers row 1\]$/,
    );
    assert.equal(lines[1], "policy test: 1 of 3 cells differ (GPO Web servers)");
    const j = await cli(home.dir, "--json", "policy", "test");
    assert.equal(j.code, 1);
    const doc = JSON.parse(j.out) as {
      schema: string;
      differing: { client: string; layer: string }[];
    };
    assert.equal(doc.schema, "postern.policy-test/1");
    assert.deepEqual(
      doc.differing.map((c) => [c.client, c.layer]),
      [["XPCLIENT$", "firewall"]],
    );
    await must(home.dir, "net", "group", "trusted", "XPCLIENT$", "/add", "/domain");
    assert.equal((await cli(home.dir, "policy", "test")).code, 0);
  });

  it("gpo set that opens port 80 breaks client2's cell: refused, nothing changed; --force makes it", async () => {
    const was = await gpoState();
    const r = await cli(
      home.dir,
      "domain",
      "gpo",
      "set",
      "Web servers",
      "--firewall-file",
      domain.firewall.openPort80,
    );
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    const lines = r.err.trim().split("\n");
    assert.match(
      lines[0] ?? "",
      /refused: the change breaks 1 expected access cell .*nothing changed/,
    );
    assert.match(
      lines[1] ?? "",
      /^breaks CLIENT2\$ -> server1 tcp\/80: expected not-reach, got reach \(firewall: .*port opening TCP 80 "web".*\[GPO Web servers row 2\]$/,
    );
    assert.equal(lines.length, 2, r.err);
    assert.deepEqual(await gpoState(), was, "version, settings and audit log as they were");

    const f = await cli(
      home.dir,
      "domain",
      "gpo",
      "set",
      "Web servers",
      "--firewall-file",
      domain.firewall.openPort80,
      "--force",
    );
    assert.equal(f.code, 0, f.err);
    assert.match(f.err, /^forced: breaks CLIENT2\$ -> server1 tcp\/80/m);
    const now = await gpoState();
    assert.equal(now.version, was.version + 1);
    const t = await cli(home.dir, "policy", "test");
    assert.equal(t.code, 1);
    assert.match(t.out, /^CLIENT2\$ -> server1 tcp\/80: expected not-reach, got reach/m);
    // back to the article's settings: that change breaks nothing (it mends the cell)
    await must(
      home.dir,
      "domain",
      "gpo",
      "set",
      "Web servers",
      "--firewall-file",
      domain.firewall.article,
    );
    assert.equal((await cli(home.dir, "policy", "test")).code, 0);
  });

  it("netsh on the domain store: assigning a permit-only policy is refused, force=yes makes it", async () => {
    const netsh = (...args: string[]) => cli(home.dir, "netsh", "ipsec", "static", ...args);
    await must(home.dir, "netsh", "ipsec", "static", "set", "store", "location=domain");
    for (const line of [
      "add filterlist name=all",
      "add filter filterlist=all srcaddr=any dstaddr=me protocol=any mirrored=yes",
      "add filteraction name=pass action=permit",
      "add policy name=Open activatedefaultrule=no",
      "add rule name=r policy=Open filterlist=all filteraction=pass",
    ]) {
      const r = await netsh(...line.split(" "));
      assert.equal(r.code, 0, `${line}: ${r.err}`); // the domain store alone: no cell moves
    }
    const assigned = async () =>
      (
        await must(
          home.dir,
          "netsh",
          "ipsec",
          "static",
          "show",
          "gpoassignedpolicy",
          "name=Web servers",
        )
      ).match(/Assigned Policy\s*:\s*(.*)/)?.[1];
    assert.equal(await assigned(), "NONE");
    const r = await netsh("set", "policy", "name=Open", "assign=yes", "gponame=Web servers");
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /^breaks XPCLIENT\$ -> server1 tcp\/80: expected reach, got not-reach \(ike: XPCLIENT\$ asks for an SA .* SERVER1\$ does not negotiate this flow\)/m,
    );
    assert.equal(await assigned(), "NONE", "the assignment as it was");
    const f = await netsh(
      "set",
      "policy",
      "name=Open",
      "assign=yes",
      "gponame=Web servers",
      "force=yes",
    );
    assert.equal(f.code, 0, f.err);
    assert.equal(await assigned(), "Open");
    assert.equal((await cli(home.dir, "policy", "test")).code, 1);
  });
});
