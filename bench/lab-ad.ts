/**
 * The first page with a new TGT, from Samba AD's KDC versus from postern's DC, in one run:
 *
 *   1. two labs at once, each with a temporary home: `postern lab up` (postern's DC) and
 *      `postern lab up --dc samba` (dc1 and dc2 Samba AD DCs); their namespaces differ
 *   2. per round, alternating so both meet the same load: on xpclient
 *      `postern klist --machine purge`, then a GET of server1's page, timed inside
 *      xpclient's namespace from the first SYN to the last byte (`postern lab fetch`):
 *      AS exchange (Samba's AS-REP comes over TCP after KRB_ERR_RESPONSE_TOO_BIG), TGS for
 *      host/server1, PTR (cached by the agent after the first), IKE_SA_INIT, IKE_AUTH
 *   3. medians, and the ratio Samba / postern's DC
 *
 *   node dist/bench/lab-ad.js [ROUNDS]    (root, Samba installed; default 10, 3..100)
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, "../src/cli/main.js");
const rounds = Math.min(Math.max(Number(process.argv[2]) || 10, 3), 100);

function postern(args: string[], ns?: string, timeout = 120_000): string {
  const argv = [process.execPath, BIN, ...args];
  const full = ns ? ["ip", "netns", "exec", ns, ...argv] : argv;
  const r = spawnSync(full[0] as string, full.slice(1), { encoding: "utf8", timeout });
  if (r.status !== 0) throw new Error(`postern ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

interface Lab {
  home: string;
  xpNs: string;
  xpHome: string;
}

function up(dc: "postern" | "samba"): Lab {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `postern-benchad-${dc}-`));
  process.stderr.write(`bench/lab-ad: lab up --dc ${dc}...\n`);
  try {
    postern(["--home", home, "lab", "up", "--dc", dc], undefined, 600_000);
  } catch (e) {
    // a failed up took its lab down; its home is ours to remove
    fs.rmSync(home, { recursive: true, force: true });
    throw e;
  }
  const { id } = JSON.parse(fs.readFileSync(path.join(home, "lab", "state.json"), "utf8")) as {
    id: string;
  };
  return { home, xpNs: `${id}-xpclient`, xpHome: path.join(home, "lab", "xpclient") };
}

function down(lab: Lab): void {
  spawnSync(process.execPath, [BIN, "--home", lab.home, "lab", "down"], { encoding: "utf8" });
  fs.rmSync(lab.home, { recursive: true, force: true });
}

/** Purge, then the page: ms from the first SYN to the last byte. */
async function firstPageNewTgt(lab: Lab): Promise<number> {
  postern(["--home", lab.xpHome, "klist", "--machine", "purge"]);
  await new Promise((r) => setTimeout(r, 200)); // the Deletes reach server1
  const out = postern(["lab", "fetch", "http://198.18.0.20/", "--timeout-ms", "10000"], lab.xpNs);
  const r = JSON.parse(out) as { served: boolean; ms: number; error?: string };
  if (!r.served) throw new Error(`xpclient was not served: ${r.error ?? "?"}`);
  return r.ms;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("needs root (network namespaces)");
  const labs: Lab[] = [];
  try {
    labs.push(up("postern"));
    labs.push(up("samba"));
    const [own, ad] = labs as [Lab, Lab];
    await firstPageNewTgt(own); // warm-up: PTR names cached, KDCs located
    await firstPageNewTgt(ad);
    const t = { own: [] as number[], ad: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      t.own.push(await firstPageNewTgt(own));
      t.ad.push(await firstPageNewTgt(ad));
      process.stderr.write(`bench/lab-ad: round ${i + 1}/${rounds}\n`);
    }
    const m = { own: median(t.own), ad: median(t.ad) };
    console.log(
      `xpclient -> server1:80 after klist --machine purge (AS, TGS, IKE); ${rounds} rounds; load average ${os.loadavg()[0]?.toFixed(1)} on ${os.cpus().length} CPUs`,
    );
    console.log("KDC                                   median ms  vs postern's DC");
    const row = (name: string, x: number) =>
      console.log(
        `${name.padEnd(36)} ${x.toFixed(1).padStart(10)}  ${(x / m.own).toFixed(2).padStart(15)}`,
      );
    row("postern's DC (lab up)", m.own);
    row("Samba AD 4.17 (lab up --dc samba)", m.ad);
  } finally {
    for (const lab of labs) down(lab);
  }
}

main().catch((e: Error) => {
  console.error(`bench/lab-ad: ${e.message}`);
  process.exit(1);
});
