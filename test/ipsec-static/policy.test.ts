import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Policy, PolicyStore } from "../../src/policy/model.js";
import { tempHome } from "../helpers/cli.js";
import { ips, ipsJson, refused, run } from "./helpers.js";

async function store(home: string): Promise<PolicyStore> {
  return (await ipsJson(home, "show", "all")) as PolicyStore;
}

async function policy(home: string, name: string): Promise<Policy> {
  const d = (await ipsJson(home, "show", "policy", `name=${name}`)) as { policies: Policy[] };
  return d.policies[0] as Policy;
}

describe("netsh ipsec static: policies", () => {
  const t = tempHome("pis-pol");
  after(t.cleanup);

  it("add policy gives 2003's defaults and modern main-mode methods", async () => {
    await run(t.dir, ["add", "policy", "name=P1"]);
    const p = await policy(t.dir, "P1");
    assert.equal(p.mmPfs, false);
    assert.equal(p.qmPerMm, 0);
    assert.equal(p.mmLifetimeMin, 480);
    assert.equal(p.activateDefaultRule, true);
    assert.equal(p.pollingIntervalMin, 180);
    assert.equal(p.assigned, false);
    assert.equal(p.description, "");
    assert.match(p.guid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(p.mmSecMethods[0], { conf: "aes256gcm", hash: "sha384", dhGroup: 31 });
    assert.deepEqual(p.defaultRule.auth, [{ kind: "kerberos" }]);
    assert.equal(p.rules.length, 0);
  });

  it("add policy takes every tag, positionally too", async () => {
    await run(t.dir, [
      "add",
      "policy",
      "P2",
      "second policy",
      "no",
      "5",
      "600",
      "no",
      "30",
      "no",
      "AES128-SHA256-3",
    ]);
    const p = await policy(t.dir, "p2");
    assert.equal(p.description, "second policy");
    assert.equal(p.qmPerMm, 5);
    assert.equal(p.mmLifetimeMin, 600);
    assert.equal(p.activateDefaultRule, false);
    assert.equal(p.defaultRule.active, false);
    assert.equal(p.pollingIntervalMin, 30);
    assert.deepEqual(p.mmSecMethods, [{ conf: "aes128", hash: "sha256", dhGroup: 14 }]);
  });

  it("mmpfs=yes sets qmpermm to 1 (2003 remark)", async () => {
    await run(t.dir, ["set", "policy", "name=P2", "mmpfs=yes"]);
    const p = await policy(t.dir, "P2");
    assert.equal(p.mmPfs, true);
    assert.equal(p.qmPerMm, 1);
  });

  it("set policy by name or guid changes each field; newname renames", async () => {
    const p1 = await policy(t.dir, "P1");
    await run(t.dir, [
      "set",
      "policy",
      `guid={${p1.guid.toUpperCase()}}`,
      "newname=First",
      "description=d",
      "qmpermm=3",
      "mmlifetime=60",
      "activatedefaultrule=no",
      "pollinginterval=5",
      "mmsecmethods=AES256-SHA384-19 AES128GCM-SHA256-14",
    ]);
    const p = await policy(t.dir, "First");
    assert.equal(p.guid, p1.guid);
    assert.equal(p.description, "d");
    assert.equal(p.qmPerMm, 3);
    assert.equal(p.mmLifetimeMin, 60);
    assert.equal(p.activateDefaultRule, false);
    assert.equal(p.pollingIntervalMin, 5);
    assert.equal(p.mmSecMethods.length, 2);
  });

  it("assign=yes leaves exactly one assigned policy", async () => {
    await run(t.dir, ["set", "policy", "name=First", "assign=yes"]);
    await run(t.dir, ["set", "policy", "name=P2", "assign=y"]);
    const s = await store(t.dir);
    assert.deepEqual(
      s.policies.filter((p) => p.assigned).map((p) => p.name),
      ["P2"],
    );
    await run(t.dir, ["set", "policy", "name=P2", "assign=no"]);
    assert.equal((await store(t.dir)).policies.filter((p) => p.assigned).length, 0);
    await run(t.dir, ["add", "policy", "name=P3", "assign=yes"]);
    assert.equal((await policy(t.dir, "P3")).assigned, true);
  });

  it("3DES/SHA1/DH2 main mode is accepted with a warning on stderr", async () => {
    const r = await ips(t.dir, "set", "policy", "name=P3", "mmsec=3DES-SHA1-2");
    assert.equal(r.code, 0);
    assert.match(r.err, /warning: .*3DES is legacy/);
    assert.match(r.err, /warning: .*SHA1 is legacy/);
    assert.match(r.err, /warning: .*DH group 2/);
  });

  it("refuses duplicates, unknown policies, gponame, both name and guid", async () => {
    await refused(t.dir, ["add", "policy", "name=first"], /policy 'first' already exists/, 1);
    await refused(t.dir, ["set", "policy", "name=P2", "newname=FIRST"], /already exists/, 1);
    await refused(
      t.dir,
      ["set", "policy", "name=nope", "assign=yes"],
      /policy 'nope' does not exist/,
      1,
    );
    await refused(t.dir, ["set", "policy", "name=P2", "gponame=x"], /domain store only/, 2);
    await refused(
      t.dir,
      ["set", "policy", "name=P2", "guid=00000000-0000-4000-8000-000000000000"],
      /exactly one of name= or guid=/,
      2,
    );
    await refused(t.dir, ["set", "policy", "guid=xyz"], /not a GUID/, 2);
    await refused(t.dir, ["set", "policy", "name=P2", "mmlifetime=0"], /out of range/, 2);
    await refused(t.dir, ["set", "policy", "name=P2", "qmpermm=-1"], /expected a number/, 2);
    await refused(t.dir, ["add", "policy", "name="], /must not be empty/, 2);
  });

  it("delete policy by name, by guid, and all", async () => {
    const p3 = await policy(t.dir, "P3");
    await run(t.dir, ["delete", "policy", `guid=${p3.guid}`]);
    await run(t.dir, ["delete", "policy", "First"]);
    assert.deepEqual(
      (await store(t.dir)).policies.map((p) => p.name),
      ["P2"],
    );
    await run(t.dir, ["delete", "policy", "all"]);
    assert.equal((await store(t.dir)).policies.length, 0);
    await refused(t.dir, ["delete", "policy", "name=P2"], /does not exist/, 1);
  });
});
