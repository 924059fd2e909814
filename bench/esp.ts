/**
 * ESP data path throughput: iperf3 TCP over a plain veth between two namespaces (the
 * limit), then over postern <-> postern (transport mode, AES-GCM-128, manual keys) on the
 * same veth, in one run. Bounded: two iperf3 runs of --seconds each (default 5).
 *
 *   node dist/bench/esp.js [--seconds 5] [--transform aes128gcm16] [--realtime]
 *
 * --realtime puts the agents' threads under SCHED_FIFO (chrt) to show how much of the
 * cost is waiting for a CPU on a busy machine (docs/benchmarks.md "ESP data path").
 *
 * Needs root, iperf3, tcpdump-free. Prints a table and the ratio postern / plain.
 */
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import { cli } from "../test/helpers/cli.js";
import { ADDR_B, createLab, keyingPair, type Lab } from "../test/datapath/lab.js";
import { iperfTcp } from "./iperf.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** Median-ish latency: ping's average RTT over 20 echoes 50 ms apart. */
function pingRtt(lab: Lab): number {
  const r = lab.exec(lab.nsA, ["ping", "-q", "-c", "20", "-i", "0.05", "-W", "2", ADDR_B], 20_000);
  const m = /= [\d.]+\/([\d.]+)\//.exec(r.out);
  return m ? Number(m[1]) : Number.NaN;
}

const KEYS: Record<string, { encKey?: string; authKey?: string }> = {
  aes128gcm16: { encKey: "000102030405060708090a0b0c0d0e0f10111213" },
  aes256gcm16: { encKey: "00".repeat(36) },
  "aes128-sha256": { encKey: "00".repeat(16), authKey: "11".repeat(32) },
  "null-sha256": { authKey: "11".repeat(32) },
};

async function main(): Promise<void> {
  const seconds = Number(arg("--seconds", "5"));
  const transform = arg("--transform", "aes128gcm16");
  const keys = KEYS[transform];
  if (!keys || !Number.isInteger(seconds) || seconds < 1 || seconds > 60) {
    console.error(`usage: esp.js [--seconds 1..60] [--transform ${Object.keys(KEYS).join("|")}]`);
    process.exitCode = 2;
    return;
  }
  const lab = createLab();
  try {
    const load = os.loadavg()[0]?.toFixed(2);
    const plainRtt = pingRtt(lab);
    const plain = await iperfTcp(lab, ADDR_B, seconds);
    const k = keyingPair(transform, keys);
    const a = await lab.startAgent(lab.nsA, k.a, "bench-a");
    const b = await lab.startAgent(lab.nsB, k.b, "bench-b");
    if (process.argv.includes("--realtime")) {
      for (const agent of [a, b]) {
        const pid = /pid (\d+)/.exec(agent.out())?.[1];
        if (pid) spawnSync("chrt", ["-f", "-a", "-p", "10", pid]);
      }
    }
    const espRtt = pingRtt(lab);
    const esp = await iperfTcp(lab, ADDR_B, seconds);
    const sb = JSON.parse((await cli(b.home, "--json", "agent", "stats")).out) as {
      drops: { inbound: Record<string, number> };
    };
    await lab.stopAgent(a);
    await lab.stopAgent(b);
    const rows = [
      ["path", "Gbit/s", "TCP retransmits", "ping RTT ms"],
      [
        "plain veth (the limit)",
        plain.gbps.toFixed(3),
        String(plain.retransmits),
        plainRtt.toFixed(3),
      ],
      [
        `postern <-> postern ${transform}${process.argv.includes("--realtime") ? " (FIFO)" : ""}`,
        esp.gbps.toFixed(3),
        String(esp.retransmits),
        espRtt.toFixed(3),
      ],
    ];
    for (const r of rows) {
      const [name, gbps, retr, rtt] = r as [string, string, string, string];
      console.log(
        `${name.padEnd(36)} ${gbps.padStart(8)} ${retr.padStart(16)} ${rtt.padStart(12)}`,
      );
    }
    console.log(`ratio postern / plain veth: ${(esp.gbps / plain.gbps).toFixed(3)}`);
    const drops = Object.entries(sb.drops.inbound).filter(([, v]) => v > 0);
    console.log(
      `receiver drops: ${drops.length ? drops.map(([k2, v]) => `${k2}=${v}`).join(" ") : "none"}`,
    );
    console.log(
      `cpus ${os.cpus().length}, load average at start ${load}, iperf3 ${seconds} s each`,
    );
  } finally {
    lab.destroy();
  }
}

await main();
