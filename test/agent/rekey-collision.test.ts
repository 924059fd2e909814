/**
 * Rekey collisions with real agents (two namespaces, postern to postern, netsh PSK policy,
 * RFC 7296 §2.8.1): the child SA's byte lifetime is the policy's minimum (20480 KB, soft at
 * 90 %), and a flood ping carries the same bytes both ways, so both data paths report the
 * soft limit within a round trip and both agents rekey the child SA at once. After it: one
 * IKE SA and one child SA pair on each side, the same SPIs, and traffic still answered.
 * Whether the rekeys collided (both requests crossed) is reported as a diagnostic: a side
 * whose own rekey finished first answers the other TEMPORARY_FAILURE, also one pair.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cli, needsRoot } from "../helpers/cli.js";
import { ADDR_A, ADDR_B, type Agent, createLab, type Lab, p2pPolicy } from "./lab.js";

interface Stats {
  sas: { spi: string; direction: string }[];
  ike: { sas: { state: string; spis: string; children: number[] }[] };
  acquire: Record<string, number>;
  peers: Record<string, string>;
}

async function stats(a: Agent): Promise<Stats> {
  const r = await cli(a.home, "--json", "agent", "stats");
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Stats;
}

describe("rekey collisions between two agents (RFC 7296 §2.8.1)", needsRoot(), () => {
  let lab: Lab;
  before(() => {
    lab = createLab("prk");
  });
  after(() => lab?.destroy());

  it("both agents reach the byte lifetime together: one IKE SA and one child SA pair after", async (t) => {
    const qm = "ESP[AES128GCM,None]:20480k/3600s";
    const a = await lab.startAgent(lab.nsA, await lab.home("a", p2pPolicy(ADDR_B, qm, "rk")));
    const b = await lab.startAgent(lab.nsB, await lab.home("b", p2pPolicy(ADDR_A, qm, "rk")));
    try {
      const first = lab.exec(lab.nsA, ["ping", "-c", "2", "-W", "3", ADDR_B], 20_000);
      assert.match(first.out, / [12] received/, first.out + a.out());
      const before = await stats(a);
      // 16,000 packets of 1228 bytes (under the TUN's MTU) = 19.6 MB each way: past the
      // soft limit (18.9 MB), short of the hard one (21.0 MB); -w bounds the run.
      const flood = lab.exec(
        lab.nsA,
        ["ping", "-f", "-q", "-s", "1200", "-c", "16000", "-w", "120", ADDR_B],
        150_000,
      );
      t.diagnostic(flood.out.trim().split("\n").slice(-2).join(" | "));
      await new Promise((r) => setTimeout(r, 2000));
      const last = lab.exec(lab.nsA, ["ping", "-c", "2", "-W", "3", ADDR_B], 20_000);
      assert.match(last.out, / [12] received/, `${last.out}\n${a.out()}`);
      const sa = await stats(a);
      const sb = await stats(b);
      const logs = `${a.out()}\n${b.out()}`;
      for (const [n, s] of [["A", sa] as const, ["B", sb] as const])
        t.diagnostic(`${n}: acquire ${JSON.stringify(s.acquire)} peers ${JSON.stringify(s.peers)}`);
      assert.match(logs, /soft byte lifetime reached, rekeying/);
      const up = (s: Stats) => s.ike.sas.filter((x) => x.state === "established");
      const ikeSas = `A: ${JSON.stringify(sa.ike.sas)}\nB: ${JSON.stringify(sb.ike.sas)}\n${logs}`;
      assert.equal(up(sa).length, 1, ikeSas);
      assert.equal(up(sb).length, 1, ikeSas);
      assert.equal(up(sa)[0]?.spis, up(sb)[0]?.spis);
      // B answered the IKE SA: its child SAs count for the peer its own ACQUIRE would name,
      // so a packet of B's that meets a gap does not start a second IKE SA.
      assert.deepEqual(sb.peers, { "rule1>192.0.2.1": "up" }, JSON.stringify(sb.peers));
      assert.equal(sa.sas.length, 2, `one pair on A: ${JSON.stringify(sa.sas)}`);
      assert.equal(sb.sas.length, 2, `one pair on B: ${JSON.stringify(sb.sas)}`);
      const spis = (s: Stats) => s.sas.map((x) => x.spi).sort();
      assert.deepEqual(spis(sa), spis(sb), "the same pair on both sides");
      assert.notDeepEqual(spis(sa), spis(before), "the child SA was rekeyed");
      const collided = /rekey collision on child SA/.test(logs);
      const refused = /which we are deleting: TEMPORARY_FAILURE|CHILD_SA_NOT_FOUND/.test(logs);
      t.diagnostic(
        collided
          ? "the two rekeys collided; the redundant new SA was deleted by its creator"
          : refused
            ? "one rekey finished first; the other was answered TEMPORARY_FAILURE / CHILD_SA_NOT_FOUND"
            : "only one side rekeyed this run",
      );
    } finally {
      assert.equal(await lab.stopAgent(b), 0);
      assert.equal(await lab.stopAgent(a), 0);
    }
  });
});
