/**
 * IKE_SA + child SA setup latency, postern vs strongSwan, PSK, same suite (AES-GCM-16-128,
 * PRF-HMAC-SHA2-256, Curve25519; ESP AES-GCM-16-128), in one run on one machine:
 *
 *   1. two namespace pairs joined by veths (test/ike/lab.ts), one per implementation
 *   2. postern -> postern: `postern ike respond` in B1; bench/ike-worker in A1 runs one timed
 *      setup (initiate() to child SA delivered) per request, deleting the IKE SA after it
 *   3. strongSwan -> strongSwan: a charon (kernel-libipsec) in A2 and in B2; one vici
 *      "initiate" (returns when the child SA is up) per setup, then "terminate"
 *   4. setups alternate postern / strongSwan so both meet the same machine load
 *   5. a table of median/p90/min and the ratio postern/strongSwan (lower is faster)
 *
 *   node dist/bench/ike.js [REPETITIONS]    (root; default 40, between 3 and 200)
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { fileURLToPath } from "node:url";
import {
  createNsPair,
  type NsPair,
  type PosternPeer,
  startPostern,
  waitFor,
} from "../test/ike/lab.js";
import { startSwanPskPair } from "./strongswan-psk.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const reps = Math.min(Math.max(Number(process.argv[2]) || 40, 3), 200);
const WARMUP = 3;
const PSK = "bench shared secret";

function stats(xs: number[]): { median: number; p90: number; min: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p90: at(0.9), min: s[0]! };
}

interface Side {
  setup(): Promise<number>;
  stop(): Promise<void>;
}

async function posternSide(pair: NsPair): Promise<Side> {
  const ts = { localTs: ["10.232.2.0/24"], remoteTs: ["10.232.1.0/24"] };
  const responder: PosternPeer = startPostern(pair.nsB, "respond", {
    local: pair.addrB,
    remote: pair.addrA,
    psk: PSK,
    ...ts,
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pik-bench-"));
  const file = path.join(dir, "peer.json");
  fs.writeFileSync(
    file,
    JSON.stringify({
      local: pair.addrA,
      remote: pair.addrB,
      psk: PSK,
      localTs: ts.remoteTs,
      remoteTs: ts.localTs,
    }),
  );
  const worker = spawn(
    "ip",
    ["netns", "exec", pair.nsA, process.execPath, path.join(here, "ike-worker.js"), file],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = readline.createInterface({ input: worker.stdout })[Symbol.asyncIterator]();
  const stop = async () => {
    worker.stdin.end();
    await Promise.race([
      new Promise((r) => worker.once("exit", r)),
      new Promise((r) => setTimeout(r, 3000)),
    ]);
    if (worker.exitCode === null) worker.kill("SIGKILL");
    await responder.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("postern responder", () => responder.events.some((e) => e.event === "listening"));
    if ((await lines.next()).value !== "ready") throw new Error("postern worker did not start");
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    async setup() {
      worker.stdin.write("setup\n");
      const line = String((await lines.next()).value);
      const ms = Number(line);
      if (!Number.isFinite(ms)) throw new Error(`postern worker: ${line}`);
      return ms;
    },
    stop,
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("needs root (network namespaces)");
  const pairs = [createNsPair(), createNsPair()] as const;
  const sides: Side[] = [];
  try {
    sides.push(await posternSide(pairs[0]));
    sides.push(await startSwanPskPair(pairs[1], PSK));
    const times: [number[], number[]] = [[], []];
    for (let i = 0; i < reps + WARMUP; i++) {
      for (const k of [0, 1] as const) {
        const ms = await sides[k]!.setup();
        if (i >= WARMUP) times[k].push(ms);
      }
    }
    const [ours, theirs] = [stats(times[0]), stats(times[1])];
    const f = (x: number) => x.toFixed(2).padStart(8);
    console.log(
      `IKE_SA + child SA setup, PSK, AES-GCM-16-128/PRF-SHA256/Curve25519; ${reps} alternating setups each (after ${WARMUP} warm-up); load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`,
    );
    console.log("peer pair                          median ms   p90 ms   min ms");
    console.log(
      `postern -> postern                 ${f(ours.median)} ${f(ours.p90)} ${f(ours.min)}`,
    );
    console.log(
      `strongSwan -> strongSwan (charon)  ${f(theirs.median)} ${f(theirs.p90)} ${f(theirs.min)}`,
    );
    console.log(`ratio postern/strongSwan (median)  ${(ours.median / theirs.median).toFixed(2)}`);
  } finally {
    for (const s of sides) await s.stop();
    for (const p of pairs) p.destroy();
  }
}

main().catch((e: Error) => {
  console.error(`bench/ike: ${e.message}`);
  process.exit(1);
});
