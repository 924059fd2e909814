/**
 * postern to postern, for real: two namespaces joined by a veth, a `postern agent` in
 * each with manually keyed SAs, ping and TCP through transport-mode ESP in UDP 4500, a
 * capture on the veth showing what the wire carries, and the agents' counters.
 */
import * as assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { cli, needsRoot } from "../helpers/cli.js";
import { ADDR_A, ADDR_B, type Agent, createLab, keyingPair, type Lab } from "./lab.js";
import { readPcap } from "./pcap.js";

const GCM_KEY = { encKey: "6a1f0c2e9b8d7a65544332211f0e0d0c0b0a0908" };
const SIGN_KEY = { authKey: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" };
const MARKER = "postern-cleartext-marker";
const TCP_PORT = 7000;

const ECHO_SERVER = `const s=require("net").createServer(c=>c.on("data",d=>c.write(d.toString().toUpperCase())));s.listen(${TCP_PORT},"${ADDR_B}",()=>console.log("listening"));setTimeout(()=>process.exit(0),60000)`;
const CLIENT = `const total=Number(process.argv[2]);const msg=Buffer.from(process.argv[1].repeat(Math.ceil(total/process.argv[1].length)).slice(0,total));let got=0;let first="";const c=require("net").connect(${TCP_PORT},"${ADDR_B}",()=>c.write(msg));c.on("data",d=>{if(!first)first=d.toString().slice(0,40);got+=d.length;if(got>=total){console.log(got+" "+first);c.end();process.exit(0)}});c.on("error",e=>{console.log("error "+e.message);process.exit(2)});setTimeout(()=>{console.log("timeout "+got);process.exit(3)},15000)`;

async function waitFor(proc: ChildProcess, text: string, ms: number): Promise<boolean> {
  let seen = "";
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    const on = (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(t);
        resolve(true);
      }
    };
    proc.stdout?.on("data", on);
    proc.stderr?.on("data", on);
  });
}

async function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const done = new Promise((r) => p.once("exit", r));
  p.kill("SIGINT");
  const t = setTimeout(() => p.kill("SIGKILL"), 5000);
  await done;
  clearTimeout(t);
}

interface Stats {
  drops: { inbound: Record<string, number>; outbound: Record<string, number> };
  sas: { spi: string; direction: string; packets: number; bytes: number }[];
}

async function stats(a: Agent): Promise<Stats> {
  const r = await cli(a.home, "--json", "agent", "stats");
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Stats;
}

describe(
  "postern agent to postern agent, transport mode, manual keys (two namespaces)",
  needsRoot(),
  () => {
    let lab: Lab;
    before(() => {
      lab = createLab();
    });
    after(() => lab?.destroy());

    for (const [action, transform, keys] of [
      ["encrypt", "aes128gcm16", GCM_KEY],
      ["sign", "null-sha256", SIGN_KEY],
    ] as const) {
      it(`"${action}" (${transform}): ping and TCP go through ESP in UDP 4500 (RFC 4303, RFC 3948)`, async () => {
        const k = keyingPair(transform, keys);
        const a = await lab.startAgent(lab.nsA, k.a, `${action}-a`);
        const b = await lab.startAgent(lab.nsB, k.b, `${action}-b`);
        const pcap = path.join(lab.dir, `${action}.pcap`);
        const dump = lab.spawnIn(lab.nsB, [
          "tcpdump",
          "-i",
          lab.vethB,
          "-n",
          "-U",
          "-w",
          pcap,
          "ip",
        ]);
        const server = lab.spawnIn(lab.nsB, [process.execPath, "-e", ECHO_SERVER]);
        try {
          assert.ok(await waitFor(dump, "listening on", 10_000), "tcpdump started");
          assert.ok(await waitFor(server, "listening", 10_000), "echo server started");

          // The narrated script: A pings B, then sends 200 kB over TCP and gets it back uppercased.
          const ping = lab.exec(lab.nsA, ["ping", "-c", "3", "-i", "0.2", "-W", "2", ADDR_B]);
          assert.equal(ping.code, 0, ping.out + ping.err);
          assert.match(ping.out, /3 received/);
          const tcp = lab.exec(lab.nsA, [process.execPath, "-e", CLIENT, MARKER, "200000"], 30_000);
          assert.equal(tcp.code, 0, tcp.out + tcp.err);
          assert.match(tcp.out, new RegExp(`^200000 ${MARKER.toUpperCase()}`));

          // SIGUSR1 writes the same counters to <home>/agent/stats.json.
          a.proc.kill("SIGUSR1");
          const statsFile = path.join(a.home, "agent", "stats.json");
          for (let i = 0; i < 50 && !fs.existsSync(statsFile); i++)
            await new Promise((r) => setTimeout(r, 100));
          assert.ok(fs.existsSync(statsFile), "stats.json written on SIGUSR1");

          const sa = await stats(a);
          const sb = await stats(b);
          const out = sa.sas.find((s) => s.direction === "out");
          const inB = sb.sas.find((s) => s.direction === "in");
          assert.ok(out && out.packets > 100 && out.bytes > 200_000, JSON.stringify(out));
          assert.equal(inB?.packets, out.packets, "every packet A sealed was opened by B");
          for (const reason of ["auth_failed", "replay", "malformed", "policy_mismatch", "no_sa"]) {
            assert.equal(sb.drops.inbound[reason], 0, `B drops ${reason}`);
          }
        } finally {
          await stopProc(server);
          await stopProc(dump);
          assert.equal(await lab.stopAgent(a), 0);
          assert.equal(await lab.stopAgent(b), 0);
        }

        // The wire between A and B carried UDP 4500 and nothing in clear.
        const frames = readPcap(pcap).filter(
          (f) => [f.src, f.dst].sort().join() === [ADDR_A, ADDR_B].sort().join(),
        );
        const esp = frames.filter(
          (f) => f.protocol === 17 && f.srcPort === 4500 && f.dstPort === 4500,
        );
        const clear = frames.filter((f) => f.protocol === 1 || f.protocol === 6);
        assert.ok(esp.length > 100, `ESP-in-UDP frames: ${esp.length}`);
        assert.equal(clear.length, 0, "no ICMP or TCP in clear on the wire");
        const withMarker = frames.filter((f) => f.raw.includes(MARKER));
        if (action === "encrypt")
          assert.equal(withMarker.length, 0, "the payload never appears in clear");
        else {
          // NULL encryption (RFC 2410): readable, but only inside authenticated ESP.
          assert.ok(withMarker.length > 0);
          assert.ok(withMarker.every((f) => f.protocol === 17 && f.dstPort === 4500));
        }
        // The agent removed its steering when it stopped.
        assert.doesNotMatch(lab.exec(lab.nsA, ["nft", "list", "tables"]).out, /postern_dp/);
        assert.doesNotMatch(lab.exec(lab.nsA, ["ip", "rule"]).out, /fwmark/);
      });
    }

    it("a wrong key on B: nothing gets through and B counts auth_failed drops (RFC 4303 §3.4.4)", async () => {
      const k = keyingPair("aes128gcm16", GCM_KEY, { bKeys: { encKey: "ff".repeat(20) } });
      const a = await lab.startAgent(lab.nsA, k.a, "wrong-a");
      const b = await lab.startAgent(lab.nsB, k.b, "wrong-b");
      try {
        const ping = lab.exec(lab.nsA, ["ping", "-c", "2", "-i", "0.2", "-W", "1", ADDR_B]);
        assert.notEqual(ping.code, 0);
        const sb = await stats(b);
        assert.ok((sb.drops.inbound.auth_failed ?? 0) >= 2, JSON.stringify(sb.drops.inbound));
        assert.equal(sb.sas.find((s) => s.direction === "in")?.packets, 0);
      } finally {
        assert.equal(await lab.stopAgent(a), 0);
        assert.equal(await lab.stopAgent(b), 0);
      }
    });
  },
);
