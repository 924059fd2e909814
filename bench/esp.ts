/**
 * ESP data path throughput and latency: iperf3 TCP and ping RTT over a plain veth between
 * two namespaces (the limit), then over postern <-> postern (transport mode, manual keys)
 * on the same veth, in one run. Bounded: (1 + transforms) x rounds iperf3 runs of
 * --seconds each (default 5), 20 pings 50 ms apart and 40 pings 5 ms apart each.
 *
 *   node dist/bench/esp.js [--seconds 5] [--transform aes128gcm16] [--realtime]
 *   node dist/bench/esp.js --compare [--rounds 3]   # the article's "sign vs encrypt":
 *       AH (HMAC-SHA-256), ESP-NULL (HMAC-SHA-256), AES-GCM-128, AES-CBC-128 + HMAC-SHA-256,
 *       rounds alternating plain veth and each transform, medians and ratios to the veth
 *
 * "CPU s/GB" is both agents' CPU time (all threads, /proc/PID/stat) per GB carried: the cost
 * per byte, which the machine's load moves much less than throughput.
 *
 * --realtime puts the agents' threads under SCHED_FIFO (chrt) to show how much of the
 * cost is waiting for a CPU on a busy machine (docs/benchmarks.md "ESP data path").
 *
 * Needs root, iperf3, tcpdump-free. Prints a table and the ratio postern / plain.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { cli } from "../test/helpers/cli.js";
import { ADDR_B, createLab, keyingPair, type Lab } from "../test/datapath/lab.js";
import { iperfTcp, median, pingRtt } from "./iperf.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** What each transform needs: keys and, for AH, the protocol (same worker, same path). */
const KEYS: Record<
  string,
  { transform: string; encKey?: string; authKey?: string; protocol?: string }
> = {
  aes128gcm16: { transform: "aes128gcm16", encKey: "000102030405060708090a0b0c0d0e0f10111213" },
  aes256gcm16: { transform: "aes256gcm16", encKey: "00".repeat(36) },
  "aes128-sha256": {
    transform: "aes128-sha256",
    encKey: "00".repeat(16),
    authKey: "11".repeat(32),
  },
  "null-sha256": { transform: "null-sha256", authKey: "11".repeat(32) },
  "ah-sha256": { transform: "null-sha256", authKey: "11".repeat(32), protocol: "ah" },
};
const COMPARE = ["ah-sha256", "null-sha256", "aes128gcm16", "aes128-sha256"];

interface Sample {
  gbps: number;
  retransmits: number;
  rtt: number;
  /** RTT of echoes 5 ms apart (ms). */
  rttWarm: number;
  /** Both agents' CPU seconds (all threads, user + system) per GB carried; plain: 0. */
  cpuPerGb: number;
}

/** CPU seconds a process has used so far (utime + stime of all its threads). */
function cpuSeconds(pid: string | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // fields 14, 15 in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/**
 * The kernel's own drops on the path, per namespace: UDP receive-buffer overflows (the ESP
 * socket's queue, /proc/net/snmp) and packets the TUN dropped because its queue was full
 * (`ip -s link`: TX dropped on postern0, where the outbound worker reads).
 */
function kernelDrops(lab: Lab): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [side, ns] of [
    ["A", lab.nsA],
    ["B", lab.nsB],
  ] as const) {
    const snmp = lab.exec(ns, ["cat", "/proc/net/snmp"]).out.split("\n");
    const udp = snmp.filter((l) => l.startsWith("Udp:"));
    const names = udp[0]?.split(/\s+/) ?? [];
    const values = udp[1]?.split(/\s+/) ?? [];
    out[`${side} udp RcvbufErrors`] = Number(values[names.indexOf("RcvbufErrors")] ?? 0);
    const link = lab.exec(ns, ["ip", "-s", "-j", "link", "show", "postern0"]).out;
    try {
      const j = JSON.parse(link) as { stats64?: { tx?: { dropped?: number } } }[];
      out[`${side} postern0 tx dropped`] = j[0]?.stats64?.tx?.dropped ?? 0;
    } catch {
      out[`${side} postern0 tx dropped`] = 0;
    }
  }
  return out;
}

async function plainRun(lab: Lab, seconds: number): Promise<Sample> {
  const rtt = pingRtt(lab, ADDR_B);
  const rttWarm = pingRtt(lab, ADDR_B, 40, "0.005");
  const t = await iperfTcp(lab, ADDR_B, seconds);
  return { ...t, rtt, rttWarm, cpuPerGb: 0 };
}

async function posternRun(
  lab: Lab,
  name: string,
  seconds: number,
  realtime: boolean,
): Promise<Sample & { drops: string }> {
  const { transform, ...keys } = KEYS[name] as (typeof KEYS)[string];
  const k = keyingPair(transform, keys);
  const a = await lab.startAgent(lab.nsA, k.a, `bench-a-${name}`);
  const b = await lab.startAgent(lab.nsB, k.b, `bench-b-${name}`);
  try {
    const pids = [a, b].map((agent) => /pid (\d+)/.exec(agent.out())?.[1]);
    if (realtime) for (const pid of pids) if (pid) spawnSync("chrt", ["-f", "-a", "-p", "10", pid]);
    const rtt = pingRtt(lab, ADDR_B);
    const rttWarm = pingRtt(lab, ADDR_B, 40, "0.005");
    const cpu0 = pids.reduce((n, pid) => n + cpuSeconds(pid), 0);
    const kernel0 = kernelDrops(lab);
    const t = await iperfTcp(lab, ADDR_B, seconds);
    const cpu = pids.reduce((n, pid) => n + cpuSeconds(pid), 0) - cpu0;
    const kernel = Object.entries(kernelDrops(lab))
      .map(([k2, v]) => [k2, v - (kernel0[k2] ?? 0)] as const)
      .filter(([, v]) => v > 0);
    const gb = (t.gbps * seconds) / 8;
    const sb = JSON.parse((await cli(b.home, "--json", "agent", "stats")).out) as {
      drops: { inbound: Record<string, number> };
    };
    const drops = Object.entries(sb.drops.inbound).filter(([, v]) => v > 0);
    return {
      ...t,
      rtt,
      rttWarm,
      cpuPerGb: gb > 0 ? cpu / gb : Number.NaN,
      drops: [...drops, ...kernel].map(([k2, v]) => `${k2}=${v}`).join(" "),
    };
  } finally {
    await lab.stopAgent(a);
    await lab.stopAgent(b);
    fs.rmSync(a.home, { recursive: true, force: true });
    fs.rmSync(b.home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const seconds = Number(arg("--seconds", "5"));
  const rounds = Number(arg("--rounds", "1"));
  const compare = process.argv.includes("--compare");
  const realtime = process.argv.includes("--realtime");
  const names = compare ? COMPARE : [arg("--transform", "aes128gcm16")];
  const bad =
    !Number.isInteger(seconds) ||
    seconds < 1 ||
    seconds > 60 ||
    !Number.isInteger(rounds) ||
    rounds < 1 ||
    rounds > 9 ||
    names.some((n) => KEYS[n] === undefined);
  if (bad) {
    console.error(
      `usage: esp.js [--seconds 1..60] [--rounds 1..9] [--compare | --transform ${Object.keys(KEYS).join("|")}] [--realtime]`,
    );
    process.exitCode = 2;
    return;
  }
  const lab = createLab();
  try {
    const load = os.loadavg()[0]?.toFixed(2);
    const plain: Sample[] = [];
    const esp = new Map<string, (Sample & { drops: string })[]>(names.map((n) => [n, []]));
    // Rounds alternate the plain veth and each transform, so a change in the machine's load
    // lands on all of them rather than on one.
    for (let r = 0; r < rounds; r++) {
      plain.push(await plainRun(lab, seconds));
      for (const n of names) esp.get(n)?.push(await posternRun(lab, n, seconds, realtime));
    }
    const med = (xs: Sample[], f: (x: Sample) => number) => median(xs.map(f));
    const pG = med(plain, (x) => x.gbps);
    const pR = med(plain, (x) => x.rtt);
    const pW = med(plain, (x) => x.rttWarm);
    const cols = (c: string[]) =>
      console.log(
        `${(c[0] as string).padEnd(40)} ${c
          .slice(1)
          .map((x) => x.padStart(10))
          .join(" ")}`,
      );
    cols([
      "path (median of rounds)",
      "Gbit/s",
      "retrans",
      "RTT ms",
      "x veth",
      "RTT x veth",
      "RTT 5ms ms",
      "x veth",
      "CPU s/GB",
    ]);
    cols([
      "plain veth (the limit)",
      pG.toFixed(3),
      String(med(plain, (x) => x.retransmits)),
      pR.toFixed(3),
      "1",
      "1",
      pW.toFixed(3),
      "1",
      "-",
    ]);
    for (const n of names) {
      const xs = esp.get(n) ?? [];
      const g = med(xs, (x) => x.gbps);
      const rtt = med(xs, (x) => x.rtt);
      const warm = med(xs, (x) => x.rttWarm);
      const label = `postern <-> postern ${n}${realtime ? " (FIFO)" : ""}`;
      cols([
        label,
        g.toFixed(3),
        String(med(xs, (x) => x.retransmits)),
        rtt.toFixed(3),
        (g / pG).toFixed(3),
        (rtt / pR).toFixed(2),
        warm.toFixed(3),
        (warm / pW).toFixed(2),
        med(xs, (x) => x.cpuPerGb).toFixed(1),
      ]);
    }
    if (rounds > 1) {
      console.log("per round Gbit/s: veth", plain.map((x) => x.gbps.toFixed(3)).join(" "));
      for (const n of names)
        console.log(`  ${n}`, (esp.get(n) ?? []).map((x) => x.gbps.toFixed(3)).join(" "));
    }
    const first = esp.get(names[0] as string) ?? [];
    console.log(`ratio postern / plain veth: ${(med(first, (x) => x.gbps) / pG).toFixed(3)}`);
    const drops = [...esp].flatMap(([n, xs]) =>
      xs.filter((x) => x.drops).map((x) => `${n}: ${x.drops}`),
    );
    console.log(
      `drops (the receiving agent's counters; the kernel's UDP receive buffer and TUN queue): ${drops.length > 0 ? drops.join("; ") : "none"}`,
    );
    console.log(
      `cpus ${os.cpus().length}, load average at start ${load}, at end ${os.loadavg()[0]?.toFixed(2)}, iperf3 ${seconds} s each, ${rounds} round(s)`,
    );
  } finally {
    lab.destroy();
  }
}

await main();
