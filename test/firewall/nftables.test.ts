/**
 * The shared cases (cases.ts) against real nftables: the compiled ruleset is loaded in
 * namespace A and namespace B sends real TCP, UDP and ICMP to it. Plus what only the real
 * engine can show: re-applying changes nothing, the bypass API works without a reload.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { createApplier } from "../../src/firewall/apply.js";
import { createBypassSet } from "../../src/firewall/bypass.js";
import { defaultSettings } from "../../src/firewall/model.js";
import { createNftRunner } from "../../src/firewall/nft.js";
import { needsRoot } from "../helpers/cli.js";
import {
  ADDR,
  CASES,
  type FwCase,
  SERVER4,
  SERVER6,
  SERVER_BP,
  SERVER_TUN,
  SERVER6_BP,
  SERVER6_TUN,
  settingsFor,
} from "./cases.js";
import { createTopology, inNs, type PeerProc, startPeer, type Topology } from "./netns.js";

const DROP_WAIT_MS = 600;

async function run(
  c: FwCase,
  topo: Topology,
  a: PeerProc,
  b: PeerProc,
): Promise<"accept" | "drop"> {
  const p = c.probe;
  switch (p.kind) {
    case "tcp":
    case "udp": {
      const v6 = p.from === "peer6";
      const host =
        p.via === "tun"
          ? v6
            ? SERVER6_TUN
            : SERVER_TUN
          : p.via === "bypass"
            ? v6
              ? SERVER6_BP
              : SERVER_BP
            : v6
              ? SERVER6
              : SERVER4;
      const r = await b.probe({
        op: p.kind,
        host,
        port: p.port,
        local: ADDR[p.from],
        timeoutMs: DROP_WAIT_MS,
      });
      return r.ok ? "accept" : "drop";
    }
    case "ping": {
      const v6 = p.from === "peer6";
      const r = spawnSync(
        "ip",
        [
          "netns",
          "exec",
          topo.b,
          "ping",
          v6 ? "-6" : "-4",
          "-c",
          "2",
          "-i",
          "0.2",
          "-W",
          "1",
          "-I",
          ADDR[p.from],
          v6 ? SERVER6 : SERVER4,
        ],
        { timeout: 10_000 },
      );
      return r.status === 0 ? "accept" : "drop";
    }
    case "outbound": {
      const port = p.proto === "tcp" ? 7000 : 7001;
      const r = await a.probe({
        op: p.proto,
        host: ADDR.peer,
        port,
        local: SERVER4,
        timeoutMs: DROP_WAIT_MS,
      });
      return r.ok ? "accept" : "drop";
    }
    case "udp-closed": {
      const r = await b.probe({
        op: "udp",
        host: SERVER4,
        port: 9,
        local: ADDR.peer,
        timeoutMs: DROP_WAIT_MS,
      });
      return r.error === "ECONNREFUSED" ? "accept" : "drop";
    }
  }
}

describe("firewall cases: real nftables between two namespaces", needsRoot(), () => {
  let topo: Topology;
  let a: PeerProc;
  let b: PeerProc;
  before(async () => {
    topo = createTopology();
    a = await startPeer(topo.a, ["tcp=80,81,53,8080,4500", "udp=53,8080,4500"]);
    b = await startPeer(topo.b, ["tcp=7000", "udp=7001"]);
  });
  after(() => {
    a?.stop();
    b?.stop();
    topo?.cleanup();
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const runner = createNftRunner({ netns: topo.a });
      const applier = createApplier({ runner });
      await applier.remove();
      await applier.apply(settingsFor(c));
      const set = createBypassSet(runner);
      for (const peer of c.bypass ?? []) await set.addBypassPeer(peer, 60);
      assert.equal(await run(c, topo, a, b), c.expect);
    });
  }

  it("re-applying the same settings changes nothing (nft list table before = after)", async () => {
    const runner = createNftRunner({ netns: topo.a });
    const applier = createApplier({ runner });
    const s = defaultSettings();
    s.profiles.standard.portOpenings.push({
      protocol: "tcp",
      port: 80,
      name: "web",
      enabled: true,
      scope: "subnet",
      addresses: [],
    });
    s.profiles.standard.icmp["8"] = true;
    await applier.remove();
    assert.equal((await applier.apply(s)).changed, true);
    const before = inNs(topo.a, ["nft", "list", "table", "inet", "postern"]);
    assert.equal((await applier.apply(s)).changed, false);
    const again = inNs(topo.a, ["nft", "list", "table", "inet", "postern"]);
    assert.equal(again, before);
    assert.equal((await applier.apply(s, { force: true })).changed, true);
    assert.equal(inNs(topo.a, ["nft", "list", "table", "inet", "postern"]), before);
  });

  it("a new ruleset keeps the bypass peers; the bypass API needs no reload", async () => {
    const runner = createNftRunner({ netns: topo.a });
    const applier = createApplier({ runner });
    const set = createBypassSet(runner);
    await applier.remove();
    await applier.apply(defaultSettings());
    await set.addBypassPeer("10.31.1.2", 300);
    await set.addBypassPeer("fd00:31:1::2", 0);
    const digest = await applier.loadedDigest();
    assert.deepEqual((await set.listBypassPeers()).map((p) => p.address).sort(), [
      "10.31.1.2",
      "fd00:31:1::2",
    ]);
    assert.equal(await applier.loadedDigest(), digest, "adding peers did not reload the ruleset");
    const s = defaultSettings();
    s.profiles.standard.icmp["8"] = true;
    const r = await applier.apply(s);
    assert.equal(r.keptPeers, 2);
    const peers = await set.listBypassPeers();
    const v4 = peers.find((p) => p.address === "10.31.1.2");
    assert.ok(v4 && v4.expiresSec !== null && v4.expiresSec <= 300 && v4.expiresSec > 0);
    assert.equal(peers.find((p) => p.address === "fd00:31:1::2")?.expiresSec, null);
    await set.removeBypassPeer("10.31.1.2");
    await set.removeBypassPeer("10.31.1.2"); // removing an absent peer is not an error
    assert.deepEqual(
      (await set.listBypassPeers()).map((p) => p.address),
      ["fd00:31:1::2"],
    );
    const probe = await b.probe({
      op: "tcp",
      host: SERVER_TUN,
      port: 81,
      local: ADDR.peer,
      timeoutMs: DROP_WAIT_MS,
    });
    assert.equal(probe.ok, false, "a removed peer no longer bypasses");
  });
});
