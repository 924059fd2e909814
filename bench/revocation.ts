/**
 * Revocation latency in the article's lab (issue 16): from the directory change (xpclient$
 * removed from `trusted` on dc1) to the last packet server1 admits from xpclient, for
 *   purge      the article's path: the change, then `postern klist --machine purge` on
 *              xpclient (its Kerberos SAs deleted, a new TGT without `trusted`), server1's
 *              agent as `lab up` starts it
 *   immediate  server1's agent with `--revocation immediate`: the change alone, no purge
 * in one run. Per round xpclient is put back in `trusted` with new tickets and served, a
 * TCP connect loop runs in xpclient's namespace (a new connection every 10 ms through the
 * SA to server1:80, 100 ms timeout each), the change is made (`net group ... /delete
 * /domain` through the DC's API; the time starts when it returns, the change committed),
 * and the loop's last successful connect after that is the last admitted packet. The
 * purge path's time includes running `klist --machine purge` on xpclient. Medians and the
 * ratio purge / immediate are printed.
 *
 *   node dist/bench/revocation.js [ROUNDS]    (root; default 5, between 3 and 30)
 *
 * `probe HOST PORT MS` is the loop itself (run by this file inside the namespace).
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { restartServer1 } from "../src/lab/check.js";
import { loadLabState } from "../src/lab/state.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, "../src/cli/main.js");
const SELF = fileURLToPath(import.meta.url);
const SERVER = "198.18.0.20";

/** The loop: a connect every 10 ms; prints each success's time (ms since epoch). */
async function probe(host: string, port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      const t = setTimeout(() => {
        s.destroy();
        resolve(false);
      }, 100);
      s.once("connect", () => {
        clearTimeout(t);
        s.destroy();
        resolve(true);
      });
      s.once("error", () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (ok) process.stdout.write(`${Date.now()}\n`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function postern(args: string[], ns?: string): string {
  const argv = [process.execPath, BIN, ...args];
  const full = ns ? ["ip", "netns", "exec", ns, ...argv] : argv;
  const r = spawnSync(full[0] as string, full.slice(1), { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`postern ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function bench(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("needs root (network namespaces)");
  const rounds = Math.min(Math.max(Number(process.argv[2]) || 5, 3), 30);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "postern-benchrev-"));
  try {
    process.stderr.write("bench/revocation: lab up...\n");
    postern(["--home", home, "lab", "up"]);
    const s = loadLabState(home);
    if (s === null) throw new Error("no lab state");
    const lab = (h: string) => path.join(home, "lab", h);
    const xpNs = `${s.id}-xpclient`;
    /** xpclient$ in trusted or not; "already a member" / "not a member" is no error. */
    const trusted = (add: boolean) => {
      try {
        postern([
          "--home",
          lab("dc1"),
          "net",
          "group",
          "trusted",
          "xpclient$",
          add ? "/add" : "/delete",
          "/domain",
        ]);
      } catch (e) {
        if (!/already|not a member/i.test((e as Error).message)) throw e;
      }
    };
    const served = async () => {
      for (let i = 0; i < 20; i++) {
        const out = postern(["lab", "fetch", `http://${SERVER}/`, "--timeout-ms", "3000"], xpNs);
        if (/"served":true/.test(out)) return;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error("xpclient is not served after being put back in trusted");
    };
    const round = async (purge: boolean): Promise<number> => {
      trusted(true);
      postern(["--home", lab("xpclient"), "klist", "--machine", "purge"]);
      await new Promise((r) => setTimeout(r, 1000)); // server1 hears of the re-add
      await served();
      const loop = spawn(
        "ip",
        ["netns", "exec", xpNs, process.execPath, SELF, "probe", SERVER, "80", "8000"],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let out = "";
      loop.stdout.on("data", (c: Buffer) => {
        out += c.toString();
      });
      const done = new Promise((r) => loop.once("exit", r));
      await new Promise((r) => setTimeout(r, 500)); // the loop is connecting
      trusted(false);
      // the change is committed when the command returns (its node start-up not counted)
      const t0 = Date.now();
      if (purge) postern(["--home", lab("xpclient"), "klist", "--machine", "purge"]);
      await done;
      const times = out.trim().split("\n").map(Number);
      const last = Math.max(...times.filter((t) => t >= t0), t0);
      if (times[times.length - 1] === last && last > t0 && last > Date.now() - 1000)
        throw new Error("still admitted when the loop ended");
      return last - t0;
    };
    const purgeMs: number[] = [];
    for (let i = 0; i < rounds; i++) purgeMs.push(await round(true));
    process.stderr.write("bench/revocation: server1's agent with --revocation immediate\n");
    trusted(true);
    await restartServer1({ home }, s, ["--revocation", "immediate"]);
    const immediateMs: number[] = [];
    for (let i = 0; i < rounds; i++) immediateMs.push(await round(false));
    const p = median(purgeMs);
    const im = median(immediateMs);
    process.stdout.write(
      [
        `revocation latency, directory change to the last admitted connect (${rounds} rounds, median)`,
        `  purge path (change + klist --machine purge on xpclient)  ${p} ms   [${purgeMs.join(", ")}]`,
        `  immediate (--revocation immediate on server1, no purge)  ${im} ms   [${immediateMs.join(", ")}]`,
        `  purge / immediate: ${(p / Math.max(im, 1)).toFixed(2)}`,
        "",
      ].join("\n"),
    );
  } finally {
    spawnSync(process.execPath, [BIN, "--home", home, "lab", "down"], { encoding: "utf8" });
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[2] === "probe")
  void probe(process.argv[3] as string, Number(process.argv[4]), Number(process.argv[5]));
else if (process.argv[1] === SELF)
  bench().catch((e: Error) => {
    process.stderr.write(`bench/revocation: ${e.message}\n`);
    process.exit(1);
  });
