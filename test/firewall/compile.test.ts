import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createApplier, digestOfListing } from "../../src/firewall/apply.js";
import { compileRuleset } from "../../src/firewall/compile.js";
import { defaultSettings } from "../../src/firewall/model.js";
import { createFakeNftRunner } from "../../src/firewall/nft.js";
import {
  mergeIntervals,
  parseAddressList,
  parseScopeItem,
  scopeIntervals,
} from "../../src/firewall/scope.js";

describe("firewall compiler (pure)", () => {
  it("replaces the table in one transaction, idempotently when it does not exist yet", () => {
    const { script } = compileRuleset({ settings: defaultSettings(), localSubnets: [] });
    const lines = script.split("\n");
    assert.deepEqual(lines.slice(0, 3), [
      "table inet postern {}",
      "delete table inet postern",
      "table inet postern {",
    ]);
  });
  it("default settings: input policy drop, loopback, established, bypass only on postern0", () => {
    const { script } = compileRuleset({ settings: defaultSettings(), localSubnets: [] });
    assert.match(script, /type filter hook input priority filter; policy drop;/);
    assert.match(script, /iif "lo" accept/);
    assert.match(script, /ct state established,related accept/);
    assert.match(script, /iifname "postern0" ip saddr @bypass4 accept/);
    assert.match(script, /iifname "postern0" ip6 saddr @bypass6 accept/);
    assert.match(
      script,
      /set bypass4 \{ type ipv4_addr; flags timeout; comment "postern firewall [0-9a-f]{32}"; \}/,
    );
    assert.match(script, /chain ipsec_in \{\n {2}\}/);
    assert.match(script, /type route hook output priority mangle; policy accept;/);
    assert.match(script, /udp dport \{ 500, 4500 \} accept/);
    assert.match(script, /meta l4proto ah accept/);
    assert.doesNotMatch(script, /tcp dport/);
  });
  it("opmode disable: policy accept, sets and agent chains kept", () => {
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
    assert.match(script, /jump ipsec_in/);
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
  it("logging adds NFLOG rules for drops and new connections", () => {
    const s = defaultSettings();
    s.logging.droppedPackets = true;
    s.logging.connections = true;
    const { script } = compileRuleset({ settings: s, localSubnets: [] });
    assert.match(script, /log prefix "RECEIVE" group 7801\n/);
    assert.match(script, /ct state new log prefix "SEND" group 7802/);
    assert.match(script, /@bypass4 log prefix "RECEIVE" group 7802 accept/);
  });
  it("the digest depends on the ruleset only, and is in the table comment", () => {
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
  const setsJson = (comment: string, elem: unknown[] = []) =>
    JSON.stringify({
      nftables: [
        { metainfo: {} },
        { set: { table: "postern", name: "bypass4", comment, elem } },
        { set: { table: "other", name: "bypass4", comment, elem: ["9.9.9.9"] } },
      ],
    });
  it("skips loading when the loaded ruleset has the same digest", async () => {
    const { digest } = compileRuleset({ settings: defaultSettings(), localSubnets: [] });
    const fake = createFakeNftRunner((args) =>
      args[1] === "list" ? setsJson(`postern firewall ${digest}`) : "",
    );
    const r = await createApplier({ runner: fake }).apply(defaultSettings());
    assert.equal(r.changed, false);
    assert.deepEqual(
      fake.calls.map((c) => c.args[0]),
      ["-j"],
    );
  });
  it("loads the script plus the carried bypass elements when the digest differs", async () => {
    const elems = [{ elem: { val: "10.0.0.2", timeout: 60, expires: 42 } }, "10.0.0.3"];
    const fake = createFakeNftRunner((args) =>
      args[1] === "list" ? setsJson("postern firewall 00", elems) : "",
    );
    const r = await createApplier({ runner: fake }).apply(defaultSettings());
    assert.equal(r.changed, true);
    assert.equal(r.keptPeers, 2);
    const load = fake.calls.find((c) => c.args[0] === "-f");
    assert.match(
      load?.input ?? "",
      /add element inet postern bypass4 \{ 10\.0\.0\.2 timeout 42s \}\nadd element inet postern bypass4 \{ 10\.0\.0\.3 \}\n$/,
    );
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
