/**
 * UDP GSO when the device on the route to the peer has no checksum offload (A's veth with
 * transmit checksumming turned off by ethtool). Older kernels refuse such a send with EIO
 * (the worker then sends the run datagram by datagram and stops using GSO, packet-io.ts);
 * this one (6.x, "UDP GSO from devices with no checksum offload") takes it and checksums
 * each segment in software. Either way every datagram must reach B as valid ESP in UDP:
 * that is what this checks. The EIO branch itself is not reached on this kernel.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cli, needsRoot } from "../helpers/cli.js";
import { echoClientScript, echoServerScript, stopChild, waitOutput } from "../helpers/host-pair.js";
import { type Agent, createLab, keyingPair, type Lab } from "./lab.js";

const TCP_PORT = 7001;
const MARKER = "gso-fallback";

interface Stats {
  drops: { inbound: Record<string, number>; outbound: Record<string, number> };
  sas: { direction: string; packets: number }[];
  info: Record<string, number>;
}

async function stats(a: Agent): Promise<Stats> {
  const r = await cli(a.home, "--json", "agent", "stats");
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Stats;
}

describe("UDP GSO through a device without checksum offload (two namespaces)", needsRoot(), () => {
  let lab: Lab;
  before(() => {
    lab = createLab();
  });
  after(() => lab?.destroy());

  it("A's runs of ESP datagrams reach B with valid UDP checksums: B opens every packet, TCP completes", async () => {
    const off = lab.exec(lab.nsA, ["ethtool", "-K", lab.vethA, "tx", "off"]);
    assert.equal(off.code, 0, off.out + off.err);
    const k = keyingPair("aes128gcm16", { encKey: "6a1f0c2e9b8d7a65544332211f0e0d0c0b0a0908" });
    const a = await lab.startAgent(lab.nsA, k.a, "gso-a");
    const b = await lab.startAgent(lab.nsB, k.b, "gso-b");
    const server = lab.spawnIn(lab.nsB, [process.execPath, "-e", echoServerScript(TCP_PORT)]);
    try {
      assert.ok(await waitOutput(server, "listening", 10_000), "echo server started");
      const tcp = lab.exec(
        lab.nsA,
        [process.execPath, "-e", echoClientScript(TCP_PORT), MARKER, "300000"],
        30_000,
      );
      assert.equal(tcp.code, 0, tcp.out + tcp.err + a.out());
      assert.match(tcp.out, /^300000 GSO-FALLBACK/);
      // A's last segments may still be on their way: read both sides again until B has
      // opened what A sealed (bounded: 20 reads, 100 ms apart).
      let sa = await stats(a);
      let sb = await stats(b);
      const outOf = (x: Stats) => x.sas.find((s) => s.direction === "out");
      const inOf = (x: Stats) => x.sas.find((s) => s.direction === "in");
      for (let i = 0; i < 20 && inOf(sb)?.packets !== outOf(sa)?.packets; i++) {
        await new Promise((r) => setTimeout(r, 100));
        sa = await stats(a);
        sb = await stats(b);
      }
      const out = outOf(sa);
      const inB = inOf(sb);
      assert.ok((out?.packets ?? 0) > 200, JSON.stringify(sa.sas));
      assert.equal(inB?.packets, out?.packets, "every packet A sealed was opened by B");
      assert.equal(sa.drops.outbound.send_failed, 0, "no run was lost");
      for (const reason of ["auth_failed", "malformed", "replay", "no_sa"])
        assert.equal(sb.drops.inbound[reason], 0, `B drops ${reason}`);
      assert.ok((sb.info.udp_gso_sends ?? 0) > 0, "B's replies left as UDP GSO");
    } finally {
      await stopChild(server);
      assert.equal(await lab.stopAgent(a), 0);
      assert.equal(await lab.stopAgent(b), 0);
    }
  });
});
