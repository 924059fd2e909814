/**
 * Firewall benchmarks (root; throwaway namespaces, removed at the end):
 * 1. apply N port openings (N = 10, 1,000, 10,000; scope ALL and scope CUSTOM), postern's
 *    applier (compile + read state + one transaction through libnftables in process)
 *    against the named peer "plain `nft -f` of the same ruleset text";
 * 2. addBypassPeer(), the bypass record's write, through libnftables; peers in the same run:
 *    the same through the `nft` program (POSTERN_NFT=process, what postern did before) and a
 *    plain `nft add element`.
 * The measuring process runs inside namespace A (it re-executes itself there), as the agent
 * does, so postern's writes take the in-process path (platform/libnftables.ts).
 * Run: node dist/bench/firewall.js [--smoke]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createApplier } from "../src/firewall/apply.js";
import { createBypassSet } from "../src/firewall/bypass.js";
import { compileRuleset } from "../src/firewall/compile.js";
import { defaultSettings, type FirewallSettings } from "../src/firewall/model.js";
import { createNftRunner } from "../src/firewall/nft.js";
import { createTopology } from "../test/firewall/netns.js";
import { SMOKE, sized } from "./smoke.js";

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

async function benchApply(): Promise<void> {
  const runner = createNftRunner();
  const applier = createApplier({ runner });
  console.log("apply N port openings (median of 3 runs; compile only: median of 21; ms)");
  console.log("N       scope   postern apply  plain nft -f  ratio  compile only");
  for (const scope of ["all", "custom"] as const) {
    for (const n of sized([10, 1000, 10000], [10, 50])) {
      const s = settingsWith(n, scope);
      const ours: number[] = [];
      const plain: number[] = [];
      const comp: number[] = [];
      for (let r = 0; r < sized(3, 1); r++) {
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
        execFileSync("nft", ["-f", "-"], { input: script });
        plain.push(ms(t2, process.hrtime.bigint()));
      }
      const [o, p] = [median(ours), median(plain)];
      console.log(
        `${String(n).padEnd(8)}${scope.padEnd(8)}${o.toFixed(1).padStart(13)}  ${p.toFixed(1).padStart(12)}  ${(o / p).toFixed(2).padStart(5)}  ${median(comp).toFixed(1).padStart(12)}`,
      );
    }
  }
}

/**
 * The bypass record's write. Since the bypass is bound to the SA (docs/firewall.md), a peer's
 * packets are admitted by the SA the data path installs, and the nft set is a record written
 * beside it; so this times the write itself: addBypassPeer() in process, the same through
 * the `nft` program, and a plain `nft add element`, interleaved.
 */
async function benchBypass(): Promise<void> {
  const runner = createNftRunner();
  await createApplier({ runner }).apply(defaultSettings(), { force: true });
  const set = createBypassSet(runner);
  const inProcess: number[] = [];
  const inProcessCpu: number[] = [];
  const program: number[] = [];
  const plain: number[] = [];
  const time = async (f: () => Promise<void> | void): Promise<number> => {
    const t0 = process.hrtime.bigint();
    await f();
    return ms(t0, process.hrtime.bigint());
  };
  for (let i = 0; i < sized(20, 2); i++) {
    await set.removeBypassPeer("10.31.1.2");
    const cpu = process.cpuUsage();
    inProcess.push(await time(() => set.addBypassPeer("10.31.1.2", 60)));
    const used = process.cpuUsage(cpu);
    inProcessCpu.push((used.user + used.system) / 1000);
    await set.removeBypassPeer("10.31.1.2");
    process.env.POSTERN_NFT = "process";
    try {
      program.push(await time(() => set.addBypassPeer("10.31.1.2", 60)));
    } finally {
      delete process.env.POSTERN_NFT;
    }
    plain.push(
      await time(() => {
        execFileSync("nft", [
          "add",
          "element",
          "inet",
          "postern",
          "bypass4",
          `{ 10.31.9.${i + 1} timeout 60s }`,
        ]);
      }),
    );
  }
  console.log("\naddBypassPeer: one bypass record written (20 runs each, interleaved, ms)");
  console.log("                                  median     min     max");
  const row = (name: string, xs: number[]) =>
    console.log(
      `${name.padEnd(33)}${median(xs).toFixed(2).padStart(8)}${Math.min(...xs)
        .toFixed(2)
        .padStart(8)}${Math.max(...xs)
        .toFixed(2)
        .padStart(8)}`,
    );
  row("addBypassPeer(), libnftables", inProcess);
  // CPU time of this process (all threads, user + kernel) during the call: the work itself,
  // without the wait for a CPU that a loaded machine adds to the wall clock.
  row("  same, CPU time of the call", inProcessCpu);
  row("addBypassPeer(), nft program", program);
  row("plain nft add element (peer)", plain);
  console.log(
    `ratio addBypassPeer in process / plain nft add element: ${(median(inProcess) / median(plain)).toFixed(3)}`,
  );
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("firewall bench: needs root (namespaces, nftables)");
    return;
  }
  if (process.argv[2] === "--inside") {
    await benchApply();
    await benchBypass();
    return;
  }
  const topo = createTopology();
  try {
    const self = process.argv[1] as string;
    const r = spawnSync(
      "ip",
      ["netns", "exec", topo.a, process.execPath, self, "--inside", ...(SMOKE ? ["--smoke"] : [])],
      {
        stdio: "inherit",
        timeout: 15 * 60_000,
      },
    );
    if (r.status !== 0) process.exitCode = 1;
  } finally {
    topo.cleanup();
  }
}

await main();
