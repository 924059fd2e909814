import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { FilterList } from "../../src/policy/model.js";
import { tempHome } from "../helpers/cli.js";
import { ipsJson, refused, run, SERVER_SETUP } from "./helpers.js";

describe("netsh ipsec static: filter lists and filters", () => {
  const t = tempHome("pis-fl");
  after(t.cleanup);

  async function list(name: string): Promise<FilterList> {
    const d = (await ipsJson(t.dir, "show", "filterlist", `name=${name}`)) as {
      filterLists: FilterList[];
    };
    return d.filterLists[0] as FilterList;
  }

  it("add filterlist, set filterlist (newname, description, guid)", async () => {
    await run(t.dir, ["add", "filterlist", "Lst", "a list"]);
    const l = await list("Lst");
    assert.equal(l.description, "a list");
    await run(
      t.dir,
      ["set", "filterlist", "name=Lst", "newname=L1"],
      ["set", "filterlist", `guid=${l.guid}`, "description=changed"],
    );
    const l1 = await list("L1");
    assert.equal(l1.guid, l.guid);
    assert.equal(l1.description, "changed");
  });

  it("add filter uses 2003's defaults: protocol ANY, mirrored yes, host masks, any port", async () => {
    await run(t.dir, ["add", "filter", "filterlist=L1", "srcaddr=198.18.0.30", "dstaddr=me"]);
    assert.deepEqual((await list("L1")).filters[0], {
      description: "",
      src: { kind: "subnet", address: "198.18.0.30", prefix: 32, family: 4 },
      dst: { kind: "me" },
      protocol: 0,
      srcPort: 0,
      dstPort: 0,
      mirrored: true,
    });
  });

  it("add filter takes every tag, by prefix and positionally, and creates a missing list", async () => {
    await run(t.dir, [
      "add",
      "filter",
      "New list",
      "198.18.0.0",
      "any",
      "subnet to any",
      "UDP",
      "no",
      "255.255.255.0",
      "0",
      "1234",
      "53",
    ]);
    const f = (await list("New list")).filters[0];
    assert.deepEqual(f, {
      description: "subnet to any",
      src: { kind: "subnet", address: "198.18.0.0", prefix: 24, family: 4 },
      dst: { kind: "any" },
      protocol: 17,
      srcPort: 1234,
      dstPort: 53,
      mirrored: false,
    });
    await run(t.dir, [
      "add",
      "filter",
      "FILTERL=L1",
      "SRCA=2001:db8::",
      "srcm=32",
      "dsta=me",
      "prot=tcp",
      "dstp=443",
      "mir=N",
    ]);
    await run(t.dir, [
      "add",
      "filter",
      "filterlist=L1",
      "srcaddr=198.18.0.1-198.18.0.9",
      "dstaddr=me",
      "protocol=ICMP",
    ]);
    await run(t.dir, [
      "add",
      "filter",
      "filterlist=L1",
      "srcaddr=me",
      "dstaddr=server1.bigfirm.com",
      "protocol=RAW",
    ]);
    await run(t.dir, [
      "add",
      "filter",
      "filterlist=L1",
      "srcaddr=me",
      "dstaddr=DNS",
      "protocol=UDP",
      "dstport=53",
    ]);
    await run(t.dir, [
      "add",
      "filter",
      "filterlist=L1",
      "srcaddr=WINS",
      "dstaddr=me",
      "protocol=47",
    ]);
    await run(t.dir, [
      "add",
      "filter",
      "filterlist=L1",
      "srcaddr=any",
      "dstaddr=me",
      "srcmask=0.0.0.0",
    ]);
    const fs = (await list("L1")).filters;
    assert.deepEqual(fs[1]?.src, { kind: "subnet", address: "2001:db8::", prefix: 32, family: 6 });
    assert.equal(fs[1]?.mirrored, false);
    assert.deepEqual(fs[2]?.src, {
      kind: "range",
      from: "198.18.0.1",
      to: "198.18.0.9",
      family: 4,
    });
    assert.equal(fs[2]?.protocol, 1);
    assert.deepEqual(fs[3]?.dst, { kind: "dns", name: "server1.bigfirm.com" });
    assert.equal(fs[3]?.protocol, 255);
    assert.deepEqual(fs[4]?.dst, { kind: "server", server: "dns" });
    assert.deepEqual(fs[5]?.src, { kind: "server", server: "wins" });
    assert.equal(fs[5]?.protocol, 47);
    assert.deepEqual(fs[6]?.src, { kind: "any" });
  });

  it("refuses bad filters and leaves the store byte-identical", async () => {
    const add = (...a: string[]) => ["add", "filter", "filterlist=L1", ...a];
    await refused(
      t.dir,
      add("srcaddr=1.2.3.4", "dstaddr=me", "srcmask=24"),
      /bits outside srcmask/,
      2,
    );
    await refused(
      t.dir,
      add("srcaddr=1.2.3.4", "dstaddr=me", "srcmask=255.0.255.0"),
      /srcmask: bad mask/,
      2,
    );
    await refused(t.dir, add("srcaddr=300.2.3.4", "dstaddr=me"), /srcaddr: bad IP address/, 2);
    await refused(
      t.dir,
      add("srcaddr=10.0.0.1-fe80::1", "dstaddr=me"),
      /range .* mixes IPv4 and IPv6/,
      2,
    );
    await refused(
      t.dir,
      add("srcaddr=10.0.0.1-10.0.0.9", "dstaddr=me", "srcmask=8"),
      /mask does not apply/,
      2,
    );
    await refused(
      t.dir,
      add("srcaddr=DHCP", "dstaddr=any"),
      /server type DHCP needs dstaddr=me/,
      2,
    );
    await refused(
      t.dir,
      add("srcaddr=198.18.0.1", "dstaddr=GATEWAY"),
      /server type GATEWAY needs srcaddr=me/,
      2,
    );
    await refused(t.dir, add("srcaddr=me", "dstaddr=me"), /both 'me'/, 2);
    await refused(
      t.dir,
      add("srcaddr=me", "dstaddr=any", "protocol=ICMP", "dstport=80"),
      /need protocol=TCP or UDP/,
      2,
    );
    await refused(
      t.dir,
      add("srcaddr=me", "dstaddr=any", "protocol=gre"),
      /protocol: expected ANY/,
      2,
    );
    await refused(t.dir, add("srcaddr=me", "dstaddr=any", "protocol=256"), /protocol/, 2);
    await refused(t.dir, add("srcaddr=me", "dstaddr=any", "dstport=65536"), /out of range/, 2);
    await refused(
      t.dir,
      add("srcaddr=me", "dstaddr=any", "mirrored=maybe"),
      /expected yes or no/,
      2,
    );
    await refused(t.dir, add("srcaddr=me", "dstaddr=any", "colour=red"), /unknown tag 'colour'/, 2);
    await refused(t.dir, add("s=me", "dstaddr=any"), /ambiguous tag 's'/, 2);
    await refused(t.dir, ["add", "filter", "srcaddr=me"], /missing required tag 'filterlist='/, 2);
    await refused(t.dir, add("srcaddr=198.18.0.30", "dstaddr=me"), /same filter is already/, 1);
  });

  it("delete filter removes the filters matching the fields given", async () => {
    await refused(
      t.dir,
      ["delete", "filter", "L1", "198.18.0.30", "me", "protocol=TCP"],
      /no filter .* matches/,
      1,
    );
    await refused(
      t.dir,
      ["delete", "filter", "Nope", "198.18.0.30", "me"],
      /filter list 'Nope' does not exist/,
      1,
    );
    const n = (await list("L1")).filters.length;
    await run(t.dir, ["delete", "filter", "L1", "198.18.0.30", "me"]);
    await run(t.dir, [
      "delete",
      "filter",
      "filterlist=L1",
      "srcaddr=2001:db8::",
      "dstaddr=me",
      "srcmask=32",
      "protocol=TCP",
      "dstport=443",
      "mirrored=no",
    ]);
    await run(t.dir, ["delete", "filter", "L1", "198.18.0.1-198.18.0.9", "me"]);
    assert.equal((await list("L1")).filters.length, n - 3);
    await run(t.dir, [
      "delete",
      "filter",
      "New list",
      "198.18.0.0",
      "any",
      "srcmask=24",
      "srcport=1234",
      "dstport=53",
    ]);
    assert.equal((await list("New list")).filters.length, 0);
  });

  it("delete filterlist by name, guid, all; refused while a rule uses it", async () => {
    await run(t.dir, ...SERVER_SETUP);
    await refused(
      t.dir,
      ["delete", "filterlist", "Web"],
      /filter list 'Web' is used by rule 'Web' of policy 'Secure web'/,
      1,
    );
    await refused(t.dir, ["delete", "filterlist", "all"], /is used by rule/, 1);
    const l = await list("New list");
    await run(
      t.dir,
      ["delete", "filterlist", `guid=${l.guid}`],
      ["delete", "filterlist", "name=L1"],
    );
    await run(t.dir, ["delete", "policy", "all"], ["delete", "filterlist", "all"]);
    assert.equal(
      ((await ipsJson(t.dir, "show", "filterlist")) as { filterLists: unknown[] }).filterLists
        .length,
      0,
    );
  });
});
