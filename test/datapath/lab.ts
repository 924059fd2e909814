/**
 * A two-host lab for the data path: namespaces A and B joined by a veth pair, a
 * `postern agent` per namespace (child processes under `ip netns exec`), manual keying
 * files, and helpers to run commands inside. Everything is named with the "pdp" prefix and
 * removed by `destroy()` (agents killed by pid, namespaces deleted).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN, tempHome, uniqueName } from "../helpers/cli.js";

export const ADDR_A = "192.0.2.1";
export const ADDR_B = "192.0.2.2";

export interface Agent {
  proc: ChildProcess;
  home: string;
  out: () => string;
  exited: Promise<number | null>;
}

export interface Lab {
  nsA: string;
  nsB: string;
  vethA: string;
  vethB: string;
  dir: string;
  exec(ns: string, args: string[], timeoutMs?: number): { code: number; out: string; err: string };
  startAgent(ns: string, keying: object, tag: string): Promise<Agent>;
  stopAgent(a: Agent): Promise<number | null>;
  spawnIn(ns: string, args: string[]): ChildProcess;
  destroy(): void;
}

function sh(args: string[], timeoutMs = 20_000) {
  const r = spawnSync(args[0] as string, args.slice(1), { encoding: "utf8", timeout: timeoutMs });
  return { code: r.status ?? -1, out: r.stdout ?? "", err: r.stderr ?? "" };
}

function must(args: string[]): void {
  const r = sh(args);
  if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.err.trim()}`);
}

export function createLab(): Lab {
  const nsA = uniqueName("pdpa");
  const nsB = uniqueName("pdpb");
  const vethA = uniqueName("pdpva");
  const vethB = uniqueName("pdpvb");
  const tmp = tempHome("pdp");
  const children = new Set<ChildProcess>();
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
  const lab: Lab = {
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
    async startAgent(ns, keying, tag) {
      const home = path.join(tmp.dir, tag);
      fs.mkdirSync(home, { recursive: true });
      const file = path.join(home, "keys.json");
      fs.writeFileSync(file, JSON.stringify(keying, null, 2), { mode: 0o600 });
      const proc = lab.spawnIn(ns, [
        process.execPath,
        BIN,
        "--home",
        home,
        "agent",
        "--manual-sa",
        file,
      ]);
      let out = "";
      proc.stdout?.on("data", (d) => {
        out += d;
      });
      proc.stderr?.on("data", (d) => {
        out += d;
      });
      const exited = new Promise<number | null>((resolve) =>
        proc.once("exit", (code) => resolve(code)),
      );
      const ready = await Promise.race([
        new Promise<boolean>((resolve) => {
          const check = () => (out.includes("agent: ready") ? resolve(true) : undefined);
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
    },
    async stopAgent(a) {
      a.proc.kill("SIGTERM");
      const t = setTimeout(() => a.proc.kill("SIGKILL"), 10_000);
      const code = await a.exited;
      clearTimeout(t);
      return code;
    },
    destroy() {
      for (const p of children) if (p.pid !== undefined) p.kill("SIGKILL");
      sh(["ip", "netns", "del", nsA]);
      sh(["ip", "netns", "del", nsB]);
      tmp.cleanup();
    },
  };
  return lab;
}

/** Keying files for A and B: SPI 0x1001 carries A->B, 0x2002 carries B->A. */
export function keyingPair(
  transform: string,
  keys: { encKey?: string; authKey?: string; protocol?: string },
  opts: { mode?: string; bKeys?: { encKey?: string; authKey?: string; protocol?: string } } = {},
): { a: object; b: object } {
  const mode = opts.mode ?? "transport";
  const sa = (
    spi: number,
    direction: string,
    local: string,
    peer: string,
    k: { encKey?: string; authKey?: string; protocol?: string },
  ) => ({
    spi,
    direction,
    local,
    peer,
    mode,
    transform,
    ...k,
  });
  const bk = opts.bKeys ?? keys;
  return {
    a: {
      listen: { address: ADDR_A, port: 4500 },
      sas: [sa(0x1001, "out", ADDR_A, ADDR_B, keys), sa(0x2002, "in", ADDR_A, ADDR_B, keys)],
    },
    b: {
      listen: { address: ADDR_B, port: 4500 },
      sas: [sa(0x1001, "in", ADDR_B, ADDR_A, bk), sa(0x2002, "out", ADDR_B, ADDR_A, bk)],
    },
  };
}
