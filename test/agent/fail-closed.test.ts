/**
 * Fail closed outbound (issue 14): whatever happens to the agent, packets its policy says
 * to protect never leave in clear. The script, with real processes in two namespaces:
 *   1. host A runs `postern agent` with one rule protecting all traffic with B
 *      (ESP[AES128GCM], inpass=no, soft=no); B runs no agent;
 *   2. the agent is killed with SIGKILL: its TUN goes, its ip rule and nftables chains stay;
 *   3. for 10 s A sends UDP and pings to B while tcpdump captures on B's veth: the first
 *      5 s meet the prohibit route of table 7050, then that route is deleted by hand and
 *      the last 5 s meet chain protect_out (each layer alone keeps the wire clean);
 *   4. nothing from A reached B's wire; the drop counter of protect_out counted;
 *   5. a new agent starts over the stale state, and its clean stop removes its chains.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { readPcap } from "../datapath/pcap.js";
import { needsRoot } from "../helpers/cli.js";
import { captureOnB, stopChild, waitOutput } from "../helpers/host-pair.js";
import { ADDR_A, ADDR_B, createLab, type Lab, p2pPolicy } from "./lab.js";

const MARKER = "postern-fail-closed-marker";
const UDP_PORT = 7200;

/** Sends one UDP datagram to B every 100 ms for `ms`; prints how many sends failed. */
const SENDER = `const s=require("dgram").createSocket("udp4");let sent=0,failed=0;const t=setInterval(()=>s.send(Buffer.from(process.argv[1]),${UDP_PORT},"${ADDR_B}",e=>{e?failed++:sent++}),100);setTimeout(()=>{clearInterval(t);setTimeout(()=>{console.log(sent+" sent "+failed+" failed");process.exit(0)},200)},Number(process.argv[2]))`;

describe("fail closed outbound: kill -9 of the agent leaks no cleartext", needsRoot(), () => {
  let lab: Lab;
  before(() => {
    lab = createLab("pfc");
  });
  after(() => lab?.destroy());

  it("after SIGKILL, 10 s of UDP and ping to the protected peer: nothing on the wire", async () => {
    const home = await lab.home("a", p2pPolicy(ADDR_B, "ESP[AES128GCM,None]", "k"));
    const a = await lab.startAgent(lab.nsA, home, ["--ike-retransmit", "200,2"]);
    a.proc.kill("SIGKILL");
    await a.exited;
    assert.doesNotMatch(lab.exec(lab.nsA, ["ip", "link"]).out, /postern0/, "the TUN is gone");
    assert.match(lab.exec(lab.nsA, ["ip", "rule"]).out, /fwmark 0x7050 lookup 7050/);

    const pcap = path.join(lab.dir, "killed.pcap");
    const dump = captureOnB(lab, pcap);
    try {
      assert.ok(await waitOutput(dump, "listening on", 10_000), "tcpdump started");
      // Layer 1: the prohibit route behind the TUN's (the sender sees EACCES).
      const ping1 = lab.spawnIn(lab.nsA, ["ping", "-c", "10", "-i", "0.5", "-W", "1", ADDR_B]);
      const udp1 = lab.exec(lab.nsA, [process.execPath, "-e", SENDER, MARKER, "5000"], 20_000);
      assert.match(udp1.out, /^0 sent \d+ failed/, udp1.out + udp1.err);
      // Layer 2 alone: without the route, marked packets take the main table and meet
      // chain protect_out, which drops them before they leave by the veth.
      lab.exec(lab.nsA, ["ip", "route", "del", "prohibit", "default", "table", "7050"]);
      assert.equal(lab.exec(lab.nsA, ["ip", "route", "show", "table", "7050"]).out.trim(), "");
      const udp2 = lab.exec(lab.nsA, [process.execPath, "-e", SENDER, MARKER, "5000"], 20_000);
      assert.equal(udp2.code, 0, udp2.err);
      await stopChild(ping1);
      const chain = lab.exec(lab.nsA, ["nft", "list", "chain", "inet", "postern", "protect_out"]);
      const dropped = Number(/counter packets (\d+)/.exec(chain.out)?.[1] ?? -1);
      assert.ok(dropped >= 40, `protect_out dropped ${dropped}: ${chain.out}`);
      // The capture works: B's own (unanswered) echo requests are on it.
      lab.exec(lab.nsB, ["ping", "-c", "2", "-i", "0.2", "-W", "1", ADDR_A], 10_000);
    } finally {
      await stopChild(dump);
    }
    const all = readPcap(pcap);
    assert.ok(all.filter((f) => f.src === ADDR_B && f.protocol === 1).length >= 2, "capture ran");
    const frames = all.filter((f) => f.src === ADDR_A);
    const clear = frames.filter(
      (f) => f.ipPayload.includes(MARKER) || f.protocol === 1 || f.dstPort === UDP_PORT,
    );
    assert.equal(clear.length, 0, `cleartext frames from A: ${clear.length}`);
    assert.equal(frames.length, 0, `frames from A on B's wire: ${frames.length}`);

    // A new agent starts over the stale state; its clean stop removes its chains.
    const again = await lab.startAgent(lab.nsA, home, ["--ike-retransmit", "200,2"]);
    assert.match(
      lab.exec(lab.nsA, ["ip", "route", "show", "table", "7050"]).out,
      /prohibit default/,
    );
    assert.equal(await lab.stopAgent(again), 0);
    const left = lab.exec(lab.nsA, ["nft", "list", "table", "inet", "postern"]).out;
    assert.doesNotMatch(left, /chain (spd_out|protect_out|ipsec_in)/, left);
    assert.doesNotMatch(lab.exec(lab.nsA, ["ip", "rule"]).out, /lookup 7050/);
  });
});
