/**
 * KDC scaling with cores (issue 18 item 3): `bench/kdc.ts` (our KDC against MIT krb5kdc,
 * same run, alternating slices) under `taskset` pinnings, both KDCs pinned alike, one
 * table at the end: per configuration and exchange, both rates, the ratio, CPU per
 * exchange. On a machine with C CPUs:
 *
 *   - for k = 1, 2, 4 below C: the KDCs on CPUs 1..k, the load generator alone on CPU 0,
 *     our KDC with no worker thread and (k > 1) with k workers;
 *   - all C CPUs shared by the KDCs and the load generator, 0 and C workers (on 2 vCPUs
 *     the only two-core configuration there is).
 *
 * MIT's krb5kdc stays one process (its `-w N` forks N processes sharing the socket; not
 * measured here). Each run is a separate `node dist/bench/kdc.js N 8 WARMUP [WORKERS]`;
 * KDC_BENCH_ACCOUNTS defaults to 400 here (MIT's 1,200 user adds dominate a run's time).
 *
 * Usage: node dist/bench/kdc-scaling.js [N=2000] [WARMUP=3000] [--smoke]
 */
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { SMOKE, sized } from "./smoke.js";

const ARGS = process.argv.slice(2).filter((a) => a !== "--smoke");
const N = ARGS[0] ?? String(sized(2000, 50));
const WARMUP = ARGS[1] ?? String(sized(3000, 5));
const BENCH = path.join(path.dirname(fileURLToPath(import.meta.url)), "kdc.js");
const CPUS = os.cpus().length;

interface Config {
  name: string;
  kdcCpus: string;
  genCpus: string;
  workers: number;
}

function configs(): Config[] {
  const out: Config[] = [];
  for (const k of [1, 2, 4]) {
    if (k >= CPUS) break;
    const kdcCpus = k === 1 ? "1" : `1-${k}`;
    for (const workers of k === 1 ? [0] : [0, k])
      out.push({
        name: `${k} core(s) for the KDCs, generator on CPU 0`,
        kdcCpus,
        genCpus: "0",
        workers,
      });
  }
  const all = `0-${CPUS - 1}`;
  for (const workers of [0, CPUS])
    out.push({
      name: `${CPUS} cores shared with the generator`,
      kdcCpus: all,
      genCpus: all,
      workers,
    });
  // Smoke: one pinned and one shared run are enough to know the bench still runs.
  return SMOKE ? [out[0]!, out[out.length - 1]!] : out;
}

interface Row {
  config: Config;
  exchange: string;
  ours: { rate: number; cpu: number };
  mit: { rate: number; cpu: number };
}

/** The rows of kdc.js's table: | server | exchange | answered | rate | CPU | sys | gen |. */
function parse(config: Config, out: string): Row[] {
  const cells = out
    .split("\n")
    .filter((l) => /^\| (postern|MIT)/.test(l))
    .map((l) => l.split("|").map((c) => c.trim()));
  const rows: Row[] = [];
  for (const ours of cells.filter((c) => c[1]!.startsWith("postern"))) {
    const mit = cells.find((c) => c[1]!.startsWith("MIT") && c[2] === ours[2]);
    if (!mit) continue;
    rows.push({
      config,
      exchange: ours[2]!,
      ours: { rate: Number(ours[4]), cpu: Number(ours[5]) },
      mit: { rate: Number(mit[4]), cpu: Number(mit[5]) },
    });
  }
  return rows;
}

const rows: Row[] = [];
for (const c of configs()) {
  process.stderr.write(
    `kdc-scaling: KDCs on CPUs ${c.kdcCpus}, generator on ${c.genCpus}, workers ${c.workers}\n`,
  );
  const r = spawnSync(
    process.execPath,
    [BENCH, N, "8", WARMUP, String(c.workers), ...(SMOKE ? ["--smoke"] : [])],
    {
      encoding: "utf8",
      env: {
        ...process.env,
        KDC_BENCH_KDC_CPUS: c.kdcCpus,
        KDC_BENCH_GEN_CPUS: c.genCpus,
        KDC_BENCH_ACCOUNTS: process.env.KDC_BENCH_ACCOUNTS ?? String(sized(400, 20)),
      },
      timeout: 15 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (r.status !== 0) throw new Error(`kdc.js failed (${r.status}): ${r.stderr.slice(-2000)}`);
  rows.push(...parse(c, r.stdout));
}

console.log(
  `KDC scaling: N=${N} per phase, 8 in flight, ${WARMUP} warm-up, ${CPUS} CPUs, load ${os.loadavg()[0]!.toFixed(1)} at the end`,
);
console.log(
  "| KDCs on CPUs | generator on CPUs | our workers | exchange | ours /s | MIT /s | rate ours/MIT | CPU us ours | CPU us MIT | CPU ours/MIT |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const x of rows) {
  console.log(
    `| ${x.config.kdcCpus} | ${x.config.genCpus} | ${x.config.workers} | ${x.exchange} | ${x.ours.rate} | ${x.mit.rate} | ${(x.ours.rate / x.mit.rate).toFixed(2)} | ${x.ours.cpu} | ${x.mit.cpu} | ${(x.ours.cpu / x.mit.cpu).toFixed(2)} |`,
  );
}
