/**
 * The one owner of table inet postern (platform/nftables.ts): every part's chains in one
 * table, each write one transaction that replaces only the parts it names. Pure scripts
 * first, then the same scripts loaded into a real namespace: a firewall change from the CLI
 * leaves the agent's steering and guard in place, stale tables of older versions go, and
 * the agent's start-up empties the bypass sets.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { guardChains, guardRuleset } from "../../src/agent/inbound-guard.js";
import { DEFAULT_STEERING, steeringChains, steeringRuleset } from "../../src/datapath/steering.js";
import type { TrafficSelector } from "../../src/esp/sa.js";
import { createApplier } from "../../src/firewall/apply.js";
import { clearBypassPeers, createBypassSet } from "../../src/firewall/bypass.js";
import { compileRuleset } from "../../src/firewall/compile.js";
import { defaultSettings } from "../../src/firewall/model.js";
import { createNftRunner } from "../../src/firewall/nft.js";
import { createNetConfig } from "../../src/platform/routing.js";
import { createFakeNftRunner } from "../../src/platform/commands.js";
import { createNftTable, TablePlanError, tableScript } from "../../src/platform/nftables.js";
import { needsRoot, uniqueName } from "../helpers/cli.js";
import { inNs, sh } from "./netns.js";

const TS: TrafficSelector = {
  local: "192.0.2.1/32",
  remote: "192.0.2.2/32",
  protocol: 17,
  localPorts: [0, 65535],
  remotePorts: [9, 9],
};
const STEER = { ...DEFAULT_STEERING, listenPort: 4500 };

describe("table inet postern: one owner, one transaction per write (pure)", () => {
  it("a plan of three parts is one script: one table, every chain of every part", () => {
    const fw = compileRuleset({ settings: defaultSettings(), localSubnets: [] });
    const script = tableScript({
      firewall: fw.chains,
      steering: steeringChains(STEER, [TS]),
      guard: guardChains("postern0", [TS], []),
    });
    for (const c of ["input", "output", "spd_out", "protect_out", "ipsec_in"]) {
      assert.match(script, new RegExp(`delete chain inet postern ${c}\\n`));
      assert.match(script, new RegExp(`\\n {2}chain ${c} \\{\\n {4}type`));
    }
    assert.doesNotMatch(script, /table inet postern_(dp|agent_in) \{\n/, "no other table made");
    assert.match(script, /table inet postern_dp \{\}\ndelete table inet postern_dp\n/);
    assert.match(script, /table inet postern_agent_in \{\}\ndelete table inet postern_agent_in\n/);
  });
  it("a part cannot write a chain it does not own", () => {
    assert.throws(
      () => tableScript({ guard: [{ name: "input", rules: ["accept"] }] }),
      (e: unknown) =>
        e instanceof TablePlanError && /part guard emitted chain 'input'/.test(e.message),
    );
  });
  it("null removes a part: its chains are deleted and not added again", () => {
    const script = tableScript({ steering: null });
    assert.match(script, /delete chain inet postern spd_out\n/);
    assert.match(script, /delete chain inet postern protect_out\n/);
    assert.doesNotMatch(script, /chain spd_out \{\n/);
  });
  it("steering drops marked packets that would leave by another device than the TUN", () => {
    const text = steeringRuleset(STEER, [TS]);
    assert.match(text, /type filter hook postrouting priority filter; policy accept;/);
    assert.match(text, /meta mark 0x7050 oifname != "postern0" counter drop/);
  });
  it("createNftTable writes a plan of several parts as one nft -f call", async () => {
    const fake = createFakeNftRunner();
    const fw = compileRuleset({ settings: defaultSettings(), localSubnets: [] });
    await createNftTable(fake).write({
      firewall: fw.chains,
      steering: steeringChains(STEER, [TS]),
      guard: guardChains("postern0", [TS], []),
    });
    assert.equal(fake.calls.length, 1);
    assert.deepEqual(fake.calls[0]?.args, ["-f", "-"]);
    assert.match(
      fake.calls[0]?.input ?? "",
      /chain input \{[\s\S]*chain spd_out \{[\s\S]*chain ipsec_in \{/,
    );
  });
  it("the guard is a base chain before the firewall's input (priority -1)", () => {
    assert.match(guardRuleset("postern0", [TS], []), /type filter hook input priority -1;/);
  });
});

describe("table inet postern in a real namespace", needsRoot(), () => {
  let ns: string;
  const nft = (args: string[]) => inNs(ns, ["nft", ...args]);
  before(() => {
    ns = uniqueName("ptbl");
    sh(["ip", "netns", "add", ns]);
  });
  after(() => {
    if (ns) sh(["ip", "netns", "del", ns]);
  });

  it("a firewall change (the CLI's) keeps the agent's chains and the bypass elements", async () => {
    const runner = createNftRunner({ netns: ns });
    const net = createNetConfig({ netns: ns });
    net.nft(steeringRuleset(STEER, [TS]));
    net.nft(guardRuleset("postern0", [TS], []));
    await createBypassSet(runner).addBypassPeer("192.0.2.7", 300);
    const applier = createApplier({ runner });
    const first = await applier.apply(defaultSettings());
    const s = defaultSettings();
    s.profiles.standard.icmp["8"] = true;
    const second = await applier.apply(s);
    assert.equal(second.changed, true);
    assert.notEqual(second.digest, first.digest);
    assert.equal(second.keptPeers, 1);
    const listing = nft(["list", "table", "inet", "postern"]);
    for (const c of ["input", "output", "spd_out", "protect_out", "ipsec_in"])
      assert.match(listing, new RegExp(`chain ${c} \\{`), listing);
    assert.match(listing, /ip saddr 192\.0\.2\.1 ip daddr 192\.0\.2\.2 udp dport 9 meta mark set/);
    assert.match(listing, /elements = \{ 192\.0\.2\.7 /);
    assert.equal(await applier.loadedDigest(), second.digest);
    assert.doesNotMatch(nft(["list", "tables"]), /postern_dp|postern_agent_in/);
  });

  it("stale tables of older versions are removed by the next write", () => {
    sh(
      ["ip", "netns", "exec", ns, "nft", "-f", "-"],
      "table inet postern_dp {\n chain spd_out {\n }\n}\ntable inet postern_agent_in {\n}\n",
    );
    assert.match(nft(["list", "tables"]), /postern_dp/);
    createNetConfig({ netns: ns }).nft(guardRuleset("postern0", [TS], []));
    assert.doesNotMatch(nft(["list", "tables"]), /postern_dp|postern_agent_in/);
  });

  it("start-up empties the bypass sets; the rest of the table stays", async () => {
    const runner = createNftRunner({ netns: ns });
    await createBypassSet(runner).addBypassPeer("192.0.2.8", 0);
    await clearBypassPeers(runner);
    assert.deepEqual(await createBypassSet(runner).listBypassPeers(), []);
    assert.match(nft(["list", "table", "inet", "postern"]), /chain spd_out \{/);
  });

  it("a bypass peer written where the table does not exist yet creates it", async (t) => {
    const fresh = uniqueName("pfb");
    sh(["ip", "netns", "add", fresh]);
    t.after(() => sh(["ip", "netns", "del", fresh]));
    const set = createBypassSet(createNftRunner({ netns: fresh }));
    await set.addBypassPeer("192.0.2.9", 300);
    await set.addBypassPeer("192.0.2.9", 600);
    const peers = await set.listBypassPeers();
    assert.deepEqual(
      peers.map((p) => p.address),
      ["192.0.2.9"],
    );
    assert.ok((peers[0]?.expiresSec ?? 0) > 300, "the second write refreshed the timeout");
  });

  it("a clean stop removes the agent's parts and leaves the firewall's", async () => {
    const net = createNetConfig({ netns: ns });
    net.nft(tableScript({ steering: null }));
    net.nft(tableScript({ guard: null }));
    const listing = nft(["list", "table", "inet", "postern"]);
    assert.doesNotMatch(listing, /chain (spd_out|protect_out|ipsec_in)/);
    assert.match(listing, /chain input \{/);
  });
});
