/**
 * Issue 16 item 2's option, as root in namespaces: `postern firewall refused-response
 * reject` answers a peer whose packets came out of an SA (the TUN, here a veth named
 * postern0) and meet no exception with a TCP RST or ICMP administratively prohibited, so
 * its connect fails at once; the same packets in cleartext, and everything with the
 * default (drop, as Windows), still wait out their timeout.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { needsRoot, runBin, tempHome } from "../helpers/cli.js";
import { ADDR, SERVER4, SERVER6_TUN, SERVER_TUN } from "./cases.js";
import { createTopology, inNs, type PeerProc, startPeer, type Topology } from "./netns.js";

describe("refused-response reject: authenticated peers told at once", needsRoot(), () => {
  let topo: Topology;
  let a: PeerProc;
  let b: PeerProc;
  let home: { dir: string; cleanup: () => void };
  const fw = (...args: string[]) =>
    runBin(["--home", home.dir, "firewall", ...args], { env: { POSTERN_NETNS: topo.a } });
  const probe = (op: "tcp" | "udp", host: string, port: number, timeoutMs = 1500) =>
    b.probe({ op, host, port, local: host.includes(":") ? undefined : ADDR.peer, timeoutMs });

  before(async () => {
    topo = createTopology();
    home = tempHome("pfwrej");
    a = await startPeer(topo.a, ["tcp=81", "udp=5301"]);
    b = await startPeer(topo.b, ["tcp=7000"]);
    assert.equal(fw("apply").code, 0);
  });
  after(() => {
    a?.stop();
    b?.stop();
    topo?.cleanup();
    home?.cleanup();
  });

  it("off (the default): an authenticated peer's connect times out, as on Windows", async () => {
    assert.deepEqual(await probe("tcp", SERVER_TUN, 81), { ok: false, error: "timeout" });
  });

  it("reject: TCP from the SA gets a RST (ECONNREFUSED), UDP an ICMP 3/13 (EHOSTUNREACH), at once", async () => {
    const r = fw("refused-response", "reject");
    assert.equal(r.code, 0, r.err);
    const rules = inNs(topo.a, ["nft", "list", "chain", "inet", "postern", "input"]);
    assert.match(rules, /iifname "postern0" meta l4proto tcp reject with tcp reset/);
    assert.deepEqual(await probe("tcp", SERVER_TUN, 81, 5000), {
      ok: false,
      error: "ECONNREFUSED",
    });
    assert.deepEqual(await probe("tcp", SERVER6_TUN, 81, 5000), {
      ok: false,
      error: "ECONNREFUSED",
    });
    const udp = await probe("udp", SERVER_TUN, 5301, 5000);
    assert.equal(udp.ok, false);
    assert.equal(udp.error, "EHOSTUNREACH");
  });

  it("reject never answers cleartext (unauthenticated) traffic: it still times out", async () => {
    assert.deepEqual(await probe("tcp", SERVER4, 81), { ok: false, error: "timeout" });
  });

  it("back to drop: silence again; a bad mode is one line, settings unchanged", async () => {
    const file = path.join(home.dir, "firewall", "settings.json");
    const before = fs.readFileSync(file, "utf8");
    const bad = fw("refused-response", "loud");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /refused-response: 'loud' is not drop or reject/);
    assert.equal(bad.err.trim().split("\n").length, 1);
    assert.equal(fs.readFileSync(file, "utf8"), before);
    assert.equal(fw("refused-response", "drop").code, 0);
    assert.deepEqual(await probe("tcp", SERVER_TUN, 81), { ok: false, error: "timeout" });
  });
});
