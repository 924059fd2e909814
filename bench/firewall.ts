/**
 * Firewall benchmarks (root; throwaway namespaces, removed at the end):
 * 1. apply N port openings (N = 10, 1,000, 10,000; scope ALL and scope CUSTOM), postern's
 *    applier (compile + read state + one `nft -f`) against the named peer "plain nft -f of
 *    the same ruleset text";
 * 2. from addBypassPeer() to the first accepted packet: a sender in namespace B sends a UDP
 *    datagram every 0.5 ms over the "TUN" link; the receiver in A stamps the first one that
 *    passes (CLOCK_MONOTONIC, shared by processes). Peer: a plain `nft add element`.
 * Run: node dist/bench/firewall.js
 */
import { execFileSync, spawn } from "node:child_process";
import * as readline from "node:readline";
import { createApplier } from "../src/firewall/apply.js";
import { createBypassSet } from "../src/firewall/bypass.js";
import { compileRuleset } from "../src/firewall/compile.js";
import { defaultSettings, type FirewallSettings } from "../src/firewall/model.js";
import { createNftRunner } from "../src/firewall/nft.js";
import { createTopology } from "../test/firewall/netns.js";

const ms = (t0: bigint, t1: bigint): number => Number(t1 - t0) / 1e6;
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function settingsWith(n: number, scope: "all" | "custom"): FirewallSettings {
  const s = defaultSettings();
  for (let i = 0; i < n; i++) {
    s.profiles.standard.portOpenings.push({
      protocol: "tcp",
      port: 1 + i,
      name: `p${i}`,
      enabled: true,
      scope,
      addresses: scope === "custom" ? [`10.${(i >> 8) & 255}.${i & 255}.0/24`] : [],
    });
  }
  return s;
}

async function benchApply(ns: string): Promise<void> {
  const runner = createNftRunner({ netns: ns });
  const applier = createApplier({ runner });
  console.log("apply N port openings (median of 3 runs; compile only: median of 21; ms)");
  console.log("N       scope   postern apply  plain nft -f  ratio  compile only");
  for (const scope of ["all", "custom"] as const) {
    for (const n of [10, 1000, 10000]) {
      const s = settingsWith(n, scope);
      const ours: number[] = [];
      const plain: number[] = [];
      const comp: number[] = [];
      for (let r = 0; r < 3; r++) {
        await applier.remove();
        const t0 = process.hrtime.bigint();
        await applier.apply(s, { force: true });
        ours.push(ms(t0, process.hrtime.bigint()));
        const subnets = await runner.localSubnets();
        let script = "";
        for (let k = 0; k < 7; k++) {
          const t1 = process.hrtime.bigint();
          script = compileRuleset({ settings: s, localSubnets: subnets }).script;
          comp.push(ms(t1, process.hrtime.bigint()));
        }
        await applier.remove();
        const t2 = process.hrtime.bigint();
        execFileSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: script });
        plain.push(ms(t2, process.hrtime.bigint()));
      }
      const [o, p] = [median(ours), median(plain)];
      console.log(
        `${String(n).padEnd(8)}${scope.padEnd(8)}${o.toFixed(1).padStart(13)}  ${p.toFixed(1).padStart(12)}  ${(o / p).toFixed(2).padStart(5)}  ${median(comp).toFixed(1).padStart(12)}`,
      );
    }
  }
}

const RECEIVER = `
const d = require("node:dgram").createSocket("udp4");
const seen = new Set();
d.on("message", (m, r) => { if (!seen.has(r.port)) { seen.add(r.port); process.stdout.write(r.port + " " + process.hrtime.bigint() + "\\n"); } });
d.bind(81, () => process.stdout.write("ready\\n"));`;
const SENDER = `
const dgram = require("node:dgram");
let s = null, t = null;
require("node:readline").createInterface({ input: process.stdin }).on("line", (l) => {
  if (t) clearInterval(t); if (s) s.close();
  s = dgram.createSocket("udp4");
  s.bind({ address: "10.31.1.2", port: Number(l) }, () => { t = setInterval(() => s.send("x", 81, "10.31.9.1"), 0.5); process.stdout.write("sending\\n"); });
});`;

function lines(child: ReturnType<typeof spawn>): () => Promise<string> {
  const rl = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  rl.on("line", (l) => (waiters.length ? waiters.shift()?.(l) : queue.push(l)));
  return () =>
    new Promise((resolve, reject) => {
      const q = queue.shift();
      if (q !== undefined) return resolve(q);
      const t = setTimeout(() => reject(new Error("no answer in 5 s")), 5000);
      waiters.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
}

async function benchBypass(a: string, b: string): Promise<void> {
  const runner = createNftRunner({ netns: a });
  await createApplier({ runner }).apply(defaultSettings(), { force: true });
  const set = createBypassSet(runner);
  const recv = spawn("ip", ["netns", "exec", a, process.execPath, "-e", RECEIVER]);
  const send = spawn("ip", ["netns", "exec", b, process.execPath, "-e", SENDER]);
  try {
    const nextR = lines(recv);
    const nextS = lines(send);
    if ((await nextR()) !== "ready") throw new Error("receiver");
    const toFirst: number[] = [];
    const call: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < 10; i++) {
      await set.removeBypassPeer("10.31.1.2");
      send.stdin?.write(`${30000 + i}\n`);
      await nextS();
      await new Promise((r) => setTimeout(r, 50)); // blocked packets flow meanwhile
      const t0 = process.hrtime.bigint();
      await set.addBypassPeer("10.31.1.2", 60);
      call.push(ms(t0, process.hrtime.bigint()));
      const [, stamp] = (await nextR()).split(" ");
      toFirst.push(ms(t0, BigInt(stamp as string)));
      const t2 = process.hrtime.bigint();
      execFileSync("ip", [
        "netns",
        "exec",
        a,
        "nft",
        "add",
        "element",
        "inet",
        "postern",
        "bypass4",
        "{ 10.31.9.9 timeout 60s }",
      ]);
      plain.push(ms(t2, process.hrtime.bigint()));
    }
    console.log("\naddBypassPeer -> first accepted packet (10 runs, ms)");
    console.log("                             median     min     max");
    const row = (name: string, xs: number[]) =>
      console.log(
        `${name.padEnd(28)}${median(xs).toFixed(1).padStart(8)}${Math.min(...xs)
          .toFixed(1)
          .padStart(8)}${Math.max(...xs)
          .toFixed(1)
          .padStart(8)}`,
      );
    row("add -> first accepted packet", toFirst);
    row("addBypassPeer() call", call);
    row("plain nft add element", plain);
    console.log(
      `ratio addBypassPeer / plain nft add element: ${(median(call) / median(plain)).toFixed(2)}`,
    );
  } finally {
    send.stdin?.end();
    for (const c of [recv, send]) if (c.pid) process.kill(c.pid, "SIGKILL");
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("firewall bench: needs root (namespaces, nftables)");
    return;
  }
  const topo = createTopology();
  try {
    await benchApply(topo.a);
    await benchBypass(topo.a, topo.b);
  } finally {
    topo.cleanup();
  }
}

await main();
