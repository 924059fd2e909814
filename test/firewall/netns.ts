/**
 * Test topology for the firewall suites (see cases.ts): two namespaces joined by a veth
 * pair, plus a second veth pair whose server end is named postern0 (standing for the TUN)
 * and a third whose server end is named postern-bp (standing for the bypass device).
 * Everything is created with unique names and removed by cleanup(), also on failure.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";
import { fileURLToPath } from "node:url";
import { uniqueName } from "../helpers/cli.js";

export const PEER_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), "peer.js");

export function sh(args: string[], input?: string): string {
  return execFileSync(args[0] as string, args.slice(1), {
    encoding: "utf8",
    input,
    timeout: 30_000,
  });
}

export function inNs(ns: string, args: string[]): string {
  return sh(["ip", "netns", "exec", ns, ...args]);
}

export interface Topology {
  a: string;
  b: string;
  cleanup(): void;
}

export function createTopology(): Topology {
  const a = uniqueName("pfwa");
  const b = uniqueName("pfwb");
  const created: string[] = [];
  const cleanup = (): void => {
    for (const ns of created.reverse()) {
      try {
        sh(["ip", "netns", "del", ns]);
      } catch {
        // already gone
      }
    }
  };
  try {
    for (const ns of [a, b]) {
      sh(["ip", "netns", "add", ns]);
      created.push(ns);
      inNs(ns, ["ip", "link", "set", "lo", "up"]);
    }
    sh([
      "ip",
      "-n",
      a,
      "link",
      "add",
      "vethA",
      "type",
      "veth",
      "peer",
      "name",
      "vethB",
      "netns",
      b,
    ]);
    sh([
      "ip",
      "-n",
      a,
      "link",
      "add",
      "postern0",
      "type",
      "veth",
      "peer",
      "name",
      "tunB",
      "netns",
      b,
    ]);
    sh([
      "ip",
      "-n",
      a,
      "link",
      "add",
      "postern-bp",
      "type",
      "veth",
      "peer",
      "name",
      "bpB",
      "netns",
      b,
    ]);
    const cmds: [string, string[]][] = [
      [a, ["ip", "addr", "add", "10.31.1.1/24", "dev", "vethA"]],
      [a, ["ip", "addr", "add", "fd00:31:1::1/64", "dev", "vethA", "nodad"]],
      [a, ["ip", "addr", "add", "10.31.9.1/24", "dev", "postern0"]],
      [a, ["ip", "addr", "add", "fd00:31:9::1/64", "dev", "postern0", "nodad"]],
      [a, ["ip", "link", "set", "vethA", "up"]],
      [a, ["ip", "link", "set", "postern0", "up"]],
      [a, ["ip", "addr", "add", "10.31.10.1/24", "dev", "postern-bp"]],
      [a, ["ip", "addr", "add", "fd00:31:10::1/64", "dev", "postern-bp", "nodad"]],
      [a, ["ip", "link", "set", "postern-bp", "up"]],
      [a, ["ip", "route", "add", "10.31.5.0/24", "dev", "vethA"]],
      [b, ["ip", "addr", "add", "10.31.1.2/24", "dev", "vethB"]],
      [b, ["ip", "addr", "add", "10.31.1.3/24", "dev", "vethB"]],
      [b, ["ip", "addr", "add", "10.31.5.2/32", "dev", "vethB"]],
      [b, ["ip", "addr", "add", "fd00:31:1::2/64", "dev", "vethB", "nodad"]],
      [b, ["ip", "link", "set", "vethB", "up"]],
      [b, ["ip", "link", "set", "tunB", "up"]],
      [b, ["ip", "route", "add", "10.31.9.1/32", "dev", "tunB"]],
      [b, ["ip", "route", "add", "fd00:31:9::1/128", "dev", "tunB"]],
      [b, ["ip", "link", "set", "bpB", "up"]],
      [b, ["ip", "route", "add", "10.31.10.1/32", "dev", "bpB"]],
      [b, ["ip", "route", "add", "fd00:31:10::1/128", "dev", "bpB"]],
    ];
    for (const [ns, c] of cmds) inNs(ns, c);
    for (const ns of [a, b]) {
      inNs(ns, ["sh", "-c", "for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > $f; done"]);
    }
  } catch (e) {
    cleanup();
    throw e;
  }
  return { a, b, cleanup };
}

/** A peer.js process in a namespace, with a promise-based probe(). */
export interface PeerProc {
  pid: number;
  probe(req: object): Promise<{ ok: boolean; error?: string }>;
  stop(): void;
}

export async function startPeer(ns: string, serveArgs: string[]): Promise<PeerProc> {
  const child: ChildProcessWithoutNullStreams = spawn(
    "ip",
    ["netns", "exec", ns, process.execPath, PEER_JS, "serve", ...serveArgs],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  const rl = readline.createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  rl.on("line", (l) => waiting.shift()?.(l));
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`peer in ${ns}: no answer`)), 15_000);
      waiting.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
  const ready = await next();
  if (ready !== "ready") throw new Error(`peer in ${ns}: ${ready}`);
  return {
    pid: child.pid as number,
    async probe(req) {
      const p = next();
      child.stdin.write(`${JSON.stringify(req)}\n`);
      return JSON.parse(await p) as { ok: boolean; error?: string };
    },
    stop() {
      child.stdin.end();
      try {
        process.kill(child.pid as number, "SIGKILL");
      } catch {
        // exited
      }
    },
  };
}
