/**
 * From xpclient's first SYN to server1's page, in the article's lab (IKE and Kerberos
 * included), against strongSwan's PSK setup measured in the same run and against the
 * 1-3 s that IKE added on Windows Server 2003 (the article):
 *
 *   1. `postern lab up` with a temporary home; a charon pair (kernel-libipsec, PSK,
 *      AES-GCM-16-128/PRF-SHA256/Curve25519) in two more namespaces (test/ike/lab.ts)
 *   2. per round, alternating so all meet the same load:
 *        page, SA up       a GET while xpclient's SA exists (no IKE: the floor)
 *        page, new SA      `postern agent delete-sas` on xpclient, then a GET: the first
 *                          SYN waits for PTR + TGS (ticket for host/server1 cached after
 *                          the first round) + IKE_SA_INIT + IKE_AUTH (Kerberos AP-REQ)
 *        page, new TGT     `postern klist --machine purge`, then a GET: AS + TGS + PTR + IKE
 *        strongSwan PSK    vici initiate -> child SA up, then terminate
 *      the GET is timed inside xpclient's namespace from the call (first SYN) to the
 *      page's last byte (`postern lab fetch`'s "ms", after an untimed GET on loopback that
 *      warms Node's HTTP client: src/lab/web.ts), and with the SA up also to the TCP
 *      connection (one round trip through the SA)
 *   3. a table of medians, and ratios against strongSwan and against 1 s (Windows' best)
 *   4. the breakdown (issue 18 item 2): server1's and xpclient's agents restarted with
 *      `--log-format json --verbose` and `ikelogging` 1, then ROUNDS "new SA" and "new
 *      TGT" pages again; each step's time read from the two agents' logs (one clock, ms
 *      timestamps): acquire, IKE_SA_INIT out and back (server1's share), PTR, AS and TGS
 *      (which overlap IKE_SA_INIT since the ticket is asked for as it leaves), the
 *      initiator's IKE_AUTH build, server1's IKE_AUTH (AP-REQ and PAC checks to the bypass
 *      decision, then the answer), and from the IKE_AUTH answer to the page's last byte
 *      (child SA installed, queued SYN out, TCP and HTTP)
 *
 *   node dist/bench/lab.js [ROUNDS]    (root; default 10, between 3 and 100)
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { restartLabAgent } from "../src/lab/check.js";
import { labDir, loadLabState } from "../src/lab/state.js";
import { host } from "../src/lab/topology.js";
import { createNsPair } from "../test/ike/lab.js";
import { type SwanSide, startSwanPskPair } from "./strongswan-psk.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, "../src/cli/main.js");
const rounds = Math.min(Math.max(Number(process.argv[2]) || 10, 3), 100);
const PSK = "bench shared secret";

function postern(args: string[], ns?: string): string {
  const argv = [process.execPath, BIN, ...args];
  const full = ns ? ["ip", "netns", "exec", ns, ...argv] : argv;
  const r = spawnSync(full[0] as string, full.slice(1), { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`postern ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("needs root (network namespaces)");
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "postern-benchlab-"));
  const pair = createNsPair();
  let swan: SwanSide | null = null;
  try {
    process.stderr.write("bench/lab: lab up...\n");
    postern(["--home", home, "lab", "up"]);
    const id = (
      JSON.parse(fs.readFileSync(path.join(home, "lab", "state.json"), "utf8")) as {
        id: string;
      }
    ).id;
    const xpNs = `${id}-xpclient`;
    const xpHome = path.join(home, "lab", "xpclient");
    const swanSide = await startSwanPskPair(pair, PSK);
    swan = swanSide;
    const connects: number[] = [];
    const get = (page?: PageTimes): number => {
      const out = postern(["lab", "fetch", "http://198.18.0.20/", "--timeout-ms", "10000"], xpNs);
      const r = JSON.parse(out) as {
        served: boolean;
        ms: number;
        connectMs?: number;
        at: number;
        error?: string;
      };
      if (!r.served) throw new Error(`xpclient was not served: ${r.error ?? "?"}`);
      if (r.connectMs !== undefined) connects.push(r.connectMs);
      if (page) Object.assign(page, { at: r.at, connectMs: r.connectMs ?? Number.NaN, ms: r.ms });
      return r.ms;
    };
    const settle = () => new Promise((r) => setTimeout(r, 200)); // Deletes reach server1
    const t = { up: [] as number[], sa: [] as number[], tgt: [] as number[], swan: [] as number[] };
    get(); // warm-up: the SA and the tickets exist
    const upConnect: number[] = [];
    for (let i = 0; i < rounds; i++) {
      t.up.push(get());
      upConnect.push(connects.at(-1) ?? Number.NaN);
      postern(["--home", xpHome, "agent", "delete-sas"]);
      await settle();
      t.sa.push(get());
      postern(["--home", xpHome, "klist", "--machine", "purge"]);
      await settle();
      t.tgt.push(get());
      t.swan.push(await swanSide.setup());
      process.stderr.write(`bench/lab: round ${i + 1}/${rounds}\n`);
    }
    const m = { up: median(t.up), sa: median(t.sa), tgt: median(t.tgt), swan: median(t.swan) };
    const f = (x: number) => x.toFixed(1).padStart(9);
    console.log(
      `xpclient -> server1:80, first SYN to page; ${rounds} rounds; load average ${os.loadavg()[0]?.toFixed(1)} on ${os.cpus().length} CPUs`,
    );
    console.log(
      "case                                          median ms  vs strongSwan PSK  vs 1 s (2003)",
    );
    const row = (name: string, x: number) =>
      console.log(
        `${name.padEnd(44)} ${f(x)}  ${(x / m.swan).toFixed(2).padStart(17)}  ${(x / 1000).toFixed(3).padStart(13)}`,
      );
    row("page, SA up (no IKE)", m.up);
    row("  of which TCP connect (SYN -> SYN-ACK, SA up)", median(upConnect));
    row("page, new SA (PTR, IKE with Kerberos)", m.sa);
    row("page, new TGT (AS, TGS, PTR, IKE)", m.tgt);
    row("strongSwan PSK IKE_SA + child (charon)", m.swan);
    await breakdown(home, get, settle, xpHome);
  } finally {
    await swan?.stop();
    pair.destroy();
    spawnSync(process.execPath, [BIN, "--home", home, "lab", "down"], { encoding: "utf8" });
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** One page as `lab fetch` timed it: its start (ms since the epoch), connect and last byte. */
interface PageTimes {
  at: number;
  connectMs: number;
  ms: number;
}

/** One agent log line: its time (ms since the epoch) and message. */
interface LogLine {
  at: number;
  msg: string;
}

/** One `IKE step:` line of an agent (core.ts AgentDeps.mark): what, and when (sub-ms). */
const STEP_LINE = /^IKE step: (?:peer \S+|[0-9a-f]{16}_[0-9a-f]{16}) (.+) at ([\d.]+)$/;

/**
 * Each step's first time in `lines`, ms after `t0`: one agent's steps of one page (the
 * page's slice of the log holds one new IKE SA; the old one's Delete marks nothing).
 */
function marksOf(lines: LogLine[], t0: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) {
    const m = STEP_LINE.exec(l.msg);
    if (m && !out.has(m[1] as string)) out.set(m[1] as string, Number(m[2]) - t0);
  }
  return out;
}

/** The JSON lines `file` gained from byte `from` on. */
function linesSince(file: string, from: number): LogLine[] {
  const text = fs.readFileSync(file).subarray(from).toString("utf8");
  const out: LogLine[] = [];
  for (const l of text.split("\n")) {
    if (!l.startsWith("{")) continue;
    try {
      const j = JSON.parse(l) as { time: string; msg: string };
      out.push({ at: Date.parse(j.time), msg: j.msg });
    } catch {
      // a line cut by the read: not one of ours to time
    }
  }
  return out;
}

/** The first line matching `re`, or null. */
function first(lines: LogLine[], re: RegExp): LogLine | null {
  return lines.find((l) => re.test(l.msg)) ?? null;
}

const STEPS = [
  "acquire -> IKE_SA_INIT sent",
  "IKE_SA_INIT round trip",
  "  of which server1 (DH, nonce, answer)",
  "PTR lookup (overlaps)",
  "AS exchange (overlaps)",
  "TGS exchange (overlaps)",
  "IKE_SA_INIT answer -> IKE_AUTH sent",
  "IKE_AUTH round trip",
  "  server1: AP-REQ, PAC checks -> bypass decision",
  "  server1: bypass decision -> answer sent",
  "IKE_AUTH answer -> page's last byte",
  "first SYN -> page's last byte",
] as const;

/** The steps of one page from the two agents' log lines; null: a step's line is missing. */
function stepsOf(xp: LogLine[], sv: LogLine[], pageMs: number): Map<string, number> | null {
  const xpAddr = host("xpclient").address;
  const svAddr = host("server1").address;
  const a0 = first(xp, /^acquire: first packet to protect for /);
  const a1 = first(xp, new RegExp(`^IKE detail: sent IKE_SA_INIT request .*to ${svAddr}:`));
  const a2 = first(xp, new RegExp(`^IKE detail: received IKE_SA_INIT response .*from ${svAddr}:`));
  const a3 = first(xp, new RegExp(`^IKE detail: sent IKE_AUTH request .*to ${svAddr}:`));
  const a4 = first(xp, new RegExp(`^IKE detail: received IKE_AUTH response .*from ${svAddr}:`));
  const s1 = first(sv, new RegExp(`^IKE detail: received IKE_SA_INIT request .*from ${xpAddr}:`));
  const s2 = first(sv, new RegExp(`^IKE detail: sent IKE_SA_INIT response .*to ${xpAddr}:`));
  const s3 = first(sv, new RegExp(`^IKE detail: received IKE_AUTH request .*from ${xpAddr}:`));
  const s4 = first(sv, new RegExp(`^bypass: ${xpAddr.replace(/\./g, "\\.")} admitted`));
  const s5 = first(sv, new RegExp(`^IKE detail: sent IKE_AUTH response .*to ${xpAddr}:`));
  if (!a0 || !a1 || !a2 || !a3 || !a4 || !s1 || !s2 || !s3 || !s4 || !s5) return null;
  const ptr = first(xp, /^kerberos: PTR .*\(([\d.]+) ms\)$/);
  const tkt = first(xp, /^kerberos: ticket for /);
  const as = tkt && /AS ([\d.]+) ms/.exec(tkt.msg);
  const tgs = tkt && /TGS ([\d.]+) ms/.exec(tkt.msg);
  const m = new Map<string, number>([
    [STEPS[0], a1.at - a0.at],
    [STEPS[1], a2.at - a1.at],
    [STEPS[2], s2.at - s1.at],
    [STEPS[3], ptr ? Number(/\(([\d.]+) ms\)$/.exec(ptr.msg)?.[1]) : 0],
    [STEPS[4], as ? Number(as[1]) : 0],
    [STEPS[5], tgs ? Number(tgs[1]) : 0],
    [STEPS[6], a3.at - a2.at],
    [STEPS[7], a4.at - a3.at],
    [STEPS[8], s4.at - s3.at],
    [STEPS[9], s5.at - s4.at],
    [STEPS[10], a0.at + pageMs - a4.at],
    [STEPS[11], pageMs],
  ]);
  return m;
}

/**
 * Step 4 of the header: the agents of server1 and xpclient restarted with JSON debug logs
 * and IKE detail lines, then `rounds` pages with a new SA and with a new TGT, each broken
 * down by the two logs.
 */
async function breakdown(
  home: string,
  get: (page?: PageTimes) => number,
  settle: () => Promise<unknown>,
  xpHome: string,
): Promise<void> {
  const s = loadLabState(home);
  if (s === null) throw new Error("no lab state");
  const env = { home };
  process.stderr.write("bench/lab: breakdown: agents restarted with debug logs...\n");
  for (const name of ["server1", "xpclient"] as const) {
    await restartLabAgent(env, s, name, ["--log-format", "json", "--verbose"]);
    postern([
      "--home",
      path.join(labDir(home), name),
      "netsh",
      "ipsec",
      "dynamic",
      "set",
      "config",
      "property=ikelogging",
      "value=1",
    ]);
  }
  const logOf = (name: string) => path.join(labDir(home), `${name}-agent.log`);
  get(); // the SA and the tickets exist again
  const runs: Record<"sa" | "tgt", Map<string, number>[]> = { sa: [], tgt: [] };
  const timelines: Record<"sa" | "tgt", Map<string, number>[]> = { sa: [], tgt: [] };
  let missing = 0;
  for (let i = 0; i < rounds; i++) {
    for (const kind of ["sa", "tgt"] as const) {
      postern([
        "--home",
        xpHome,
        ...(kind === "sa" ? ["agent", "delete-sas"] : ["klist", "--machine", "purge"]),
      ]);
      await settle();
      const [x0, s0] = [fs.statSync(logOf("xpclient")).size, fs.statSync(logOf("server1")).size];
      const page: PageTimes = { at: 0, connectMs: 0, ms: 0 };
      const ms = get(page);
      await settle(); // the last lines reach the files
      const [xp, sv] = [linesSince(logOf("xpclient"), x0), linesSince(logOf("server1"), s0)];
      const steps = stepsOf(xp, sv, ms);
      if (steps) runs[kind].push(steps);
      else missing++;
      const t0 = marksOf(xp, 0).get("acquire");
      if (t0 !== undefined) timelines[kind].push(timelineOf(xp, sv, page, t0));
    }
  }
  const med = (kind: "sa" | "tgt", step: string) => {
    const xs = runs[kind].map((m) => m.get(step) ?? 0);
    return xs.length === 0 ? Number.NaN : median(xs);
  };
  console.log(
    `breakdown of the first page (median of ${runs.sa.length} / ${runs.tgt.length} pages, ms, from the agents' JSON logs: 1 ms resolution except PTR/AS/TGS${missing ? `; ${missing} pages without every line left out` : ""}); load average ${os.loadavg()[0]?.toFixed(1)}`,
  );
  console.log(`${"step".padEnd(50)} ${"new SA".padStart(8)} ${"new TGT".padStart(8)}`);
  for (const step of STEPS)
    console.log(
      `${step.padEnd(50)} ${med("sa", step).toFixed(1).padStart(8)} ${med("tgt", step).toFixed(1).padStart(8)}`,
    );
  printTimeline(timelines);
}

/** xpclient's and server1's steps of one page, and the page's, ms after xpclient's acquire (`t0`). */
function timelineOf(
  xp: LogLine[],
  sv: LogLine[],
  page: PageTimes,
  t0: number,
): Map<string, number> {
  const out = new Map<string, number>([
    ["page: first SYN (the GET starts)", page.at - t0],
    ["page: TCP connected (SYN-ACK back)", page.at + page.connectMs - t0],
    ["page: last byte", page.at + page.ms - t0],
  ]);
  for (const [k, v] of marksOf(xp, t0)) out.set(`xpclient: ${k}`, v);
  for (const [k, v] of marksOf(sv, t0)) out.set(`server1:  ${k}`, v);
  return out;
}

/**
 * The finer breakdown: each step's median time after xpclient's acquire, to 0.01 ms, in
 * the order of the new-SA page, with the gap from the step before.
 */
function printTimeline(t: Record<"sa" | "tgt", Map<string, number>[]>): void {
  if (t.sa.length === 0) return;
  const med = (kind: "sa" | "tgt", step: string) => {
    const xs = t[kind].map((m) => m.get(step)).filter((x): x is number => x !== undefined);
    return xs.length === 0 ? Number.NaN : median(xs);
  };
  const steps = [...new Set(t.sa.flatMap((m) => [...m.keys()]))].sort(
    (a, b) => med("sa", a) - med("sa", b),
  );
  console.log(
    `timeline of the first page (median of ${t.sa.length} / ${t.tgt.length} pages, ms after xpclient's acquire, from the agents' "IKE step" lines; gap: from the line above)`,
  );
  console.log(
    `${"step".padEnd(56)} ${"new SA".padStart(8)} ${"gap".padStart(6)} ${"new TGT".padStart(8)}`,
  );
  let last = 0;
  for (const step of steps) {
    const x = med("sa", step);
    console.log(
      `${step.padEnd(56)} ${x.toFixed(2).padStart(8)} ${(x - last).toFixed(2).padStart(6)} ${med("tgt", step).toFixed(2).padStart(8)}`,
    );
    last = x;
  }
}

main().catch((e: Error) => {
  console.error(`bench/lab: ${e.message}`);
  process.exit(1);
});
