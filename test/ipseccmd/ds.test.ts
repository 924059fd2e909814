/**
 * `ipseccmd -w DS`: the domain's directory store, the one `netsh ipsec static set store
 * location=domain` edits, on the DC (here with the DC not running: the database directly).
 * The article's server policy made with ipseccmd lands there (not in the local store);
 * -x is ignored with a warning (a GPO assigns a directory policy); -w DS:OTHER is refused
 * in one line, the directory unchanged.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, describe, it } from "node:test";
import type { PolicyStore } from "../../src/policy/model.js";
import { localStorePath } from "../../src/policy/store.js";
import { cliInit } from "../dc/helpers.js";
import { ok, okJson, POLICY } from "../domain-store/helpers.js";
import { cli, tempHome } from "../helpers/cli.js";

const showDomain = async (home: string) => {
  await ok(home, "netsh", "ipsec", "static", "set", "store", "location=domain");
  return (await okJson(home, "netsh", "ipsec", "static", "show", "all")) as PolicyStore;
};

describe("ipseccmd -w DS: the DC's directory store", () => {
  const dc = tempHome("icmd-ds");
  before(() => cliInit(dc.dir));
  after(dc.cleanup);

  it("the article's policy goes into the directory; -x is ignored with a warning", async () => {
    const r = await cli(
      dc.dir,
      "ipseccmd",
      "-w",
      "DS:bigfirm.com",
      "-p",
      POLICY,
      "-r",
      "Secure web",
      "-f",
      "*+0:80:TCP",
      "-n",
      "ESP[NONE,SHA]",
      "-a",
      "K",
      "-x",
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /-x\/-y: in the directory a policy applies when a Group Policy object/);
    assert.equal(fs.existsSync(localStorePath(dc.dir)), false, "not the local store");
    const s = await showDomain(dc.dir);
    assert.deepEqual(
      s.policies.map((p) => [p.name, p.assigned, p.rules.map((x) => x.name)]),
      [[POLICY, false, ["Secure web"]]],
    );
  });

  it("-w DS:another domain: one line, the directory unchanged", async () => {
    const before = await showDomain(dc.dir);
    const r = await cli(dc.dir, "ipseccmd", "-w", "DS:elsewhere.org", "-p", "x", "-f", "0+*");
    assert.equal(r.code, 1);
    assert.equal(
      r.err.trim(),
      "postern: -w DS:elsewhere.org: this DC serves bigfirm.com (BIGFIRM)",
    );
    assert.deepEqual(await showDomain(dc.dir), before);
  });
});
