/**
 * One fuzz target in a worker thread:
 *   1. build the target (seeds, SAs, temporary home)  2. for each index: make input i from
 *   its own random stream, publish i in the shared progress block, run it, time it
 *   3. report crashes (first few in full, all counted by signature) and the totals.
 * The main thread (fuzz-runner.ts) watches the progress block: an input that runs past the
 * hang bound is a hang; it terminates this worker and starts another after that input.
 */
import { parentPort, workerData } from "node:worker_threads";
import { rngFor } from "./fuzz-mutate.js";
import { type FuzzInput, isExpectedError } from "./fuzz-target.js";
import { TARGETS } from "./fuzz-targets.js";

export interface WorkerJob {
  target: string;
  seed: number;
  from: number;
  to: number;
  slowMs: number;
  /** Int32Array over a SharedArrayBuffer: [current index, running (1) or not (0), accepted, crashes]. */
  progress: SharedArrayBuffer;
}

export interface CrashReport {
  index: number;
  signature: string;
  error: string;
  input: string;
}

export type WorkerMessage =
  | { kind: "crash"; crash: CrashReport }
  | { kind: "slow"; index: number; ms: number }
  | {
      kind: "done";
      accepted: number;
      rejected: number;
      crashes: number;
      slow: number;
      maxMs: number;
      /** Crashes counted by signature. */
      signatures: Record<string, number>;
    };

const MAX_REPORTED = 25;

function show(input: FuzzInput): string {
  if (typeof input === "string") return JSON.stringify(input.slice(0, 600));
  return `hex:${Buffer.from(input.subarray(0, 600)).toString("hex")}`;
}

/** A crash's kind without the numbers, to count distinct failures. */
function signatureOf(e: unknown): string {
  const name = e instanceof Error ? e.name : typeof e;
  const msg = e instanceof Error ? e.message : String(e);
  return `${name}: ${msg
    .replace(/\d+/g, "N")
    .replace(/'[^']*'/g, "'…'")
    .slice(0, 160)}`;
}

async function main(job: WorkerJob): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("fuzz-worker runs in a worker thread");
  const progress = new Int32Array(job.progress);
  const inst = await (TARGETS[job.target] as () => ReturnType<(typeof TARGETS)[string]>)();
  const typed = inst.typedErrors !== false;
  let accepted = 0;
  let rejected = 0;
  let crashes = 0;
  let slow = 0;
  let maxMs = 0;
  const seen = new Map<string, number>();
  for (let i = job.from; i < job.to; i++) {
    const input = inst.generate(rngFor(job.seed, i));
    Atomics.store(progress, 0, i);
    Atomics.store(progress, 1, 1);
    const t0 = performance.now();
    try {
      const r = inst.run(input);
      const outcome = r instanceof Promise ? await r : r;
      if (outcome === "accepted") accepted++;
      else rejected++;
      Atomics.store(progress, 2, accepted);
    } catch (e) {
      if (isExpectedError(e, typed)) rejected++;
      else {
        crashes++;
        Atomics.store(progress, 3, crashes);
        const signature = signatureOf(e);
        const n = seen.get(signature) ?? 0;
        seen.set(signature, n + 1);
        if (n === 0 && seen.size <= MAX_REPORTED) {
          const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
          port.postMessage({
            kind: "crash",
            crash: {
              index: i,
              signature,
              error: error.split("\n").slice(0, 6).join("\n"),
              input: show(input),
            },
          } satisfies WorkerMessage);
        }
      }
    }
    const ms = performance.now() - t0;
    Atomics.store(progress, 1, 0);
    if (ms > maxMs) maxMs = ms;
    if (ms > job.slowMs) {
      slow++;
      if (slow <= MAX_REPORTED)
        port.postMessage({ kind: "slow", index: i, ms } satisfies WorkerMessage);
    }
  }
  await inst.close?.();
  port.postMessage({
    kind: "done",
    accepted,
    rejected,
    crashes,
    slow,
    maxMs,
    signatures: Object.fromEntries(seen),
  } satisfies WorkerMessage);
}

await main(workerData as WorkerJob);
