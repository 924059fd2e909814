/**
 * The domain store with the DC NOT running: `netsh ipsec static` opens the directory
 * directly (the audit actor says "(direct)"). The article's server script runs unchanged
 * against the domain store; `set policy assign=yes gponame=` assigns; bad input changes
 * nothing; export from the domain store imports into a local store with identical output.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { PolicyStore } from "../../src/policy/model.js";
import { localStorePath } from "../../src/policy/store.js";
import { cliInit } from "../dc/helpers.js";
import { cli, tempHome } from "../helpers/cli.js";
import { ips, ok, okJson, POLICY, refusedOnDc, SERVER_SCRIPT } from "./helpers.js";

describe("netsh ipsec static against the domain store, DC not running (direct database path)", () => {
  const dc = tempHome("pds-direct");
  const other = tempHome("pds-local");
  before(async () => {
    await cliInit(dc.dir);
    await ok(dc.dir, "domain", "gpo", "create", "Web servers");
    await ok(dc.dir, "net", "group", "trusted", "/add", "/domain");
    await ok(dc.dir, "domain", "gpo", "link", "Web servers", "trusted");
  });
  after(() => {
    dc.cleanup();
    other.cleanup();
  });

  it("set store location=domain on the DC: show store names the domain; a wrong domain= is refused", async () => {
    await ok(dc.dir, "netsh", "ipsec", "static", "set", "store", "location=domain");
    assert.match((await ips(dc.dir, "show", "store")).out, /Domain Store \(bigfirm\.com\)/);
    const r = await ips(dc.dir, "set", "store", "location=domain", "domain=elsewhere.org");
    assert.equal(r.code, 1);
    assert.equal(
      r.err.trim(),
      "postern: set store: this DC serves bigfirm.com (BIGFIRM), not 'elsewhere.org'",
    );
    await ok(dc.dir, "netsh", "ipsec", "static", "set", "store", "loc=domain", "domain=BIGFIRM");
    assert.deepEqual(await okJson(dc.dir, "netsh", "ipsec", "static", "show", "store"), {
      location: "domain",
      domain: "bigfirm.com",
    });
  });

  it("the article's server script runs unchanged against the domain store (not the local one)", async () => {
    const r = await cli(dc.dir, "netsh", "-f", SERVER_SCRIPT);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      /in the domain store a policy takes effect when assigned to a Group Policy object/,
    );
    assert.equal(fs.existsSync(localStorePath(dc.dir)), false, "the local store was written");
    const s = (await okJson(dc.dir, "netsh", "ipsec", "static", "show", "all")) as PolicyStore;
    assert.deepEqual(
      s.policies.map((p) => [p.name, p.assigned, p.rules.length]),
      [[POLICY, false, 1]],
    );
    assert.deepEqual(
      s.filterLists.map((f) => [f.name, f.filters.length]),
      [["Secure web (server)", 1]],
    );
  });

  it("set policy assign=yes gponame= assigns the policy to the GPO; show gpoassignedpolicy says so", async () => {
    await ok(
      dc.dir,
      "netsh",
      "ipsec",
      "static",
      "set",
      "policy",
      `name=${POLICY}`,
      "assign=yes",
      "gponame=Web servers",
    );
    const g = (await okJson(dc.dir, "domain", "gpo", "show", "Web servers")) as {
      assigned: string;
      version: number;
    };
    assert.equal(g.assigned, POLICY);
    const shown = await ips(dc.dir, "show", "gpoassignedpolicy", "name=Web servers");
    assert.match(shown.out, /^GPO Name\s+: Web servers$/m);
    assert.match(
      shown.out,
      new RegExp(`^Assigned Policy\\s+: ${POLICY.replace(/[()]/g, "\\$&")}$`, "m"),
    );
    const all = (await okJson(dc.dir, "netsh", "ipsec", "static", "show", "gpoassignedpolicy")) as {
      assignments: { gpo: string; policy: { name: string } | null }[];
    };
    assert.deepEqual(
      all.assignments.map((a) => [a.gpo, a.policy?.name]),
      [["Web servers", POLICY]],
    );
  });

  it("the audit log shows every change, by the direct path", async () => {
    const audit = (await okJson(dc.dir, "domain", "audit")) as {
      actor: string;
      action: string;
      detail: string;
    }[];
    const ipsec = audit.filter((a) => a.action === "ipsec.set-domain");
    assert.equal(ipsec.length, 7, "5 adds of the script + its set policy + the assignment");
    assert.ok(ipsec.every((a) => a.actor.endsWith("(direct)")));
    assert.match(ipsec.at(-1)?.detail ?? "", /^Web servers <- [0-9a-f-]{36}$/);
  });

  it("bad input: one line, non-zero exit, domain store, GPOs and audit unchanged", async () => {
    await refusedOnDc(
      dc.dir,
      ["add", "filter", "filterlist=Secure web (server)", "srcaddr=999.1.1.1", "dstaddr=me"],
      /999\.1\.1\.1/,
      2,
    );
    await refusedOnDc(
      dc.dir,
      ["set", "policy", "name=Nope", "assign=yes", "gponame=Web servers"],
      /Nope/,
    );
    await refusedOnDc(
      dc.dir,
      ["set", "policy", `name=${POLICY}`, "assign=yes", "gponame=No such GPO"],
      /no policy object named 'No such GPO'/,
    );
    await refusedOnDc(
      dc.dir,
      ["set", "policy", `name=${POLICY}`, "gponame=Web servers"],
      /gponame= needs assign=yes\|no/,
      2,
    );
    await refusedOnDc(
      dc.dir,
      ["delete", "policy", `name=${POLICY}`],
      /is assigned to policy object 'Web servers': unassign it first/,
    );
    await refusedOnDc(dc.dir, ["delete", "all"], /is assigned to policy object 'Web servers'/);
    await refusedOnDc(
      dc.dir,
      ["add", "rule", "name=R", "policy=Nope", "filterlist=x", "filteraction=y"],
      /Nope/,
    );
  });

  it("exportpolicy from the domain store, importpolicy into a local store: identical show output", async () => {
    const file = path.join(other.dir, "domain.ipsec.json");
    await ok(dc.dir, "netsh", "ipsec", "static", "exportpolicy", `file=${file}`);
    await ok(other.dir, "netsh", "ipsec", "static", "importpolicy", `file=${file}`);
    const a = await ips(dc.dir, "show", "all", "level=verbose");
    const b = await ips(other.dir, "show", "all", "level=verbose");
    assert.equal(a.code, 0);
    assert.match(a.out, /^Store\s+: Domain Store$/m);
    assert.equal(b.out, a.out.replaceAll("Domain Store", "Local Store"));
  });

  it("assign=no gponame= unassigns; then the policy may be deleted; location=local is the local store again", async () => {
    await ok(
      dc.dir,
      "netsh",
      "ipsec",
      "static",
      "set",
      "policy",
      `name=${POLICY}`,
      "assign=no",
      "gponame=Web servers",
    );
    assert.equal(
      ((await okJson(dc.dir, "domain", "gpo", "show", "Web servers")) as { assigned: null })
        .assigned,
      null,
    );
    await ok(dc.dir, "netsh", "ipsec", "static", "delete", "policy", `name=${POLICY}`);
    await ok(dc.dir, "netsh", "ipsec", "static", "set", "store", "location=local");
    const local = (await okJson(dc.dir, "netsh", "ipsec", "static", "show", "all")) as PolicyStore;
    assert.equal(local.policies.length, 0);
    const gponame = await ips(
      dc.dir,
      "set",
      "policy",
      "name=X",
      "assign=yes",
      "gponame=Web servers",
    );
    assert.equal(gponame.code, 2);
  });
});
