/**
 * A restarted xpclient reaches the page again, in the article's lab (Kerberos IKE with
 * server1), with INITIAL_CONTACT and without it, in the same run (issue 17):
 *
 *   1. `postern lab up` with a temporary home (server1's agent keeps its defaults)
 *   2. per round, the cases in turn, so they meet the same load:
 *        initial-contact   xpclient's agent stopped (SIGTERM: it sends no Delete, its SAs
 *                          are simply gone, as after a reboot) and started again with the
 *                          defaults: its IKE_AUTH carries INITIAL_CONTACT, server1 closes
 *                          the SAs it still holds with xpclient at once
 *        invalid-spi       the same with `--ike-initial-contact no`: server1 answers into
 *                          the dead child SA until xpclient's INVALID_SPI makes it drop it
 *        old               `--ike-initial-contact no --ike-invalid-spi no` (before issue
 *                          17): server1 answers into the dead SA until its liveness check
 *                          gives the IKE SA up (30 s of silence, then 1+2+4+8+16 s)
 *      each measured from the new agent's "ready" line to the first page served (an HTTP
 *      GET from a node process in xpclient's namespace, 5 s a try, retried within 120 s)
 *   3. medians, and each case's ratio against the old behaviour
 *
 *   node dist/bench/restart.js [ROUNDS]    (root; default 3, between 1 and 20)
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { host } from "../src/lab/topology.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, "../src/cli/main.js");
const rounds = Math.min(Math.max(Number(process.argv[2]) || 3, 1), 20);
const PAGE = `http://${host("server1").address}/`;
const CASES = {
  "initial-contact": [],
  "invalid-spi": ["--ike-initial-contact", "no"],
  old: ["--ike-initial-contact", "no", "--ike-invalid-spi", "no"],
} as const;
type Case = keyof typeof CASES;

function postern(args: string[]): { code: number | null; out: string; err: string } {
  const argv = [process.execPath, BIN, ...args];
  const full = argv;
  const r = spawnSync(full[0] as string, full.slice(1), { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Starts xpclient's agent; resolves once it prints its ready line. */
function startAgent(ns: string, home: string, extra: readonly string[]): Promise<ChildProcess> {
  const argv = [process.execPath, BIN, "--home", home, "agent"];
  argv.push("--address", host("xpclient").address, ...extra);
  const p = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`agent not ready in 30 s:\n${out}`)), 30_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (/agent: ready/.test(out)) {
        clearTimeout(timer);
        resolve(p);
      }
    };
    p.stdout?.on("data", onData);
    p.stderr?.on("data", onData);
    p.once("exit", (c) => reject(new Error(`agent exited (${c}) before ready:\n${out}`)));
  });
}

function stop(p: ChildProcess | number): Promise<void> {
  const pid = typeof p === "number" ? p : p.pid;
  if (pid === undefined) return Promise.resolve();
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const t0 = Date.now();
    const poll = setInterval(() => {
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (!alive || Date.now() - t0 > 10_000) {
        if (alive) process.kill(pid, "SIGKILL");
        clearInterval(poll);
        resolve();
      }
    }, 50);
  });
}

/**
 * A node process inside xpclient's namespace (started once, so no process start is timed):
 * on each line "go" it GETs the page, 5 s a try, until served within 120 s, and answers
 * "<ms> <tries>" timed from the line's arrival.
 */
const FETCHER = `
const http = require("node:http");
const get = () => new Promise((ok) => {
  const req = http.get(process.argv[1], { timeout: 5000, agent: false }, (res) => {
    res.resume();
    res.on("end", () => ok(res.statusCode === 200));
  });
  req.on("timeout", () => req.destroy());
  req.on("error", () => ok(false));
});
require("node:readline").createInterface({ input: process.stdin }).on("line", async () => {
  const t0 = Date.now();
  for (let tries = 1; Date.now() - t0 < 120000; tries++)
    if (await get()) return console.log(Date.now() - t0, tries);
  console.log("never");
});`;

interface Fetcher {
  /** From now to the first page served: ms and tries. */
  timeToPage(): Promise<{ ms: number; tries: number }>;
  stop(): Promise<void>;
}

function startFetcher(ns: string): Fetcher {
  const p = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", FETCHER, PAGE], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: p.stdout! });
  const waiting: ((l: string) => void)[] = [];
  lines.on("line", (l) => waiting.shift()?.(l));
  return {
    timeToPage() {
      return new Promise((resolve, reject) => {
        waiting.push((l) => {
          const [ms, tries] = l.split(" ").map(Number);
          if (ms === undefined || tries === undefined || !Number.isFinite(ms))
            reject(new Error("xpclient did not reach the page within 120 s"));
          else resolve({ ms, tries });
        });
        p.stdin!.write("go\n");
      });
    },
    stop: () => stop(p),
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("needs root (network namespaces)");
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "postern-benchrestart-"));
  let agent: ChildProcess | null = null;
  let fetcher: Fetcher | null = null;
  try {
    process.stderr.write("bench/restart: lab up...\n");
    const up = postern(["--home", home, "lab", "up"]);
    if (up.code !== 0) throw new Error(`lab up: ${up.err.trim()}`);
    const state = JSON.parse(fs.readFileSync(path.join(home, "lab", "state.json"), "utf8")) as {
      id: string;
      processes: { name: string; pid: number }[];
    };
    const ns = `${state.id}-xpclient`;
    const xpHome = path.join(home, "lab", "xpclient");
    const labAgent = state.processes.find((p) => p.name === "xpclient-agent");
    if (!labAgent) throw new Error("the lab has no xpclient agent");
    await stop(labAgent.pid);
    agent = await startAgent(ns, xpHome, []);
    const f = startFetcher(ns);
    fetcher = f;
    await f.timeToPage(); // warm-up: SAs with server1 and xpclient's tickets exist
    const t: Record<Case, number[]> = { "initial-contact": [], "invalid-spi": [], old: [] };
    for (let i = 0; i < rounds; i++) {
      for (const c of Object.keys(CASES) as Case[]) {
        // Each restart finds server1 holding SAs with the previous agent.
        await f.timeToPage();
        await stop(agent);
        agent = await startAgent(ns, xpHome, CASES[c]);
        const r = await f.timeToPage();
        t[c].push(r.ms);
        process.stderr.write(
          `bench/restart: round ${i + 1}/${rounds} ${c}: ${r.ms} ms (${r.tries} fetches)\n`,
        );
      }
    }
    const old = median(t.old);
    console.log(
      `xpclient restarted -> first page from server1 (Kerberos IKE); ${rounds} rounds; load average ${os.loadavg()[0]?.toFixed(1)} on ${os.cpus().length} CPUs`,
    );
    console.log("case                                   median ms   all (ms)              vs old");
    for (const c of Object.keys(CASES) as Case[]) {
      const m = median(t[c]);
      console.log(
        `${c.padEnd(38)} ${m.toFixed(0).padStart(9)}   ${t[c].join(", ").padEnd(20)} ${(m / old).toFixed(3).padStart(7)}`,
      );
    }
  } finally {
    await fetcher?.stop();
    if (agent) await stop(agent);
    spawnSync(process.execPath, [BIN, "--home", home, "lab", "down"], { encoding: "utf8" });
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`bench/restart: ${e.message}`);
  process.exit(1);
});
