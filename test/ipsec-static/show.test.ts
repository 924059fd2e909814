import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type {
  FilterAction,
  FilterList,
  Policy,
  PolicyStore,
  Rule,
} from "../../src/policy/model.js";
import { tempHome } from "../helpers/cli.js";
import { ips, ipsJson, refused, run, SERVER_SETUP } from "./helpers.js";

describe("netsh ipsec static show", () => {
  const t = tempHome("pis-show");
  const LONG = "A policy with a rather long name for the table";
  before(async () => {
    await run(
      t.dir,
      ...SERVER_SETUP,
      [
        "add",
        "filter",
        "filterlist=Web",
        "srcaddr=198.18.0.0",
        "srcmask=24",
        "dstaddr=me",
        "protocol=TCP",
        "dstport=443",
      ],
      [
        "add",
        "filter",
        "filterlist=Names",
        "srcaddr=me",
        "dstaddr=localhost",
        "protocol=TCP",
        "dstport=80",
      ],
      ["add", "filteraction", "name=Allow", "action=permit"],
      ["add", "policy", `name=${LONG}`],
      [
        "add",
        "rule",
        "name=Tun",
        "policy=Secure web",
        "filterlist=Names",
        "filteraction=Allow",
        "tunnel=198.18.0.1",
      ],
      ["set", "policy", "name=Secure web", "assign=yes"],
    );
  });
  after(t.cleanup);

  it("show policy (normal) lists the policy's fields and rule names as 2003 does", async () => {
    const r = await ips(t.dir, "show", "policy", "name=Secure web");
    assert.equal(r.code, 0);
    for (const re of [
      /^Policy Name {12}: Secure web$/m,
      /^Description {12}: NONE$/m,
      /^Store {18}: Local Store$/m,
      /^Last Modified {10}: \d+\/\d+\/\d{4} \d+:\d\d:\d\d [AP]M$/m,
      /^GUID {19}: \{[0-9A-F-]{36}\}$/m,
      /^Assigned {15}: YES$/m,
      /^Master PFS {13}: NO$/m,
      /^Polling Interval {7}: 180 minutes$/m,
      /^Main Mode Life Time {4}: 480 minutes \/ 0 Quick Mode sessions$/m,
      /AES-GCM-256 +SHA-384 +X25519\(31\)/,
      /^No. of Rules {11}: 2$/m,
      /^Rule 1 {17}: Web$/m,
    ]) {
      assert.match(r.out, re);
    }
    assert.doesNotMatch(r.out, /FilterList Name/);
  });

  it("show policy level=verbose expands rules, filter lists, actions and the default rule", async () => {
    const r = await ips(t.dir, "show", "policy", "Secure web", "level=verbose");
    for (const re of [
      /^Rule ID {16}: 1, GUID = \{/m,
      /^FilterList Name {8}: Web$/m,
      /^Source IP Address {6}: <Any IP Address>$/m,
      /^Destination IP Address : <My IP Address>$/m,
      /^Protocol {15}: TCP$/m,
      /^Destination Port {7}: 80$/m,
      /^Source Mask {12}: 255.255.255.0$/m,
      /^Action {17}: NEGOTIATE SECURITY$/m,
      /None +SHA-256 +100000\/3600/,
      /^Tunnel Endpoint {8}: 198.18.0.1$/m,
      /^Rule Name {14}: <Default Response Rule>$/m,
      /^ Kerberos$/m,
    ]) {
      assert.match(r.out, re);
    }
  });

  it("format=table prints one row per object; wide=no cuts long names", async () => {
    const wide = await ips(t.dir, "show", "policy", "all", "format=table");
    assert.match(wide.out, /^Policy Name +Last Modified +Assigned +Rules$/m);
    assert.match(wide.out, /^-+ +-+/m);
    assert.ok(wide.out.includes(LONG));
    assert.match(wide.out, /^Secure web +\S+ \S+ [AP]M +YES +2$/m);
    const narrow = await ips(t.dir, "show", "policy", "format=table", "wide=no");
    assert.ok(!narrow.out.includes(LONG));
    assert.match(narrow.out, /A policy with a rather long\.\.\./);
    const fl = await ips(t.dir, "show", "filterlist", "format=table", "level=verbose");
    assert.match(fl.out, /^any +me +TCP +ANY +80 +YES$/m);
    assert.match(fl.out, /^198.18.0.0\/24 +me +TCP +ANY +443 +YES$/m);
    const fa = await ips(t.dir, "show", "filteraction", "format=table");
    assert.match(
      fa.out,
      /^sign +NEGOTIATE +AH\[SHA256\]:100000k\/3600s ESP\[None,SHA256\]:100000k\/3600s$/m,
    );
    assert.match(fa.out, /^Allow +PERMIT$/m);
    const ru = await ips(t.dir, "show", "rule", "policy=Secure web", "format=table");
    assert.match(ru.out, /^1 +Web +Web +sign +NONE +YES$/m);
    assert.match(ru.out, /^2 +Tun +Names +Allow +198.18.0.1 +YES$/m);
  });

  it("show filterlist: name=, rule=, all, level=verbose, resolvedns=yes", async () => {
    const byRule = await ips(t.dir, "show", "filterlist", "rule=Tun", "level=verbose");
    assert.match(byRule.out, /^FilterList Name {8}: Names$/m);
    assert.doesNotMatch(byRule.out, /FilterList Name {8}: Web/);
    assert.match(byRule.out, /localhost \(DNS name, resolved when applied\)/);
    const resolved = await ips(
      t.dir,
      "show",
      "filterlist",
      "name=Names",
      "level=verbose",
      "resolvedns=yes",
    );
    assert.match(resolved.out, /localhost \((127\.0\.0\.1|::1)/);
    const all = await ips(t.dir, "show", "filterlist", "all");
    assert.match(all.out, /^No. of Filters {9}: 2$/m);
    await refused(
      t.dir,
      ["show", "filterlist", "name=Nope"],
      /filter list 'Nope' does not exist/,
      1,
    );
    await refused(t.dir, ["show", "filterlist", "rule=Nope"], /rule 'Nope' does not exist/, 1);
  });

  it("show filteraction: name=, rule=, verbose table of offers", async () => {
    const r = await ips(t.dir, "show", "filteraction", "rule=Web", "level=verbose");
    assert.match(r.out, /^FilterAction Name {6}: sign$/m);
    assert.match(r.out, /ESP Encryption +ESP Integrity +AH Integrity +Lifetime/);
    const n = await ips(t.dir, "show", "filteraction", "name=Allow");
    assert.match(n.out, /^Action {17}: PERMIT$/m);
    await refused(t.dir, ["show", "filteraction", "name=Nope"], /does not exist/, 1);
  });

  it("show rule: all, name=, id=, default, type=tunnel|transport", async () => {
    const byId = await ips(t.dir, "show", "rule", "id=2", "policy=Secure web");
    assert.match(byId.out, /^Rule Name {14}: Tun$/m);
    assert.doesNotMatch(byId.out, /Default Response Rule/);
    const def = await ips(t.dir, "show", "rule", "default", "policy=Secure web");
    assert.match(def.out, /<Default Response Rule>/);
    assert.doesNotMatch(def.out, /Rule Name {14}: Web/);
    const tunnel = await ips(t.dir, "show", "rule", "all", "policy=Secure web", "type=tunnel");
    assert.match(tunnel.out, /Rule Name {14}: Tun/);
    assert.doesNotMatch(tunnel.out, /Rule Name {14}: Web$/m);
    const transport = (await ipsJson(
      t.dir,
      "show",
      "rule",
      "policy=Secure web",
      "type=transport",
    )) as { rules: Rule[] };
    assert.deepEqual(
      transport.rules.map((r) => r.name),
      ["Web"],
    );
    await refused(t.dir, ["show", "rule", "name=Web"], /policy= is required/, 2);
    await refused(t.dir, ["show", "rule", "name=Nope", "policy=Secure web"], /rule 'Nope'/, 1);
  });

  it("show gpoassignedpolicy prints the assigned policy; name= needs a DC", async () => {
    const r = await ips(t.dir, "show", "gpoassignedpolicy");
    assert.match(r.out, /^Assigned Policy {8}: Secure web$/m);
    const j = (await ipsJson(t.dir, "show", "gpoassignedpolicy")) as { assigned: Policy | null };
    assert.equal(j.assigned?.name, "Secure web");
    await refused(
      t.dir,
      ["show", "gpoassignedpolicy", "name=Default Domain Policy"],
      /name= needs the domain store/,
      1,
    );
  });

  it("every show honours --json with the model records", async () => {
    const all = (await ipsJson(
      t.dir,
      "show",
      "all",
      "level=verbose",
      "format=table",
    )) as PolicyStore;
    assert.equal(all.version, 1);
    assert.equal(all.policies.length, 2);
    const p = (await ipsJson(t.dir, "show", "policy", "name=Secure web")) as { policies: Policy[] };
    assert.deepEqual(
      p.policies[0],
      all.policies.find((x) => x.name === "Secure web"),
    );
    const fl = (await ipsJson(t.dir, "show", "filterlist", "name=Web")) as {
      filterLists: FilterList[];
    };
    assert.deepEqual(
      fl.filterLists[0],
      all.filterLists.find((x) => x.name === "Web"),
    );
    const fa = (await ipsJson(t.dir, "show", "filteraction")) as { filterActions: FilterAction[] };
    assert.deepEqual(fa.filterActions, all.filterActions);
    const ru = (await ipsJson(t.dir, "show", "rule", "policy=Secure web")) as {
      policy: string;
      rules: Rule[];
      defaultRule: unknown;
    };
    assert.equal(ru.policy, "Secure web");
    assert.equal(ru.rules.length, 2);
    assert.ok(ru.defaultRule);
  });

  it("an empty store says so", async () => {
    const e = tempHome("pis-empty");
    try {
      const r = await ips(e.dir, "show", "all");
      assert.equal(r.code, 0);
      assert.match(r.out, /No policies in the Local Store/);
      assert.match(r.out, /No filter lists/);
      assert.match(r.out, /No filter actions/);
    } finally {
      e.cleanup();
    }
  });

  it("refuses bad show options", async () => {
    await refused(
      t.dir,
      ["show", "all", "level=chatty"],
      /level: expected one of normal\|verbose/,
      2,
    );
    await refused(
      t.dir,
      ["show", "policy", "format=xml"],
      /format: expected one of list\|table/,
      2,
    );
    await refused(t.dir, ["show", "policy", "wide=perhaps"], /wide: expected yes or no/, 2);
    await refused(t.dir, ["show", "nothing"], /unknown show object/, 2);
    await refused(t.dir, ["show", "f"], /ambiguous show object 'f'/, 2);
  });
});
