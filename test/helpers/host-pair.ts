/**
 * Two test hosts: namespaces A and B joined by one veth pair (192.0.2.1 and .2, TEST-NET-1,
 * no default route), commands and child processes run inside them, and `postern agent`
 * started in a namespace and awaited until it says "agent: ready". Everything is named with
 * the caller's prefix and removed by `destroy()`: children killed by pid, namespaces deleted,
 * the temporary directory removed. The data-path and agent labs build on this.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { BIN, tempHome, uniqueName } from "./cli.js";

export const ADDR_A = "192.0.2.1";
export const ADDR_B = "192.0.2.2";

export interface Agent {
  proc: ChildProcess;
  home: string;
  out: () => string;
  exited: Promise<number | null>;
}

export interface HostPair {
  nsA: string;
  nsB: string;
  vethA: string;
  vethB: string;
  /** A temporary directory for homes and files, removed by destroy(). */
  dir: string;
  exec(ns: string, args: string[], timeoutMs?: number): { code: number; out: string; err: string };
  spawnIn(ns: string, args: string[]): ChildProcess;
  /** `postern --home HOME agent ARGS...` in `ns`, resolved once it is ready. */
  startAgent(ns: string, home: string, args: string[]): Promise<Agent>;
  /** SIGTERM (SIGKILL after 10 s); the exit code. */
  stopAgent(a: Agent): Promise<number | null>;
  destroy(): void;
}

export function sh(args: string[], timeoutMs = 20_000) {
  const r = spawnSync(args[0] as string, args.slice(1), { encoding: "utf8", timeout: timeoutMs });
  return { code: r.status ?? -1, out: r.stdout ?? "", err: r.stderr ?? "" };
}

function must(args: string[]): void {
  const r = sh(args);
  if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.err.trim()}`);
}

function link(nsA: string, nsB: string, vethA: string, vethB: string): void {
  must(["ip", "netns", "add", nsA]);
  must(["ip", "netns", "add", nsB]);
  must([
    "ip",
    "link",
    "add",
    vethA,
    "netns",
    nsA,
    "type",
    "veth",
    "peer",
    "name",
    vethB,
    "netns",
    nsB,
  ]);
  for (const [ns, dev, addr] of [
    [nsA, vethA, ADDR_A],
    [nsB, vethB, ADDR_B],
  ] as const) {
    must(["ip", "-n", ns, "link", "set", "lo", "up"]);
    must(["ip", "-n", ns, "addr", "add", `${addr}/24`, "dev", dev]);
    must(["ip", "-n", ns, "link", "set", dev, "up"]);
  }
  // The kernel marks a link RUNNING (operstate UP) through linkwatch, up to a second after
  // both ends are up; until then an agent's address lookup (getifaddrs) does not list it,
  // and `postern agent` started at once says "no IPv4 address on this host".
  for (const [ns, dev] of [
    [nsA, vethA],
    [nsB, vethB],
  ] as const)
    waitOperUp(ns, dev, 5_000);
}

function waitOperUp(ns: string, dev: string, timeoutMs: number): void {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = sh(["ip", "-n", ns, "-j", "link", "show", "dev", dev]);
    const state = r.code === 0 ? (JSON.parse(r.out) as { operstate?: string }[])[0]?.operstate : "";
    if (state === "UP") return;
    if (Date.now() > until) throw new Error(`${dev} in ${ns}: operstate ${state}, not UP`);
    sh(["sleep", "0.05"]);
  }
}

async function waitReady(proc: ChildProcess, ns: string, home: string): Promise<Agent> {
  let out = "";
  const add = (d: Buffer) => {
    out += d;
  };
  proc.stdout?.on("data", add);
  proc.stderr?.on("data", add);
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (c) => resolve(c)));
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => {
      // "agent: ready" as text, or the same record in --log-format json.
      const check = () =>
        /agent: ready|"component":"agent","msg":"ready: /.test(out) ? resolve(true) : undefined;
      proc.stdout?.on("data", check);
      check();
    }),
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000)),
  ]);
  if (!ready) {
    proc.kill("SIGKILL");
    throw new Error(`agent in ${ns} did not start: ${out}`);
  }
  return { proc, home, out: () => out, exited };
}

export function createHostPair(prefix: string): HostPair {
  const nsA = uniqueName(`${prefix}a`);
  const nsB = uniqueName(`${prefix}b`);
  const vethA = uniqueName(`${prefix}va`);
  const vethB = uniqueName(`${prefix}vb`);
  const tmp = tempHome(prefix);
  const children = new Set<ChildProcess>();
  const destroy = () => {
    for (const p of children) if (p.pid !== undefined) p.kill("SIGKILL");
    sh(["ip", "netns", "del", nsA]);
    sh(["ip", "netns", "del", nsB]);
    tmp.cleanup();
  };
  try {
    link(nsA, nsB, vethA, vethB);
  } catch (e) {
    destroy();
    throw e;
  }
  const pair: HostPair = {
    nsA,
    nsB,
    vethA,
    vethB,
    dir: tmp.dir,
    exec: (ns, args, timeoutMs) => sh(["ip", "netns", "exec", ns, ...args], timeoutMs),
    spawnIn(ns, args) {
      const p = spawn("ip", ["netns", "exec", ns, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      children.add(p);
      p.once("exit", () => children.delete(p));
      return p;
    },
    startAgent(ns, home, args) {
      const proc = pair.spawnIn(ns, [process.execPath, BIN, "--home", home, "agent", ...args]);
      return waitReady(proc, ns, home);
    },
    async stopAgent(a) {
      if (a.proc.exitCode !== null) return a.proc.exitCode;
      a.proc.kill("SIGTERM");
      const t = setTimeout(() => a.proc.kill("SIGKILL"), 10_000);
      const code = await a.exited;
      clearTimeout(t);
      return code;
    },
    destroy,
  };
  return pair;
}

/**
 * tcpdump on B's end of the veth writing every IP frame to `pcap` unbuffered (`extra`: more
 * tcpdump options, e.g. `-c 6`); wait for "listening on" before sending.
 */
export function captureOnB(
  pair: Pick<HostPair, "nsB" | "vethB" | "spawnIn">,
  pcap: string,
  extra: string[] = [],
): ChildProcess {
  return pair.spawnIn(pair.nsB, [
    "tcpdump",
    "-i",
    pair.vethB,
    "-n",
    "-U",
    ...extra,
    "-w",
    pcap,
    "ip",
  ]);
}

/** A TCP echo server on B (answers in upper case) for `node -e`; exits after 60 s. */
export function echoServerScript(port: number): string {
  return `const s=require("net").createServer(c=>c.on("data",d=>c.write(d.toString().toUpperCase())));s.listen(${port},"${ADDR_B}",()=>console.log("listening"));setTimeout(()=>process.exit(0),60000)`;
}

/** Its client for `node -e SCRIPT MARKER BYTES`: prints "<bytes> <first 40 chars>". */
export function echoClientScript(port: number): string {
  return `const total=Number(process.argv[2]);const msg=Buffer.from(process.argv[1].repeat(Math.ceil(total/process.argv[1].length)).slice(0,total));let got=0;let first="";const c=require("net").connect(${port},"${ADDR_B}",()=>c.write(msg));c.on("data",d=>{if(!first)first=d.toString().slice(0,40);got+=d.length;if(got>=total){console.log(got+" "+first);c.end();process.exit(0)}});c.on("error",e=>{console.log("error "+e.message);process.exit(2)});setTimeout(()=>{console.log("timeout "+got);process.exit(3)},15000)`;
}

/** Whether `text` shows on the child's stdout or stderr within `ms`. */
export function waitOutput(proc: ChildProcess, text: string, ms: number): Promise<boolean> {
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

/** SIGINT, then SIGKILL after 5 s; resolves when the child has exited. */
export async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const done = new Promise((r) => p.once("exit", r));
  p.kill("SIGINT");
  const t = setTimeout(() => p.kill("SIGKILL"), 5000);
  await done;
  clearTimeout(t);
}
