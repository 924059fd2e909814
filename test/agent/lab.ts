/**
 * A two-host lab for the policy-driven agent: namespaces A and B joined by a veth, each
 * with its own --home whose local store is written ONLY with `postern netsh ipsec static`
 * commands, and `postern agent` (no --manual-sa) run inside. Names use the "pag" prefix;
 * `destroy()` kills the agents it started by pid and deletes the namespaces.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN, cli, tempHome, uniqueName } from "../helpers/cli.js";

export const ADDR_A = "192.0.2.1";
export const ADDR_B = "192.0.2.2";

export interface Agent {
  proc: ChildProcess;
  home: string;
  out: () => string;
  exited: Promise<number | null>;
}

function sh(args: string[], timeoutMs = 20_000) {
  const r = spawnSync(args[0] as string, args.slice(1), { encoding: "utf8", timeout: timeoutMs });
  return { code: r.status ?? -1, out: r.stdout ?? "", err: r.stderr ?? "" };
}

function must(args: string[]): void {
  const r = sh(args);
  if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.err.trim()}`);
}

/** The netsh commands for a host protecting all traffic with `peer` ("encrypt"/"sign"). */
export function p2pPolicy(
  peer: string,
  qmsec: string,
  psk: string,
  extra: string[] = [],
): string[][] {
  return [
    ["add", "policy", "name=P2P"],
    ["add", "filterlist", "name=Peer"],
    ["add", "filter", "filterlist=Peer", "srcaddr=me", `dstaddr=${peer}`, "mirrored=yes"],
    ["add", "filteraction", "name=Protect", "action=negotiate", `qmsecmethods=${qmsec}`, ...extra],
    [
      "add",
      "rule",
      "name=Peer",
      "policy=P2P",
      "filterlist=Peer",
      "filteraction=Protect",
      "kerberos=no",
      `psk=${psk}`,
    ],
    ["set", "policy", "name=P2P", "assign=yes"],
  ];
}

export interface Lab {
  nsA: string;
  nsB: string;
  vethB: string;
  dir: string;
  exec(ns: string, args: string[], timeoutMs?: number): { code: number; out: string; err: string };
  spawnIn(ns: string, args: string[]): ChildProcess;
  /** A fresh home configured with these `netsh ipsec static` command lines. */
  home(tag: string, lines: string[][]): Promise<string>;
  startAgent(ns: string, home: string, args?: string[]): Promise<Agent>;
  stopAgent(a: Agent): Promise<number | null>;
  destroy(): void;
}

/** `prefix` names the namespaces, veths and temp dir (another suite passes its own). */
export function createLab(prefix = "pag"): Lab {
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
  } catch (e) {
    destroy();
    throw e;
  }
  const lab: Lab = {
    nsA,
    nsB,
    vethB,
    dir: tmp.dir,
    exec: (ns, args, timeoutMs) => sh(["ip", "netns", "exec", ns, ...args], timeoutMs),
    spawnIn(ns, args) {
      const p = spawn("ip", ["netns", "exec", ns, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      children.add(p);
      p.once("exit", () => children.delete(p));
      return p;
    },
    async home(tag, lines) {
      const home = path.join(tmp.dir, tag);
      fs.mkdirSync(home, { recursive: true });
      for (const l of lines) {
        const r = await cli(home, "netsh", "ipsec", "static", ...l);
        assert.equal(r.code, 0, `${l.join(" ")}: ${r.err}`);
      }
      return home;
    },
    async startAgent(ns, home, args = []) {
      const proc = lab.spawnIn(ns, [process.execPath, BIN, "--home", home, "agent", ...args]);
      let out = "";
      const add = (d: Buffer) => {
        out += d;
      };
      proc.stdout?.on("data", add);
      proc.stderr?.on("data", add);
      const exited = new Promise<number | null>((resolve) => proc.once("exit", (c) => resolve(c)));
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
      if (a.proc.exitCode !== null) return a.proc.exitCode;
      a.proc.kill("SIGTERM");
      const t = setTimeout(() => a.proc.kill("SIGKILL"), 10_000);
      const code = await a.exited;
      clearTimeout(t);
      return code;
    },
    destroy,
  };
  return lab;
}
