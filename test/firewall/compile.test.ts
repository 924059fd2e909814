import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createApplier, digestOfListing } from "../../src/firewall/apply.js";
import { compileRuleset, SCOPED_RULES_MAX } from "../../src/firewall/compile.js";
import { defaultSettings } from "../../src/firewall/model.js";
import { createFakeNftRunner } from "../../src/firewall/nft.js";
import {
  mergeIntervals,
  parseAddressList,
  parseScopeItem,
  scopeIntervals,
} from "../../src/firewall/scope.js";

describe("firewall compiler (pure)", () => {
  it("replaces its own chains in one transaction, creating them first so the deletes cannot fail", () => {
    const { script } = compileRuleset({ settings: defaultSettings(), localSubnets: [] });
    const lines = script.split("\n");
    const made = lines.indexOf("  chain input {}");
    const gone = lines.indexOf("delete chain inet postern input");
    const fresh = lines.indexOf("  chain input {");
    assert.ok(made > 0 && gone > made && fresh > gone, script);
    assert.ok(lines.includes("delete chain inet postern output"));
    assert.doesNotMatch(script, /delete table inet postern\n/, "the table itself stays");
    assert.doesNotMatch(script, /delete chain inet postern (spd_out|protect_out|ipsec_in)/);
    assert.doesNotMatch(script, /delete set|flush set/, "bypass elements are not touched");
  });
  it("default settings: input policy drop, loopback, established, bypass only on postern0", () => {
    const { script } = compileRuleset({ settings: defaultSettings(), localSubnets: [] });
    assert.match(script, /type filter hook input priority filter; policy drop;/);
    assert.match(script, /iif "lo" accept/);
    assert.match(script, /ct state established,related accept/);
    // The bypass is the SA's (the agent's bypass device), not the source address's.
    assert.match(script, /iifname "postern-bp" accept/);
    assert.doesNotMatch(script, /saddr @bypass/);
    assert.match(script, /set bypass4 \{ type ipv4_addr; flags timeout; \}/);
    assert.match(script, /iif "lo" accept comment "postern firewall [0-9a-f]{32}"/);
    assert.doesNotMatch(script, /jump ipsec_in/, "the guard is its own base chain");
    assert.match(script, /udp dport \{ 500, 4500 \} accept/);
    assert.match(script, /meta l4proto ah accept/);
    assert.doesNotMatch(script, /tcp dport/);
  });
  it("opmode disable: policy accept, sets kept", () => {
    const s = defaultSettings();
    s.profiles.standard.enabled = false;
    s.profiles.standard.portOpenings.push({
      protocol: "tcp",
      port: 80,
      name: "",
      enabled: true,
      scope: "all",
      addresses: [],
    });
    const { script } = compileRuleset({ settings: s, localSubnets: [] });
    assert.match(script, /policy accept;/);
    assert.doesNotMatch(script, /policy drop/);
    assert.match(script, /set bypass4/);
    assert.doesNotMatch(script, /dport/);
  });
  it("scope ALL openings share one set per protocol; scoped ones get a rule per family", () => {
    const s = defaultSettings();
    const o = (
      protocol: "tcp" | "udp" | "all",
      port: number,
      scope: "all" | "subnet" | "custom" = "all",
      addresses: string[] = [],
    ) =>
      s.profiles.standard.portOpenings.push({
        protocol,
        port,
        name: "",
        enabled: true,
        scope,
        addresses,
      });
    o("tcp", 443);
    o("tcp", 80);
    o("all", 8080);
    o("udp", 53, "subnet");
    o("tcp", 22, "custom", ["10.0.0.5", "10.0.0.0/24", "fd00::/64", "10.1.0.1-10.1.0.9"]);
    const { script } = compileRuleset({ settings: s, localSubnets: ["192.168.7.3/24"] });
    assert.match(script, /tcp dport \{ 80, 443, 8080 \} accept/);
    assert.match(script, /udp dport \{ 8080 \} accept/);
    assert.match(script, /ip saddr \{ 192\.168\.7\.0\/24 \} udp dport 53 accept/);
    assert.match(
      script,
      /ip saddr \{ 10\.0\.0\.0\/24, 10\.1\.0\.1-10\.1\.0\.9 \} tcp dport 22 accept/,
    );
    assert.match(script, /ip6 saddr \{ fd00::\/64 \} tcp dport 22 accept/);
  });
  it("past SCOPED_RULES_MAX scoped openings become one rule over a set of (source . port) pairs", () => {
    const scoped = (n: number) => {
      const s = defaultSettings();
      for (let i = 0; i < n; i++) {
        s.profiles.standard.portOpenings.push({
          protocol: "tcp",
          port: 1000 + (i % 20),
          name: `p${i}`,
          enabled: true,
          scope: "custom",
          addresses: [`10.9.${i}.0/24`],
        });
      }
      return compileRuleset({ settings: s, localSubnets: [] }).script;
    };
    const few = scoped(SCOPED_RULES_MAX);
    assert.match(few, /ip saddr \{ 10\.9\.3\.0\/24 \} tcp dport 1003 accept/);
    assert.doesNotMatch(few, /saddr \. tcp dport/);
    const many = scoped(SCOPED_RULES_MAX + 30);
    const sets = many.split("\n").filter((l) => l.includes("ip saddr . tcp dport {"));
    assert.equal(sets.length, 1, many);
    // Openings sharing a port are merged: 10.9.0.0/24 and 10.9.20.0/24 both go to port 1000.
    assert.match(sets[0] as string, /10\.9\.0\.0\/24 \. 1000, 10\.9\.20\.0\/24 \. 1000/);
    assert.doesNotMatch(many, /ip saddr \{ 10\.9\./, "no rule per opening is left");
  });
  it("logging adds NFLOG rules for drops and new connections", () => {
    const s = defaultSettings();
    s.logging.droppedPackets = true;
    s.logging.connections = true;
    const { script } = compileRuleset({ settings: s, localSubnets: [] });
    assert.match(script, /log prefix "RECEIVE" group 7801\n/);
    assert.match(script, /ct state new log prefix "SEND" group 7802/);
    assert.match(script, /iifname "postern-bp" log prefix "RECEIVE" group 7802 accept/);
  });
  it("the digest depends on the ruleset only, and is in the first input rule's comment", () => {
    const a = compileRuleset({ settings: defaultSettings(), localSubnets: [] });
    const b = compileRuleset({ settings: defaultSettings(), localSubnets: [] });
    assert.equal(a.digest, b.digest);
    assert.equal(digestOfListing(a.script), a.digest);
    const s = defaultSettings();
    s.profiles.standard.icmp["8"] = true;
    assert.notEqual(compileRuleset({ settings: s, localSubnets: [] }).digest, a.digest);
  });
});

describe("scopes", () => {
  it("canonicalises addresses, subnets (prefix or mask), ranges and LocalSubnet", () => {
    assert.deepEqual(
      parseAddressList("10.0.0.7/255.255.255.0, localsubnet,10.1.1.1 , 10.2.0.1-10.2.0.3,FD00::1"),
      ["10.0.0.0/24", "LocalSubnet", "10.1.1.1", "10.2.0.1-10.2.0.3", "fd00::1"],
    );
  });
  const bad = [
    "10.0.0.300",
    "10.0.0.0/33",
    "10.0.0.0/255.0.255.0",
    "10.0.0.9-10.0.0.1",
    "10.0.0.1-fd00::1",
    "",
    "a,,b",
  ];
  for (const b of bad) {
    it(`rejects '${b}' with one line`, () =>
      assert.throws(() => parseAddressList(b), /addresses: /));
  }
  it("merges overlapping and adjacent intervals (nft rejects overlaps)", () => {
    const ivs = scopeIntervals("custom", ["10.0.0.0/25", "10.0.0.128/25", "10.0.0.5"], []);
    assert.deepEqual(ivs, [{ family: 4, from: 0x0a000000n, to: 0x0a0000ffn }]);
    assert.equal(mergeIntervals([]).length, 0);
  });
  it("LocalSubnet in a custom list means this host's subnets", () => {
    const it_ = parseScopeItem("LocalSubnet");
    assert.equal(it_.kind, "localsubnet");
    assert.deepEqual(scopeIntervals("custom", ["LocalSubnet"], ["10.9.0.1/16"]), [
      { family: 4, from: 0x0a090000n, to: 0x0a09ffffn },
    ]);
  });
});

describe("applier with a fake nft", () => {
  const rulesetJson = (comment: string, elem: unknown[] = []) =>
    JSON.stringify({
      nftables: [
        { metainfo: {} },
        { set: { table: "postern", name: "bypass4", elem } },
        { set: { table: "other", name: "bypass4", elem: ["9.9.9.9"] } },
        { rule: { table: "postern", chain: "input", comment } },
      ],
    });
  it("skips loading when the loaded ruleset has the same digest", async () => {
    const { digest } = compileRuleset({ settings: defaultSettings(), localSubnets: [] });
    const fake = createFakeNftRunner((args) =>
      args[1] === "list" ? rulesetJson(`postern firewall ${digest}`) : "",
    );
    const r = await createApplier({ runner: fake }).apply(defaultSettings());
    assert.equal(r.changed, false);
    assert.deepEqual(
      fake.calls.map((c) => c.args.join(" ")),
      ["-j list ruleset inet"],
    );
  });
  it("loads the firewall's chains when the digest differs; the bypass elements stay in place", async () => {
    const elems = [{ elem: { val: "10.0.0.2", timeout: 60, expires: 42 } }, "10.0.0.3"];
    const fake = createFakeNftRunner((args) =>
      args[1] === "list" ? rulesetJson("postern firewall 00", elems) : "",
    );
    const r = await createApplier({ runner: fake }).apply(defaultSettings());
    assert.equal(r.changed, true);
    assert.equal(r.keptPeers, 2);
    const load = fake.calls.find((c) => c.args[0] === "-f");
    assert.match(load?.input ?? "", /chain input \{\n/);
    assert.doesNotMatch(load?.input ?? "", /element|bypass4 \{ 10/);
  });
  it("reads the host's subnets only when a scope needs them", async () => {
    let asked = 0;
    const fake = createFakeNftRunner(() => JSON.stringify({ nftables: [] }));
    fake.localSubnets = async () => {
      asked++;
      return ["10.0.0.1/24"];
    };
    const s = defaultSettings();
    await createApplier({ runner: fake }).apply(s);
    assert.equal(asked, 0);
    s.profiles.standard.portOpenings.push({
      protocol: "tcp",
      port: 80,
      name: "",
      enabled: true,
      scope: "subnet",
      addresses: [],
    });
    await createApplier({ runner: fake }).apply(s);
    assert.equal(asked, 1);
    assert.match(
      fake.calls.at(-1)?.input ?? "",
      /ip saddr \{ 10\.0\.0\.0\/24 \} tcp dport 80 accept/,
    );
  });
});
