/**
 * KDC throughput: our KDC (the `postern kdc` runner, a separate Node process) against MIT's
 * `krb5kdc` (a throw-away realm with disable_last_success = true), same run, same load
 * generator, same principals and enctype (aes256-cts-hmac-sha1-96):
 *
 *   1. both realms hold alice (password) and host/server1 (random key for MIT, password for
 *      ours); realm name MIT.TEST for both, so alice's key (salt MIT.TESTalice) is the same
 *   2. pre-build N AS-REQs with PA-ENC-TIMESTAMP and distinct nonces (no reply cache hit),
 *      get a TGT from each KDC, pre-build N TGS-REQs for host/server1 per KDC
 *   3. send them over UDP on loopback, CONCURRENCY requests in flight, each answered
 *      before the next is sent on that slot; bounded by N and TIME_LIMIT_MS per slice;
 *      each phase in ROUNDS slices with the two KDCs alternating
 *   4. exchanges/s = answered / wall time; CPU per exchange = delta of the server's
 *      utime+stime (/proc/PID/stat) / answered
 *
 * Pinning (issue 18 item 3, bench/kdc-scaling.ts runs the combinations): KDC_BENCH_KDC_CPUS
 * (a taskset list, e.g. "1" or "0-1") puts both KDCs, every thread, on those CPUs;
 * KDC_BENCH_GEN_CPUS this load generator.
 *
 * Usage: node dist/bench/kdc.js [N=20000] [CONCURRENCY=8] [WARMUP=3000] [WORKERS] [--smoke]
 * (WORKERS: `postern kdc --workers`, worker threads running our KDC core; default the
 * runner's, one per CPU. MIT's krb5kdc is one process with one thread.)
 * (WARMUP: AS and TGS exchanges sent to each KDC before the measured phases; Node's JIT needs
 * a few thousand to reach steady state, MIT's C code none.)
 * (N: 20,000 since session 9. With 2,000 a slice was 250 exchanges, 50-100 ms of wall time
 * and 3-6 ticks of /proc's 10 ms CPU clock per KDC, so one tick more or less moved a slice's
 * CPU per exchange by 15-30 %: one build (7997af7) gave single-account AS ratios of
 * 0.86-1.07 in five quiet runs and 1.23 in a sixth at load 4. With 20,000 a slice lasts
 * about half a second.)
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { getEnctype, KeyUsage } from "../src/kerberos/crypto/index.js";
import { decodeKrbMessage } from "../src/kerberos/messages/index.js";
import {
  buildAsReq,
  buildTgsReq,
  type Creds,
  expectCreds,
  principal,
  readReply,
} from "../test/kerberos-kdc/client.js";
import { shebangNodeOptions } from "../src/lab/run.js";
import { createMitRealm, freePort } from "../test/kerberos-codec/mit-realm.js";
import { sized } from "./smoke.js";

const ARGS = process.argv.slice(2).filter((a) => a !== "--smoke");
const N = Number(ARGS[0] ?? sized(20_000, 50));
const CONCURRENCY = Number(ARGS[1] ?? sized(8, 2));
const WARMUP = Number(ARGS[2] ?? sized(3000, 5));
const WORKERS = ARGS[3];
/** Users for the distinct-accounts AS phase (env KDC_BENCH_ACCOUNTS, default 1200; 0: no phase). */
const ACCOUNTS = Math.max(0, Number(process.env.KDC_BENCH_ACCOUNTS ?? sized(1200, 20)));
/** Slices per measured phase, the KDCs alternating (env KDC_BENCH_ROUNDS, default 8). */
const ROUNDS = Math.max(1, Number(process.env.KDC_BENCH_ROUNDS ?? sized(8, 2)));
const TIME_LIMIT_MS = 60_000;
const REALM = "MIT.TEST";
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");
const TICKS = 100; // USER_HZ on Linux

/** CPUs for both KDCs and for this load generator (taskset lists), if pinned. */
const KDC_CPUS = process.env.KDC_BENCH_KDC_CPUS;
const GEN_CPUS = process.env.KDC_BENCH_GEN_CPUS;

/** Every thread of `pid` onto `cpus` (threads it starts later inherit the mask). */
function pin(pid: number, cpus: string): void {
  const r = spawnSync("taskset", ["-a", "-pc", cpus, String(pid)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`taskset -a -pc ${cpus} ${pid}: ${r.stderr.trim()}`);
}

/** User and system CPU of a process in ms (/proc/PID/stat fields 14, 15: utime, stime). */
function cpuMs(pid: number): { user: number; sys: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: (Number(f[11]) * 1000) / TICKS, sys: (Number(f[12]) * 1000) / TICKS };
}

function exchange(
  sock: dgram.Socket,
  port: number,
  msg: Uint8Array,
  waiters: Map<number, (b: Buffer) => void>,
  slot: number,
) {
  return new Promise<Buffer | undefined>((resolve) => {
    const timer = setTimeout(() => {
      waiters.delete(slot);
      resolve(undefined);
    }, 2000);
    waiters.set(slot, (b) => {
      clearTimeout(timer);
      resolve(b);
    });
    sock.send(msg, port, "127.0.0.1");
  });
}

interface PhaseResult {
  answered: number;
  ok: number;
  errors: number;
  lost: number;
  wallMs: number;
  cpuMs: number;
  sysMs: number;
  /** CPU of this load generator (all its threads) during the phase. */
  genMs: number;
}

function emptyPhase(): PhaseResult {
  return { answered: 0, ok: 0, errors: 0, lost: 0, wallMs: 0, cpuMs: 0, sysMs: 0, genMs: 0 };
}

/** Adds phase `b` into `a` (the rounds of one side). */
function addPhase(a: PhaseResult, b: PhaseResult): void {
  for (const k of Object.keys(a) as (keyof PhaseResult)[]) a[k] += b[k];
}

/** CONCURRENCY slots, each a UDP socket sending its share of `reqs` one at a time. */
async function load(port: number, pid: number, reqs: Uint8Array[]): Promise<PhaseResult> {
  const socks = Array.from({ length: CONCURRENCY }, () => dgram.createSocket("udp4"));
  const waiters = socks.map(() => new Map<number, (b: Buffer) => void>());
  socks.forEach((s, i) => {
    s.on("message", (m) => {
      waiters[i]!.get(0)?.(m);
      waiters[i]!.delete(0);
    });
  });
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()))));
  const r = emptyPhase();
  let next = 0;
  const cpu0 = cpuMs(pid);
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    socks.map(async (s, i) => {
      while (next < reqs.length && performance.now() - t0 < TIME_LIMIT_MS) {
        const msg = reqs[next++]!;
        const reply = await exchange(s, port, msg, waiters[i]!, 0);
        if (!reply) {
          r.lost++;
          continue;
        }
        r.answered++;
        if (decodeKrbMessage(new Uint8Array(reply)).type === "KRB-ERROR") r.errors++;
        else r.ok++;
      }
    }),
  );
  r.wallMs = performance.now() - t0;
  const gen = process.cpuUsage(gen0);
  r.genMs = (gen.user + gen.system) / 1000;
  const cpu1 = cpuMs(pid);
  r.cpuMs = cpu1.user + cpu1.sys - cpu0.user - cpu0.sys;
  r.sysMs = cpu1.sys - cpu0.sys;
  for (const s of socks) s.close();
  return r;
}

const aliceKey = { etype: 18, key: getEnctype(18).stringToKey("alice-pw", `${REALM}alice`) };

function asReqs(n: number): Uint8Array[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) =>
    buildAsReq({
      realm: REALM,
      cname: principal("alice"),
      etypes: [18],
      key: aliceKey,
      nowMs: now,
      nonce: 1_000_000 + i,
    }),
  );
}

/** Account `i` of the ACCOUNTS users (password = name), for the distinct-accounts phase. */
const userName = (i: number) => `user${i}`;
const userKeys = new Map<number, { etype: number; key: Uint8Array }>();
function userKey(i: number) {
  let k = userKeys.get(i);
  if (!k) {
    k = { etype: 18, key: getEnctype(18).stringToKey(userName(i), `${REALM}${userName(i)}`) };
    userKeys.set(i, k);
  }
  return k;
}

/**
 * AS-REQs that go round the ACCOUNTS users from account `from`: each request is for another
 * account than the ACCOUNTS - 1 before it: a KDC logging on a domain's machines in turn.
 * Our KDC's caches (16,384 PAC layouts, 65,536 derived keys) hold 1,200 accounts after the
 * warm-up (before session 8 they held 1,024 and this phase missed them all);
 * `bench/kdc-core.ts` has a 20,000-account column where they miss.
 */
function userAsReqs(n: number, from: number): Uint8Array[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => {
    const u = (from + i) % ACCOUNTS;
    return buildAsReq({
      realm: REALM,
      cname: principal(userName(u)),
      etypes: [18],
      key: userKey(u),
      nowMs: now,
      nonce: 3_000_000 + from + i,
    });
  });
}

async function tgt(port: number): Promise<Creds> {
  const s = dgram.createSocket("udp4");
  const w = new Map<number, (b: Buffer) => void>();
  s.on("message", (m) => w.get(0)?.(m));
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const reply = await exchange(s, port, asReqs(1)[0]!, w, 0);
  s.close();
  if (!reply) throw new Error(`no AS reply from port ${port}`);
  return expectCreds(readReply(new Uint8Array(reply), aliceKey, KeyUsage.AS_REP_ENC_PART));
}

function tgsReqs(creds: Creds, n: number): Uint8Array[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) =>
    buildTgsReq({
      realm: REALM,
      tgt: creds,
      cname: principal("alice"),
      sname: principal("host", "server1.mit.test"),
      etypes: [18],
      nowMs: now,
      nonce: 2_000_000 + i,
    }),
  );
}

async function startOurs(
  dir: string,
): Promise<{ port: number; child: ChildProcess; workers: string }> {
  const port = await freePort();
  const db = path.join(dir, "db.json");
  fs.writeFileSync(
    db,
    JSON.stringify({
      realm: REALM,
      domainSid: "S-1-5-21-5-6-7",
      // MIT's default keys for a new principal (aes256 and aes128, SHA-1), as kadmin made them.
      enctypes: [18, 17],
      krbtgtPassword: "krbtgt-bench",
      principals: [
        { name: "alice", password: "alice-pw", rid: 1104, groups: [1105] },
        { name: "SERVER1$", password: "server1-pw", rid: 1107, aliases: ["host/server1.mit.test"] },
        ...Array.from({ length: ACCOUNTS }, (_, i) => ({
          name: userName(i),
          password: userName(i),
          rid: 5000 + i,
          groups: [1105, 1106 + (i % 7)],
        })),
      ],
    }),
  );
  // Node as the installed `postern` runs it (main.js's #! options), then KDC_NODE_ARGS:
  // extra node options for our KDC only (e.g. "--cpu-prof" to profile it).
  const nodeArgs = (process.env.KDC_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      ...shebangNodeOptions(BIN),
      ...nodeArgs,
      BIN,
      "kdc",
      "--db",
      db,
      "--port",
      String(port),
      ...(WORKERS === undefined ? [] : ["--workers", WORKERS]),
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout!.on("data", (d) => {
    out += String(d);
  });
  // Up to 60 s: the runner derives every account's keys from its password at start.
  for (let i = 0; i < 2400 && !out.includes("listening") && child.exitCode === null; i++)
    await new Promise((r) => setTimeout(r, 25));
  if (!out.includes("listening")) throw new Error(`postern kdc did not start: ${out}`);
  return { port, child, workers: /workers: (\d+)/.exec(out)?.[1] ?? "?" };
}

const row = (name: string, kind: string, r: PhaseResult) => {
  const rate = (r.answered / r.wallMs) * 1000;
  const cpu = (r.cpuMs * 1000) / Math.max(1, r.answered);
  const sys = (r.sysMs * 1000) / Math.max(1, r.answered);
  const gen = (r.genMs * 1000) / Math.max(1, r.answered);
  return { name, kind, rate, cpu, sys, gen, r };
};

async function main() {
  if (GEN_CPUS) pin(process.pid, GEN_CPUS);
  const mit = await createMitRealm("bench");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pkd-bench-"));
  let ours: Awaited<ReturnType<typeof startOurs>> | undefined;
  try {
    mit.ok("kadmin.local", ["-q", "addprinc -pw alice-pw +preauth alice"]);
    mit.ok("kadmin.local", ["-q", "addprinc -randkey host/server1.mit.test"]);
    if (ACCOUNTS > 0) {
      process.stderr.write(`kdc bench: adding ${ACCOUNTS} users to both KDCs\n`);
      // 200 per kadmin.local: each call is bounded at 20 s, which 1,200 at once exceed on a
      // loaded machine.
      for (let from = 0; from < ACCOUNTS; from += 200) {
        const script = Array.from(
          { length: Math.min(200, ACCOUNTS - from) },
          (_, k) =>
            `addprinc -pw ${userName(from + k)} -e aes256-cts:normal +preauth ${userName(from + k)}`,
        ).join("\n");
        mit.ok("kadmin.local", [], { input: `${script}\nquit\n` });
      }
    }
    await mit.startKdc();
    const mitPid = Number(fs.readFileSync(path.join(mit.dir, "kdc.pid"), "utf8"));
    ours = await startOurs(dir);
    const oursPid = ours.child.pid!;
    if (KDC_CPUS) for (const pid of [oursPid, mitPid]) pin(pid, KDC_CPUS);
    const rows = [];
    // Warm-up (JIT, caches) with a few exchanges each, then the measured phases.
    await load(ours.port, oursPid, asReqs(WARMUP));
    await load(mit.port, mitPid, asReqs(WARMUP));
    await load(ours.port, oursPid, tgsReqs(await tgt(ours.port), WARMUP));
    await load(mit.port, mitPid, tgsReqs(await tgt(mit.port), WARMUP));
    const us = `postern kdc (workers: ${ours.workers})`;
    const mitName = "MIT krb5kdc (1 process)";
    // The measured phases in ROUNDS slices, the two KDCs alternating (who goes first swaps
    // each round): this VM's speed drifts by tens of percent over seconds, and a drift
    // then falls on both sides instead of on one whole phase.
    const slice = Math.ceil(N / ROUNDS);
    const ourTgt = await tgt(ours.port);
    const mitTgt = await tgt(mit.port);
    for (const kind of ["AS", "TGS"] as const) {
      const sides = [
        { name: us, port: ours.port, pid: oursPid, tgt: ourTgt, r: emptyPhase() },
        { name: mitName, port: mit.port, pid: mitPid, tgt: mitTgt, r: emptyPhase() },
      ];
      for (let round = 0; round < ROUNDS; round++) {
        for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
          const reqs = kind === "AS" ? asReqs(slice) : tgsReqs(side.tgt, slice);
          addPhase(side.r, await load(side.port, side.pid, reqs));
        }
      }
      for (const side of sides) rows.push(row(side.name, kind, side.r));
    }
    if (ACCOUNTS > 0) {
      // Warm-up of this path (JIT) on WARMUP requests going round the accounts; the measured
      // slices go on from there, so each account's last request is ACCOUNTS - 1 requests back
      // (within our KDC's caches up to 16,384 accounts; MIT's KDC keeps no such cache).
      await load(ours.port, oursPid, userAsReqs(WARMUP, 0));
      await load(mit.port, mitPid, userAsReqs(WARMUP, 0));
      const sides = [
        { name: us, port: ours.port, pid: oursPid, r: emptyPhase() },
        { name: mitName, port: mit.port, pid: mitPid, r: emptyPhase() },
      ];
      for (let round = 0; round < ROUNDS; round++) {
        for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
          const from = WARMUP + round * slice;
          addPhase(side.r, await load(side.port, side.pid, userAsReqs(slice, from)));
        }
      }
      for (const side of sides) rows.push(row(side.name, "AS, distinct accounts", side.r));
    }
    console.log(
      `KDC bench: N=${N} per phase in ${ROUNDS} alternating slices, ${CONCURRENCY} in flight, ${WARMUP} warm-up, UDP loopback, aes256-cts-hmac-sha1-96, Node ${process.version}, ${os.cpus().length} CPUs, KDCs on CPUs ${KDC_CPUS ?? "any"}, load generator on CPUs ${GEN_CPUS ?? "any"}, load ${os.loadavg()[0]!.toFixed(1)}`,
    );
    console.log(
      "| server | exchange | answered (ok/err/lost) | exchanges/s | CPU us/exchange | of which system | load generator CPU us/exchange |",
    );
    console.log("|---|---|---|---|---|---|---|");
    for (const x of rows) {
      console.log(
        `| ${x.name} | ${x.kind} | ${x.r.answered} (${x.r.ok}/${x.r.errors}/${x.r.lost}) | ${x.rate.toFixed(0)} | ${x.cpu.toFixed(0)} | ${x.sys.toFixed(0)} | ${x.gen.toFixed(0)} |`,
      );
    }
    for (const kind of ["AS", "TGS", ...(ACCOUNTS > 0 ? ["AS, distinct accounts"] : [])]) {
      const o = rows.find((x) => x.kind === kind && x.name === us)!;
      const m = rows.find((x) => x.kind === kind && x.name !== us)!;
      console.log(
        `${kind}: rate ours/MIT = ${(o.rate / m.rate).toFixed(2)}, CPU per exchange ours/MIT = ${(o.cpu / m.cpu).toFixed(2)}`,
      );
    }
  } finally {
    if (ours?.child.pid && ours.child.exitCode === null) {
      const exited = new Promise((r) => ours?.child.once("exit", r));
      process.kill(ours.child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    mit.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
