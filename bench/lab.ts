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
 *      page's last byte (`postern lab fetch`'s "ms")
 *   3. a table of medians, and ratios against strongSwan and against 1 s (Windows' best)
 *
 *   node dist/bench/lab.js [ROUNDS]    (root; default 10, between 3 and 100)
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
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
    const get = (): number => {
      const out = postern(["lab", "fetch", "http://198.18.0.20/", "--timeout-ms", "10000"], xpNs);
      const r = JSON.parse(out) as { served: boolean; ms: number; error?: string };
      if (!r.served) throw new Error(`xpclient was not served: ${r.error ?? "?"}`);
      return r.ms;
    };
    const settle = () => new Promise((r) => setTimeout(r, 200)); // Deletes reach server1
    const t = { up: [] as number[], sa: [] as number[], tgt: [] as number[], swan: [] as number[] };
    get(); // warm-up: the SA and the tickets exist
    for (let i = 0; i < rounds; i++) {
      t.up.push(get());
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
    row("page, new SA (PTR, IKE with Kerberos)", m.sa);
    row("page, new TGT (AS, TGS, PTR, IKE)", m.tgt);
    row("strongSwan PSK IKE_SA + child (charon)", m.swan);
  } finally {
    await swan?.stop();
    pair.destroy();
    spawnSync(process.execPath, [BIN, "--home", home, "lab", "down"], { encoding: "utf8" });
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`bench/lab: ${e.message}`);
  process.exit(1);
});
