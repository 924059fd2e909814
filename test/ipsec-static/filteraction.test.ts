import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { FilterAction } from "../../src/policy/model.js";
import { tempHome } from "../helpers/cli.js";
import { ips, ipsJson, refused, run } from "./helpers.js";

describe("netsh ipsec static: filter actions", () => {
  const t = tempHome("pis-fa");
  after(t.cleanup);

  async function action(name: string): Promise<FilterAction> {
    const d = (await ipsJson(t.dir, "show", "filteraction", `name=${name}`)) as {
      filterActions: FilterAction[];
    };
    return d.filterActions[0] as FilterAction;
  }

  it("add filteraction defaults to negotiate with modern offers", async () => {
    await run(t.dir, ["add", "filteraction", "name=Neg"]);
    const a = await action("Neg");
    assert.equal(a.action, "negotiate");
    assert.equal(a.qmPfs, false);
    assert.equal(a.inpass, false);
    assert.equal(a.soft, false);
    assert.deepEqual(a.qmSecMethods[0], {
      esp: { conf: "aes256gcm", auth: "none" },
      lifetimeKb: 100000,
      lifetimeSec: 3600,
    });
  });

  it("takes every tag (positionally too) and keeps the offers' order", async () => {
    await run(t.dir, [
      "add",
      "filteraction",
      "FA",
      "desc",
      "yes",
      "yes",
      "yes",
      "negotiate",
      "AH[SHA256]+ESP[AES128,SHA256]:50000k/900s ESP[None,SHA384]",
    ]);
    const a = await action("FA");
    assert.equal(a.description, "desc");
    assert.equal(a.qmPfs && a.inpass && a.soft, true);
    assert.deepEqual(a.qmSecMethods, [
      {
        ah: { hash: "sha256" },
        esp: { conf: "aes128", auth: "sha256" },
        lifetimeKb: 50000,
        lifetimeSec: 900,
      },
      { esp: { conf: "none", auth: "sha384" }, lifetimeKb: 100000, lifetimeSec: 3600 },
    ]);
  });

  it("set filteraction changes each field; permit/block warn that qmsec is ignored", async () => {
    const fa = await action("FA");
    await run(t.dir, [
      "set",
      "filteraction",
      `guid=${fa.guid}`,
      "newname=FB",
      "description=x",
      "qmpfs=no",
      "inpass=no",
      "soft=no",
    ]);
    const r = await ips(
      t.dir,
      "set",
      "filteraction",
      "name=FB",
      "action=block",
      "qmsec=ESP[AES256,SHA256]",
    );
    assert.equal(r.code, 0);
    assert.match(r.err, /ignored unless action=negotiate/);
    const b = await action("FB");
    assert.equal(b.action, "block");
    assert.equal(b.description, "x");
    assert.equal(b.qmPfs || b.inpass || b.soft, false);
    await run(t.dir, ["add", "filteraction", "name=Pass", "action=permit"]);
    assert.equal((await action("Pass")).action, "permit");
  });

  it("refuses DES/MD5, bad offers, bad action, duplicates", async () => {
    await refused(
      t.dir,
      ["add", "filteraction", "name=X", "qmsec=ESP[DES,SHA1]"],
      /DES is refused.*AES256/,
      2,
    );
    await refused(
      t.dir,
      ["add", "filteraction", "name=X", "qmsec=AH[MD5]"],
      /MD5 is refused.*SHA256/,
      2,
    );
    await refused(t.dir, ["add", "filteraction", "name=X", "qmsec=ESP[AES256]"], /ESP takes/, 2);
    await refused(
      t.dir,
      ["add", "filteraction", "name=X", "action=encrypt"],
      /expected one of permit\|block\|negotiate/,
      2,
    );
    await refused(t.dir, ["add", "filteraction", "name=neg"], /already exists/, 1);
    await refused(t.dir, ["set", "filteraction", "name=none", "soft=yes"], /does not exist/, 1);
  });

  it("delete filteraction by name, guid, all; refused while used", async () => {
    await run(
      t.dir,
      ["add", "filterlist", "L"],
      ["add", "policy", "P"],
      ["add", "rule", "R", "P", "L", "Neg"],
    );
    await refused(
      t.dir,
      ["delete", "filteraction", "Neg"],
      /filter action 'Neg' is used by rule 'R'/,
      1,
    );
    const fb = await action("FB");
    await run(
      t.dir,
      ["delete", "filteraction", `guid=${fb.guid}`],
      ["delete", "filteraction", "Pass"],
    );
    await run(t.dir, ["delete", "rule", "all", "policy=P"], ["delete", "filteraction", "all"]);
    assert.equal(
      ((await ipsJson(t.dir, "show", "filteraction")) as { filterActions: unknown[] }).filterActions
        .length,
      0,
    );
  });
});
