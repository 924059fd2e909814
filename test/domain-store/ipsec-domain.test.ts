/**
 * The DC side of the domain store (src/dc/ipsec-domain.ts): revisions refuse a stale writer,
 * assignments are checked, and the effective policy's version follows edits of the assigned
 * domain policy.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { addComputer } from "../../src/dc/computers.js";
import { type Directory, dumpDirectory, openDirectory } from "../../src/dc/directory.js";
import { dbPath } from "../../src/dc/paths.js";
import { SCHEMA_VERSION } from "../../src/dc/schema.js";
import { createGpo, effectivePolicy, linkGpo, showGpo } from "../../src/dc/gpo.js";
import { loadDomainIpsec, saveDomainIpsec } from "../../src/dc/ipsec-domain.js";
import { runOp } from "../../src/dc/ops.js";
import type { CliEnv } from "../../src/cmdline/env.js";
import { domainBackend } from "../../src/netsh/ipsec-static/backend.js";
import { emptyStore, type PolicyStore } from "../../src/policy/model.js";
import { newDirectory } from "../dc/helpers.js";
import { ips, ok } from "./helpers.js";
import { tempHome } from "../helpers/cli.js";

function refused(dir: Directory, fn: () => unknown, code: string, pattern: RegExp): void {
  const before = JSON.stringify(dumpDirectory(dir));
  const auditBefore = dir.stmt("SELECT COUNT(*) AS n FROM audit").get();
  assert.throws(fn, (e: Error & { code?: string }) => e.code === code && pattern.test(e.message));
  assert.equal(JSON.stringify(dumpDirectory(dir)), before);
  assert.deepEqual(dir.stmt("SELECT COUNT(*) AS n FROM audit").get(), auditBefore);
}

describe("the domain IPsec container on the DC (revisions, assignments, versions)", () => {
  const home = tempHome("pds-unit");
  const src = tempHome("pds-src");
  let dir: Directory;
  let policy: PolicyStore;
  before(async () => {
    // a real store, written by the netsh commands into a local home
    for (const l of [
      ["add", "filterlist", "web"],
      [
        "add",
        "filter",
        "filterlist=web",
        "srcaddr=any",
        "dstaddr=me",
        "protocol=tcp",
        "dstport=80",
      ],
      ["add", "filteraction", "sign", "action=negotiate"],
      ["add", "policy", "P"],
      ["add", "rule", "name=r", "policy=P", "filterlist=web", "filteraction=sign", "kerberos=yes"],
    ]) {
      assert.equal((await ips(src.dir, ...l)).code, 0);
    }
    policy = JSON.parse(
      (await ok(src.dir, "--json", "netsh", "ipsec", "static", "show", "all")).out,
    );
    dir = newDirectory(home.dir);
    addComputer(dir, "t", "server1");
    createGpo(dir, "t", "G");
    linkGpo(dir, "t", "G", "domain");
  });
  after(() => {
    dir?.close();
    home.cleanup();
    src.cleanup();
  });

  it("a save bumps the revision; a writer holding a stale revision is refused, nothing written", () => {
    assert.equal(loadDomainIpsec(dir).revision, 0);
    assert.equal(saveDomainIpsec(dir, "t", policy, { revision: 0 }).revision, 1);
    refused(
      dir,
      () => saveDomainIpsec(dir, "t", emptyStore(), { revision: 0 }),
      "dc.conflict",
      /changed since it was read \(revision 0, now 1\)/,
    );
  });

  it("an invalid store or assignment is refused with one line, nothing written", () => {
    refused(
      dir,
      () => saveDomainIpsec(dir, "t", { version: 2 }),
      "dc.policy",
      /domain IPsec store/,
    );
    refused(
      dir,
      () => saveDomainIpsec(dir, "t", policy, { assign: [{ gpo: "G", policy: "0000" }] }),
      "dc.not-found",
      /no domain IPsec policy with GUID 0000/,
    );
    refused(
      dir,
      () => saveDomainIpsec(dir, "t", policy, { assign: [{ gpo: "H", policy: null }] }),
      "dc.not-found",
      /no policy object named 'H'/,
    );
  });

  it("ipsec.set through the op table checks the shape of assign", async () => {
    await assert.rejects(
      runOp(dir, "t", "ipsec.set", { store: policy, assign: [{ gpo: 1 }] }),
      /assign: expected/,
    );
  });

  it("assigning gives members the policy; editing it changes the effective version", () => {
    const guid = (policy.policies[0] as { guid: string }).guid;
    const v0 = effectivePolicy(dir, "server1").version;
    saveDomainIpsec(dir, "t", policy, { assign: [{ gpo: "G", policy: guid }] });
    const e1 = effectivePolicy(dir, "server1");
    assert.equal(showGpo(dir, "G").assigned, "P");
    assert.deepEqual(
      [e1.ipsecFrom, e1.ipsec?.policies.map((p) => [p.name, p.assigned])],
      ["G", [["P", true]]],
    );
    assert.notEqual(e1.version, v0);
    const edited = structuredClone(policy);
    (edited.policies[0] as { description: string }).description = "changed";
    saveDomainIpsec(dir, "t", edited);
    const e2 = effectivePolicy(dir, "server1");
    assert.notEqual(e2.version, e1.version);
    assert.equal(e2.ipsec?.policies[0]?.description, "changed");
    refused(
      dir,
      () => saveDomainIpsec(dir, "t", emptyStore()),
      "dc.policy",
      /'P' is assigned to policy object 'G'/,
    );
  });

  it("a schema 1 database is migrated on open: empty domain store, GPOs kept without assignment", () => {
    const h = tempHome("pds-mig");
    try {
      const d = newDirectory(h.dir);
      createGpo(d, "t", "Old");
      d.db.exec(
        "DROP TABLE ipsec_domain; ALTER TABLE gpos DROP COLUMN ipsec_policy; DROP TABLE delegation; ALTER TABLE objects DROP COLUMN supported_enctypes; ALTER TABLE gpos DROP COLUMN expect;",
      );
      d.db.pragma("user_version = 1");
      d.close();
      const again = openDirectory(dbPath(h.dir));
      try {
        assert.equal(Number(again.db.pragma("user_version", { simple: true })), SCHEMA_VERSION);
        assert.deepEqual(loadDomainIpsec(again), { store: emptyStore(), revision: 0 });
        assert.equal(showGpo(again, "Old").assigned, null);
      } finally {
        again.close();
      }
    } finally {
      h.cleanup();
    }
  });

  it("a save that lost the race (stale revision) is redone on the fresh store: both changes kept", async () => {
    const h = tempHome("pds-race");
    try {
      newDirectory(h.dir).close();
      const env: CliEnv = {
        home: h.dir,
        json: false,
        out: () => {},
        err: () => {},
        vars: {},
        isRoot: true,
        cwd: h.dir,
      };
      let calls = 0;
      await domainBackend(env).update((store) => {
        calls++;
        if (calls === 1) {
          // another administrator saves between our read and our write
          const other = openDirectory(dbPath(h.dir));
          const cur = loadDomainIpsec(other);
          const s = structuredClone(cur.store);
          s.filterLists.push({
            ...(policy.filterLists[0] as PolicyStore["filterLists"][0]),
            name: "theirs",
          });
          saveDomainIpsec(other, "other", s, { revision: cur.revision });
          other.close();
        }
        store.filterActions.push({
          ...(policy.filterActions[0] as PolicyStore["filterActions"][0]),
          name: "ours",
        });
      });
      assert.equal(calls, 2);
      const d = openDirectory(dbPath(h.dir));
      try {
        const { store, revision } = loadDomainIpsec(d);
        assert.deepEqual(
          [store.filterLists.map((f) => f.name), store.filterActions.map((f) => f.name), revision],
          [["theirs"], ["ours"], 2],
        );
      } finally {
        d.close();
      }
    } finally {
      h.cleanup();
    }
  });
});
