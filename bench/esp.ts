/**
 * ESP data path throughput: iperf3 TCP over a plain veth between two namespaces (the
 * limit), then over postern <-> postern (transport mode, AES-GCM-128, manual keys) on the
 * same veth, in one run. Bounded: two iperf3 runs of --seconds each (default 5).
 *
 *   node dist/bench/esp.js [--seconds 5] [--transform aes128gcm16]
 *
 * Needs root, iperf3, tcpdump-free. Prints a table and the ratio postern / plain.
 */
import * as os from "node:os";
import { cli } from "../test/helpers/cli.js";
import { ADDR_B, createLab, keyingPair, type Lab } from "../test/datapath/lab.js";

interface Iperf {
  gbps: number;
  retransmits: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function iperf(lab: Lab, seconds: number): Promise<Iperf> {
  const server = lab.spawnIn(lab.nsB, ["iperf3", "-s", "-1", "-B", ADDR_B]);
  await new Promise((r) => setTimeout(r, 500));
  const r = lab.exec(
    lab.nsA,
    ["iperf3", "-c", ADDR_B, "-t", String(seconds), "-J"],
    (seconds + 20) * 1000,
  );
  server.kill("SIGKILL");
  try {
    const j = JSON.parse(r.out) as {
      end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits: number } };
    };
    return {
      gbps: j.end.sum_received.bits_per_second / 1e9,
      retransmits: j.end.sum_sent.retransmits,
    };
  } catch {
    throw new Error(`iperf3 failed: ${r.out.slice(0, 300)} ${r.err.slice(0, 300)}`);
  }
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
    const plain = await iperf(lab, seconds);
    const k = keyingPair(transform, keys);
    const a = await lab.startAgent(lab.nsA, k.a, "bench-a");
    const b = await lab.startAgent(lab.nsB, k.b, "bench-b");
    const esp = await iperf(lab, seconds);
    const sb = JSON.parse((await cli(b.home, "--json", "agent", "stats")).out) as {
      drops: { inbound: Record<string, number> };
    };
    await lab.stopAgent(a);
    await lab.stopAgent(b);
    const rows = [
      ["path", "Gbit/s", "TCP retransmits"],
      ["plain veth (the limit)", plain.gbps.toFixed(3), String(plain.retransmits)],
      [`postern <-> postern ${transform}`, esp.gbps.toFixed(3), String(esp.retransmits)],
    ];
    for (const r of rows)
      console.log(
        `${(r[0] as string).padEnd(36)} ${(r[1] as string).padStart(8)} ${(r[2] as string).padStart(16)}`,
      );
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
