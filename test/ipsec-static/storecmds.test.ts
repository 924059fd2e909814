import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { saveStoreLocation } from "../../src/policy/location.js";
import type { PolicyStore } from "../../src/policy/model.js";
import { tempHome } from "../helpers/cli.js";
import { ips, ipsJson, refused, run, SERVER_SETUP } from "./helpers.js";

describe("netsh ipsec static: store, delete all, batch, help", () => {
  const t = tempHome("pis-store");
  after(t.cleanup);

  it("show store says local; location=domain on a host that is not a DC is one line, store stays local", async () => {
    await run(t.dir, ...SERVER_SETUP);
    assert.match((await ips(t.dir, "show", "store")).out, /Local Store/);
    assert.deepEqual(await ipsJson(t.dir, "show", "store"), { location: "local", domain: null });
    await refused(
      t.dir,
      ["set", "store", "location=domain", "domain=bigfirm.com"],
      /this host is not a domain controller: domain policy is edited on the DC/,
      1,
    );
    assert.deepEqual(await ipsJson(t.dir, "show", "store"), { location: "local", domain: null });
    // a location file left over from a DC home that is gone: the same line on every command
    saveStoreLocation(t.dir, { location: "domain", domain: "bigfirm.com" });
    assert.match((await ips(t.dir, "show", "store")).out, /Domain Store \(bigfirm.com\)/);
    await refused(t.dir, ["show", "all"], /not a domain controller/, 1);
    await refused(t.dir, ["add", "filterlist", "X"], /not a domain controller/, 1);
    await run(t.dir, ["set", "store", "location=local"]);
    const s = (await ipsJson(t.dir, "show", "all")) as PolicyStore;
    assert.equal(s.policies.length, 1);
    await refused(t.dir, ["set", "store", "location=moon"], /expected one of local\|domain/, 2);
  });

  it("delete all empties the store", async () => {
    await run(t.dir, ["delete", "all"]);
    const s = (await ipsJson(t.dir, "show", "all")) as PolicyStore;
    assert.deepEqual([s.policies, s.filterLists, s.filterActions], [[], [], []]);
  });

  it("set batch is accepted", async () => {
    await run(t.dir, ["set", "batch", "mode=enable"], ["set", "batch", "disable"]);
    await refused(t.dir, ["set", "batch", "mode=sometimes"], /mode=enable\|disable/, 2);
  });

  it("help lists every command and tag; per-command help; prefixes of commands", async () => {
    const h = await ips(t.dir, "help");
    assert.equal(h.code, 0);
    for (const w of [
      "add policy|filterlist|filter|filteraction|rule",
      "set store",
      "exportpolicy",
      "qmsecmethods",
      "mmsecmethods",
      "PARSING",
    ]) {
      assert.ok(h.out.includes(w), w);
    }
    const a = await ips(t.dir, "add", "filter", "?");
    assert.match(a.out, /srcaddr=\]<address>/);
    assert.match(a.out, /If the filter list|creates the filter list/);
    const r = await ips(t.dir, "sh", "sto");
    assert.equal(r.code, 0);
    assert.match(r.out, /Local Store/);
    const whole = await cli2(t.dir);
    assert.match(whole, /postern netsh ipsec static/);
  });
});

async function cli2(home: string): Promise<string> {
  const r = await ips(home, "--help");
  return r.out;
}
