import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FilterAction, FilterList, Policy, PolicyStore } from "../../src/policy/model.js";
import { tempHome } from "../helpers/cli.js";
import { ips, ipsJson, refused, run, SERVER_SETUP } from "./helpers.js";

type Json<T> = T;

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

describe("netsh ipsec static: store, delete all, batch, help", () => {
  const t = tempHome("pis-store");
  after(t.cleanup);

  it("show store says local; set store location=domain persists and answers no DC", async () => {
    await run(t.dir, ...SERVER_SETUP);
    assert.match((await ips(t.dir, "show", "store")).out, /Local Store/);
    assert.deepEqual(await ipsJson(t.dir, "show", "store"), { location: "local", domain: null });
    await run(t.dir, ["set", "store", "location=domain", "domain=bigfirm.com"]);
    assert.match((await ips(t.dir, "show", "store")).out, /Domain Store \(bigfirm.com\)/);
    await refused(t.dir, ["show", "all"], /no domain controller configured/, 1);
    await refused(t.dir, ["add", "filterlist", "X"], /no domain controller configured/, 1);
    await run(t.dir, ["set", "store", "location=local"]);
    const s = (await ipsJson(t.dir, "show", "all")) as PolicyStore;
    assert.equal(s.policies.length, 1);
    await refused(t.dir, ["set", "store", "location=moon"], /expected one of local\|domain/, 2);
  });

  it("delete all empties the store", async () => {
    await run(t.dir, ["delete", "all"]);
    const s = (await ipsJson(t.dir, "show", "all")) as Json<PolicyStore>;
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
