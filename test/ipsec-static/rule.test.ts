import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Policy } from "../../src/policy/model.js";
import { tempHome } from "../helpers/cli.js";
import { ipsJson, refused, run, SERVER_SETUP } from "./helpers.js";

async function policy(home: string, name: string): Promise<Policy> {
  const d = (await ipsJson(home, "show", "policy", `name=${name}`)) as { policies: Policy[] };
  return d.policies[0] as Policy;
}

describe("netsh ipsec static: rules and the default rule", () => {
  const t = tempHome("pis-rule");
  before(async () => {
    await run(
      t.dir,
      ...SERVER_SETUP,
      ["add", "filterlist", "Other"],
      ["add", "filteraction", "Block", "action=block"],
    );
  });
  after(t.cleanup);

  it("add rule defaults: transport, conntype all, active, kerberos", async () => {
    const r = (await policy(t.dir, "Secure web")).rules[0];
    assert.equal(r?.id, 1);
    assert.equal(r?.tunnel, null);
    assert.equal(r?.connType, "all");
    assert.equal(r?.active, true);
    assert.deepEqual(r?.auth, [{ kind: "kerberos" }]);
  });

  it("keeps authentication methods in the order written (rootca repeatable)", async () => {
    await run(t.dir, [
      "add",
      "rule",
      "name=R2",
      "policy=Secure web",
      "filterlist=Other",
      "filteraction=Block",
      "tunnel=198.18.0.1",
      "conntype=lan",
      "activate=no",
      "description=second",
      "rootca=C=US, O=Big Firm, CN=\\'Root CA\\' certmap:yes excludecaname:no",
      "psk=open sesame",
      "kerberos=yes",
      "rootca=CN=Other certmap:no",
    ]);
    const r = (await policy(t.dir, "Secure web")).rules[1];
    assert.equal(r?.id, 2);
    assert.equal(r?.tunnel, "198.18.0.1");
    assert.equal(r?.connType, "lan");
    assert.equal(r?.active, false);
    assert.equal(r?.description, "second");
    assert.deepEqual(r?.auth, [
      { kind: "rootca", ca: 'C=US, O=Big Firm, CN="Root CA"', certmap: true, excludeCaName: false },
      { kind: "psk", key: "open sesame" },
      { kind: "kerberos" },
      { kind: "rootca", ca: "CN=Other", certmap: false, excludeCaName: false },
    ]);
  });

  it("set rule by name or id: newname, lists, tunnel, conntype, activate; auth replaced", async () => {
    await run(t.dir, [
      "set",
      "rule",
      "id=2",
      "policy=Secure web",
      "newname=Two",
      "filterlist=Web",
      "filteraction=sign",
      "tunnel=none",
      "conntype=dialup",
      "activate=yes",
      "psk=k2",
    ]);
    const r = (await policy(t.dir, "Secure web")).rules[1];
    assert.equal(r?.name, "Two");
    assert.equal(r?.tunnel, null);
    assert.equal(r?.connType, "dialup");
    assert.equal(r?.active, true);
    assert.deepEqual(r?.auth, [{ kind: "psk", key: "k2" }]);
    await run(t.dir, [
      "set",
      "rule",
      "name=Two",
      "policy=Secure web",
      "tunnel=gw.bigfirm.com",
      "description=d2",
    ]);
    assert.equal((await policy(t.dir, "Secure web")).rules[1]?.tunnel, "gw.bigfirm.com");
  });

  it("refuses unknown lists/actions/policies/rules, duplicate names, no auth", async () => {
    await refused(
      t.dir,
      ["add", "rule", "name=X", "policy=Secure web", "filterlist=Nope", "filteraction=sign"],
      /filter list 'Nope' does not exist/,
      1,
    );
    await refused(
      t.dir,
      ["add", "rule", "name=X", "policy=Secure web", "filterlist=Web", "filteraction=Nope"],
      /filter action 'Nope' does not exist/,
      1,
    );
    await refused(
      t.dir,
      ["add", "rule", "name=X", "policy=Nope", "filterlist=Web", "filteraction=sign"],
      /policy 'Nope' does not exist/,
      1,
    );
    await refused(
      t.dir,
      ["add", "rule", "name=web", "policy=Secure web", "filterlist=Web", "filteraction=sign"],
      /'web' already exists/,
      1,
    );
    await refused(
      t.dir,
      [
        "add",
        "rule",
        "name=X",
        "policy=Secure web",
        "filterlist=Web",
        "filteraction=sign",
        "kerberos=no",
      ],
      /no authentication method/,
      2,
    );
    await refused(
      t.dir,
      [
        "add",
        "rule",
        "name=X",
        "policy=Secure web",
        "filterlist=Web",
        "filteraction=sign",
        "rootca=certmap:yes",
      ],
      /CA name is missing/,
      2,
    );
    await refused(
      t.dir,
      [
        "add",
        "rule",
        "name=X",
        "policy=Secure web",
        "filterlist=Web",
        "filteraction=sign",
        "tunnel=1.2.3",
      ],
      /tunnel/,
      2,
    );
    await refused(
      t.dir,
      [
        "add",
        "rule",
        "name=X",
        "policy=Secure web",
        "filterlist=Web",
        "filteraction=sign",
        "conntype=wifi",
      ],
      /conntype/,
      2,
    );
    await refused(
      t.dir,
      ["set", "rule", "name=Nope", "policy=Secure web", "activate=no"],
      /rule 'Nope' of policy/,
      1,
    );
    await refused(
      t.dir,
      ["set", "rule", "id=9", "policy=Secure web", "activate=no"],
      /rule id 9/,
      1,
    );
    await refused(
      t.dir,
      ["set", "rule", "name=Web", "policy=Secure web", "newname=two"],
      /already exists/,
      1,
    );
    await refused(t.dir, ["delete", "rule", "name=Web"], /missing required tag 'policy='/, 2);
    await refused(
      t.dir,
      ["add", "rule", "name=ALL", "policy=Secure web", "filterlist=Web", "filteraction=sign"],
      /cannot be named 'all'/,
      2,
    );
  });

  it("set defaultrule changes PFS, activation, offers and auth", async () => {
    await run(t.dir, [
      "set",
      "defaultrule",
      "policy=Secure web",
      "qmpfs=yes",
      "activate=no",
      "qmsec=ESP[AES128GCM,None]",
      "psk=dflt",
      "kerberos=yes",
    ]);
    const p = await policy(t.dir, "Secure web");
    assert.equal(p.defaultRule.qmPfs, true);
    assert.equal(p.defaultRule.active, false);
    assert.equal(p.activateDefaultRule, false);
    assert.equal(p.defaultRule.qmSecMethods.length, 1);
    assert.deepEqual(p.defaultRule.auth, [{ kind: "psk", key: "dflt" }, { kind: "kerberos" }]);
  });

  it("delete rule by id renumbers; by name; all", async () => {
    await run(t.dir, ["add", "rule", "Three", "Secure web", "Other", "Block"]);
    await run(t.dir, ["delete", "rule", "id=1", "policy=Secure web"]);
    let p = await policy(t.dir, "Secure web");
    assert.deepEqual(
      p.rules.map((r) => [r.id, r.name]),
      [
        [1, "Two"],
        [2, "Three"],
      ],
    );
    await run(t.dir, ["delete", "rule", "name=Three", "policy=Secure web"]);
    await run(t.dir, ["delete", "rule", "all", "policy=Secure web"]);
    p = await policy(t.dir, "Secure web");
    assert.equal(p.rules.length, 0);
  });
});
