/**
 * What /metrics costs the data path, in one run on one veth between two namespaces:
 * iperf3 TCP through an ESP SA (postern agent <-> postern agent, PSK, ESP[AES128GCM,None],
 * transport mode, negotiated on the first packet) with the agents as they ship (no
 * --metrics), against the same with `--metrics 127.0.0.1:9851` on both agents and each
 * one scraped every second during the transfer (a GET /metrics in its namespace, as
 * Prometheus would; each scrape also reads the firewall's drop counters from nft).
 * Rounds alternate off/on so drift of a shared machine falls on both.
 *
 *   node dist/bench/metrics.js [--seconds 10] [--rounds 3]
 *
 * Needs root and iperf3. Prints each run, the medians and the ratio on/off.
 */
import * as os from "node:os";
import { ADDR_B, createLab, type Lab, p2pPolicy } from "../test/agent/lab.js";
import { iperfTcp } from "./iperf.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1 || v > 60) throw new Error(`--${name} needs 1..60`);
  return v;
}

/** Scrapes http://127.0.0.1:9851/metrics every second for `seconds`, then prints "ok N fail M". */
const SCRAPER = `
const http = require("node:http");
const end = Date.now() + Number(process.argv[1]) * 1000;
let ok = 0, fail = 0;
const tick = () => {
  if (Date.now() >= end) { process.stdout.write("ok " + ok + " fail " + fail + "\\n"); return; }
  http.get("http://127.0.0.1:9851/metrics", (r) => { r.resume(); r.on("end", () => { if (r.statusCode === 200) ok++; else fail++; }); })
    .on("error", () => { fail++; });
  setTimeout(tick, 1000);
};
tick();
`;

/** Gbit/s through the SA; with metrics, also how many scrapes answered 200. */
async function run(
  lab: Lab,
  seconds: number,
  metrics: boolean,
  n: number,
): Promise<{ gbps: number; scrapes: number }> {
  const qm = "ESP[AES128GCM,None]";
  const extra = metrics ? ["--metrics", "127.0.0.1:9851"] : [];
  const homeA = await lab.home(`m${n}-a`, p2pPolicy(ADDR_B, qm, "bench"));
  const homeB = await lab.home(`m${n}-b`, p2pPolicy("192.0.2.1", qm, "bench"));
  const a = await lab.startAgent(lab.nsA, homeA, extra);
  const b = await lab.startAgent(lab.nsB, homeB, extra);
  try {
    lab.exec(lab.nsA, ["ping", "-c", "2", "-W", "3", ADDR_B]); // ACQUIRE: IKE before iperf3
    const scrapers = metrics
      ? [lab.nsA, lab.nsB].map((ns) => {
          const p = lab.spawnIn(ns, [process.execPath, "-e", SCRAPER, String(seconds + 1)]);
          let out = "";
          p.stdout?.on("data", (c: Buffer) => {
            out += c.toString();
          });
          return new Promise<number>((resolve) =>
            p.once("exit", () => resolve(Number(/ok (\d+)/.exec(out)?.[1] ?? 0))),
          );
        })
      : [];
    const { gbps } = await iperfTcp(lab, ADDR_B, seconds);
    const scrapes = (await Promise.all(scrapers)).reduce((x, y) => x + y, 0);
    return { gbps, scrapes };
  } finally {
    await lab.stopAgent(a);
    await lab.stopAgent(b);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench/metrics needs root (namespaces, TUN)");
  const seconds = arg("seconds", 10);
  const rounds = arg("rounds", 3);
  const load = os.loadavg()[0]?.toFixed(1);
  console.log(`cpus ${os.cpus().length}, load average at start ${load}, iperf3 ${seconds} s each`);
  const lab = createLab("pbm");
  const off: number[] = [];
  const on: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const o = await run(lab, seconds, false, 2 * i);
      off.push(o.gbps);
      console.log(`round ${i + 1} metrics off: ${o.gbps.toFixed(3)} Gbit/s`);
      const m = await run(lab, seconds, true, 2 * i + 1);
      on.push(m.gbps);
      console.log(
        `round ${i + 1} metrics on, scraped every second: ${m.gbps.toFixed(3)} Gbit/s (${m.scrapes} scrapes answered)`,
      );
      if (m.scrapes < seconds) throw new Error(`only ${m.scrapes} scrapes answered`);
    }
  } finally {
    lab.destroy();
  }
  const mOff = median(off);
  const mOn = median(on);
  console.log(`median off ${mOff.toFixed(3)} Gbit/s, on ${mOn.toFixed(3)} Gbit/s`);
  console.log(`ratio on/off: ${(mOn / mOff).toFixed(3)}`);
}

if (process.argv[1]?.endsWith("metrics.js")) {
  main().catch((e: Error) => {
    console.error(`bench/metrics: ${e.message}`);
    process.exitCode = 1;
  });
}
