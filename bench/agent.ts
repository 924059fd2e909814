/**
 * The agent end to end, in one run on one veth between two namespaces:
 *   1. iperf3 TCP over the plain veth (the limit)
 *   2. postern agent <-> postern agent, policy from `netsh ipsec static` (PSK,
 *      ESP[AES128GCM,None]), the SA negotiated by IKEv2 on the first packet, transport mode
 *   3. strongSwan 5.9 <-> strongSwan, charon with kernel-libipsec (tunnel mode, the only
 *      one it has; ESP in UDP 4500), AES-GCM-16-128, between inner addresses
 *   4. memory: RSS of a `postern agent --manual-sa` with 1 SA pair and with 1,000 pairs
 * and the ping RTT of each path (20 echoes 50 ms apart, 40 echoes 5 ms apart: medians), so
 * the latency of a user-space data path is seen beside strongSwan's own (kernel-libipsec is
 * one too: TUN and threads).
 *
 *   node dist/bench/agent.js [--seconds 5] [--streams N]
 *
 * --streams N (2..8) measures every path twice in the same setup, with one iperf3 stream
 * and with N parallel ones (-P N), and prints the gain N streams / 1 stream per path: how
 * the data path scales with flows and cores (issue 18 item 4).
 *
 * Needs root, iperf3, charon. Prints a table and the ratios.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ADDR_B, createLab, type Lab, p2pPolicy } from "../test/agent/lab.js";
import * as dpLab from "../test/datapath/lab.js";
import { startCharon, waitFor } from "../test/ike/lab.js";
import { pingRtt } from "./iperf.js";

const INNER_A = "10.232.1.1";
const INNER_B = "10.232.2.1";

async function iperf(
  lab: Lab,
  to: string,
  from: string | null,
  seconds: number,
  streams = 1,
): Promise<number> {
  const server = lab.spawnIn(lab.nsB, ["iperf3", "-s", "-1", "-B", to]);
  await new Promise((r) => setTimeout(r, 500));
  const args = [
    "iperf3",
    "-c",
    to,
    "-t",
    String(seconds),
    "-P",
    String(streams),
    "-J",
    ...(from ? ["-B", from] : []),
  ];
  const r = lab.exec(lab.nsA, args, (seconds + 20) * 1000);
  server.kill("SIGKILL");
  try {
    const j = JSON.parse(r.out) as { end: { sum_received: { bits_per_second: number } } };
    return j.end.sum_received.bits_per_second / 1e9;
  } catch {
    throw new Error(`iperf3 failed: ${r.out.slice(0, 300)} ${r.err.slice(0, 300)}`);
  }
}

/** Ping RTT 50 ms and 5 ms apart (ms), median, from A (or `from`) to `to`. */
interface Rtt {
  cold: number;
  warm: number;
}

function rtt(lab: Lab, to: string, from?: string): Rtt {
  return { cold: pingRtt(lab, to, 20, "0.05", from), warm: pingRtt(lab, to, 40, "0.005", from) };
}

/** One path's results: Gbit/s per entry of `streams`, and its RTT. */
interface PathResult {
  gbps: number[];
  rtt: Rtt;
}

/** Gbit/s per entry of `streams` (iperf3 runs one after the other on the same SAs). */
async function postern(lab: Lab, seconds: number, streams: number[]): Promise<PathResult> {
  const qm = "ESP[AES128GCM,None]";
  const a = await lab.startAgent(lab.nsA, await lab.home("b-a", p2pPolicy(ADDR_B, qm, "bench")));
  const b = await lab.startAgent(
    lab.nsB,
    await lab.home("b-b", p2pPolicy("192.0.2.1", qm, "bench")),
  );
  try {
    lab.exec(lab.nsA, ["ping", "-c", "2", "-W", "3", ADDR_B]); // ACQUIRE: IKE before iperf3
    const out: number[] = [];
    for (const n of streams) out.push(await iperf(lab, ADDR_B, null, seconds, n));
    return { gbps: out, rtt: rtt(lab, ADDR_B) };
  } finally {
    await lab.stopAgent(a);
    await lab.stopAgent(b);
  }
}

async function strongswan(lab: Lab, seconds: number, streams: number[]): Promise<PathResult> {
  lab.exec(lab.nsA, ["ip", "addr", "add", `${INNER_A}/32`, "dev", "lo"]);
  lab.exec(lab.nsB, ["ip", "addr", "add", `${INNER_B}/32`, "dev", "lo"]);
  const conn = {
    psk: "bench",
    ikeProposal: "aes128gcm16-prfsha256-x25519",
    espProposal: "aes128gcm16",
  };
  const ca = await startCharon(lab.nsA, {
    ...conn,
    local: "192.0.2.1",
    remote: ADDR_B,
    localTs: "10.232.1.0/24",
    remoteTs: "10.232.2.0/24",
    startAction: "none",
  });
  const cb = await startCharon(lab.nsB, {
    ...conn,
    local: ADDR_B,
    remote: "192.0.2.1",
    localTs: "10.232.2.0/24",
    remoteTs: "10.232.1.0/24",
    startAction: "start",
  });
  try {
    await waitFor("charon child SA", () => /INSTALLED/.test(ca.swanctl("--list-sas")));
    for (const [ns, net, src] of [
      [lab.nsA, "10.232.2.0/24", INNER_A],
      [lab.nsB, "10.232.1.0/24", INNER_B],
    ] as const) {
      lab.exec(ns, ["ip", "link", "set", "ipsec0", "up"]);
      lab.exec(ns, ["ip", "route", "replace", net, "dev", "ipsec0", "src", src]);
    }
    const out: number[] = [];
    for (const n of streams) out.push(await iperf(lab, INNER_B, INNER_A, seconds, n));
    return { gbps: out, rtt: rtt(lab, INNER_B, INNER_A) };
  } finally {
    await ca.stop();
    await cb.stop();
  }
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? Number.NaN);
}

/** RSS of a manual-keyed agent with `pairs` SA pairs (distinct SPIs and selectors). */
async function agentRss(pairs: number): Promise<number> {
  const lab = dpLab.createLab();
  try {
    const sas = [];
    for (let i = 0; i < pairs; i++) {
      const peer = `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
      const common = {
        local: "192.0.2.1",
        peer,
        transform: "aes128gcm16",
        encKey: "00".repeat(20),
      };
      sas.push({ ...common, spi: 0x10000 + i, direction: "out" });
      sas.push({ ...common, spi: 0x20000 + i, direction: "in" });
    }
    const a = await lab.startAgent(
      lab.nsA,
      { listen: { address: "192.0.2.1", port: 4500 }, sas },
      `rss${pairs}`,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const pid = Number(/pid (\d+)/.exec(a.out())?.[1]);
    const kb = rssKb(pid);
    await lab.stopAgent(a);
    return kb;
  } finally {
    lab.destroy();
  }
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const seconds = arg("--seconds", 5);
  const n = arg("--streams", 1);
  const bad =
    !Number.isInteger(seconds) ||
    seconds < 1 ||
    seconds > 60 ||
    !Number.isInteger(n) ||
    n < 1 ||
    n > 8;
  if (bad) {
    console.error("usage: agent.js [--seconds 1..60] [--streams 1..8]");
    process.exitCode = 2;
    return;
  }
  const streams = n > 1 ? [1, n] : [1];
  const load = os.loadavg()[0]?.toFixed(2);
  const lab = createLab();
  const plain: number[] = [];
  let plainRtt: Rtt;
  let ours: PathResult;
  let swan: PathResult;
  try {
    for (const k of streams) plain.push(await iperf(lab, ADDR_B, null, seconds, k));
    plainRtt = rtt(lab, ADDR_B);
    ours = await postern(lab, seconds, streams);
    swan = await strongswan(lab, seconds, streams);
  } finally {
    lab.destroy();
  }
  const rss1 = await agentRss(1);
  const rss1000 = await agentRss(1000);
  const row = (name: string, v: string[]) =>
    console.log(`${name.padEnd(56)} ${v.map((x) => x.padStart(10)).join(" ")}`);
  const fmt = (xs: number[]) => {
    const cells = xs.map((x) => x.toFixed(3));
    if (xs.length > 1) cells.push(`${((xs[1] as number) / (xs[0] as number)).toFixed(2)}x`);
    return cells;
  };
  const ms = (r: Rtt) => [r.cold.toFixed(3), r.warm.toFixed(3)];
  row("path (iperf3 TCP), Gbit/s; ping RTT ms", [
    ...(n > 1 ? ["1 stream", `${n} streams`, `${n} / 1`] : ["one stream"]),
    "RTT 50ms",
    "RTT 5ms",
  ]);
  row("plain veth (the limit)", [...fmt(plain), ...ms(plainRtt)]);
  row("postern agent <-> postern agent (IKE, AES-GCM-128)", [...fmt(ours.gbps), ...ms(ours.rtt)]);
  row("strongSwan <-> strongSwan kernel-libipsec (AES-GCM-128)", [
    ...fmt(swan.gbps),
    ...ms(swan.rtt),
  ]);
  const [p1, s1, o1] = [plain[0] as number, swan.gbps[0] as number, ours.gbps[0] as number];
  console.log(`ratio postern / plain: ${(o1 / p1).toFixed(3)}`);
  console.log(`ratio strongSwan / plain: ${(s1 / p1).toFixed(3)}`);
  console.log(`ratio postern / strongSwan: ${(o1 / s1).toFixed(2)}`);
  console.log(
    `RTT postern / strongSwan: ${(ours.rtt.cold / swan.rtt.cold).toFixed(2)} (50 ms apart), ${(ours.rtt.warm / swan.rtt.warm).toFixed(2)} (5 ms apart); postern / veth ${(ours.rtt.cold / plainRtt.cold).toFixed(1)}`,
  );
  if (n > 1) {
    const [pn, sn, on] = [plain[1] as number, swan.gbps[1] as number, ours.gbps[1] as number];
    console.log(`ratio postern / strongSwan with ${n} streams: ${(on / sn).toFixed(2)}`);
    console.log(
      `gain ${n} streams / 1: plain ${(pn / p1).toFixed(2)}, postern ${(on / o1).toFixed(2)}, strongSwan ${(sn / s1).toFixed(2)}`,
    );
  }
  console.log(
    `agent RSS: 1 SA pair ${(rss1 / 1024).toFixed(1)} MiB, 1,000 pairs ${(rss1000 / 1024).toFixed(1)} MiB (+${((rss1000 - rss1) / 1000).toFixed(1)} KiB per pair)`,
  );
  console.log(
    `cpus ${os.cpus().length}, load average at start ${load}, at end ${os.loadavg()[0]?.toFixed(2)}, iperf3 ${seconds} s each (${path.basename(process.argv[1] ?? "")})`,
  );
}

await main();
