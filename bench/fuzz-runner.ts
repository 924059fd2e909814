/**
 * Runs one fuzz target over inputs [0, count) of a seed in a worker thread and watches it:
 *   1. start a worker (fuzz-worker.ts) on [from, count)  2. poll the shared progress block;
 *   an input still running after `hangMs` is a hang: terminate the worker, record the input's
 *   index, go on from the next one  3. collect the worker's crash reports and totals
 *   4. peak RSS of this process (the target's worker included).
 * Inputs are reproducible: input i of seed S is the same bytes on every run
 * (`node dist/bench/fuzz.js --target T --seed S --replay i`).
 */
import { Worker } from "node:worker_threads";
import type { CrashReport, WorkerJob, WorkerMessage } from "./fuzz-worker.js";

export interface FuzzOptions {
  target: string;
  count: number;
  seed: number;
  /** An input running longer than this is a hang (the worker is terminated). */
  hangMs?: number;
  /** An input running longer than this is counted as slow (reported, not a failure). */
  slowMs?: number;
  /** Called once a minute with the index reached. */
  onProgress?: (done: number) => void;
}

export interface FuzzResult {
  target: string;
  seed: number;
  inputs: number;
  accepted: number;
  rejected: number;
  crashes: number;
  hangs: number;
  slow: number;
  maxInputMs: number;
  seconds: number;
  peakRssMiB: number;
  crashSamples: CrashReport[];
  signatures: Record<string, number>;
  hangIndexes: number[];
  slowSamples: { index: number; ms: number }[];
}

const WORKER_URL = new URL("./fuzz-worker.js", import.meta.url);

interface Segment {
  accepted: number;
  rejected: number;
  crashes: number;
  slow: number;
  maxMs: number;
  signatures: Record<string, number>;
  /** Set when the segment ended in a hang at that index. */
  hangAt: number | null;
}

function runSegment(
  opts: Required<Omit<FuzzOptions, "onProgress">> & FuzzOptions,
  from: number,
  res: FuzzResult,
): Promise<Segment> {
  const progress = new SharedArrayBuffer(16);
  const view = new Int32Array(progress);
  Atomics.store(view, 0, from);
  const job: WorkerJob = {
    target: opts.target,
    seed: opts.seed,
    from,
    to: opts.count,
    slowMs: opts.slowMs,
    progress,
  };
  const worker = new Worker(WORKER_URL, { workerData: job });
  return new Promise<Segment>((resolve, reject) => {
    let lastIndex = -1;
    let since = Date.now();
    let lastReport = Date.now();
    const timer = setInterval(() => {
      const i = Atomics.load(view, 0);
      const running = Atomics.load(view, 1) === 1;
      const now = Date.now();
      if (i !== lastIndex || !running) {
        lastIndex = i;
        since = now;
      } else if (now - since > opts.hangMs) {
        clearInterval(timer);
        void worker.terminate();
        const accepted = Atomics.load(view, 2);
        const crashes = Atomics.load(view, 3);
        resolve({
          accepted,
          rejected: i - from - accepted - crashes,
          crashes,
          slow: 0,
          maxMs: now - since,
          signatures: crashes ? { "crashes before a hang (see samples)": crashes } : {},
          hangAt: i,
        });
        return;
      }
      if (opts.onProgress && now - lastReport > 60_000) {
        lastReport = now;
        opts.onProgress(i);
      }
    }, 100);
    worker.on("message", (m: WorkerMessage) => {
      if (m.kind === "crash") res.crashSamples.push(m.crash);
      else if (m.kind === "slow") res.slowSamples.push({ index: m.index, ms: Math.round(m.ms) });
      else {
        clearInterval(timer);
        void worker.terminate();
        resolve({ ...m, hangAt: null });
      }
    });
    worker.on("error", (e) => {
      clearInterval(timer);
      reject(e);
    });
  });
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const opts = { hangMs: 5_000, slowMs: 250, ...options };
  const started = performance.now();
  const res: FuzzResult = {
    target: opts.target,
    seed: opts.seed,
    inputs: opts.count,
    accepted: 0,
    rejected: 0,
    crashes: 0,
    hangs: 0,
    slow: 0,
    maxInputMs: 0,
    seconds: 0,
    peakRssMiB: 0,
    crashSamples: [],
    signatures: {},
    hangIndexes: [],
    slowSamples: [],
  };
  let from = 0;
  while (from < opts.count) {
    const seg = await runSegment(opts, from, res);
    res.accepted += seg.accepted;
    res.rejected += seg.rejected;
    res.crashes += seg.crashes;
    res.slow += seg.slow;
    res.maxInputMs = Math.max(res.maxInputMs, seg.maxMs);
    for (const [k, n] of Object.entries(seg.signatures))
      res.signatures[k] = (res.signatures[k] ?? 0) + n;
    if (seg.hangAt === null) break;
    res.hangs++;
    res.hangIndexes.push(seg.hangAt);
    from = seg.hangAt + 1;
  }
  res.maxInputMs = Math.round(res.maxInputMs * 10) / 10;
  res.seconds = Math.round((performance.now() - started) / 100) / 10;
  res.peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  return res;
}
