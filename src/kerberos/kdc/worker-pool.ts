/**
 * The KDC over worker threads: `createKdcPool({...deps, workers: N})` runs N copies of the
 * stateless core (worker.ts), one per CPU, behind one state (kdc-state.ts) in the calling
 * thread, so the sockets, the lookaside and replay caches, the counters and the principal
 * database (db-bridge.ts) stay in one place and keep their semantics:
 *
 *   handle(bytes) ─▶ state.begin (lookaside hit? answer now)
 *                 ─▶ the worker with the fewest requests in flight: core.process(bytes)
 *                 ─▶ state.settle (replay verdict, counters, lookaside, UDP size)
 *
 * A worker that dies answers its requests in flight as internal drops and is replaced
 * (at most `maxRestarts` times over the pool's life).
 */
import { MessageChannel, Worker } from "node:worker_threads";
import { resolveKdcConfig } from "./config.js";
import { serveDatabase } from "./db-bridge.js";
import type { KdcDeps } from "./kdc.js";
import { type CoreOutcome, createKdcState, type KdcCounters, type KdcResult } from "./kdc-state.js";
import type { KdcWorkerData, WorkerDatabaseSpec } from "./worker.js";

export interface KdcPoolDeps extends Omit<KdcDeps, "now" | "randomBytes"> {
  /** Worker threads, at least 1 (one per CPU is the intended use). */
  workers: number;
  maxRestarts?: number;
  /**
   * A database each worker opens for itself instead of asking this thread's `database`
   * per lookup; only for one that cannot change while the KDC runs (the runner's file).
   */
  workerDatabase?: WorkerDatabaseSpec;
}

export interface KdcPool {
  handle(request: Uint8Array, transport: "udp" | "tcp"): Promise<KdcResult>;
  counters(): KdcCounters;
  readonly workers: number;
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, (o: CoreOutcome) => void>;
}

const lost: CoreOutcome = { result: { request: "other", drop: "internal" } };

export function createKdcPool(deps: KdcPoolDeps): KdcPool {
  if (!Number.isInteger(deps.workers) || deps.workers < 1)
    throw new RangeError(`KDC workers: ${deps.workers} is not a positive integer`);
  const config = resolveKdcConfig(deps, deps.database);
  const state = createKdcState(config, Date.now, deps);
  const slots: Slot[] = [];
  let nextId = 1;
  let restarts = deps.maxRestarts ?? 10;
  let closing = false;

  const spawn = (): Slot => {
    const { port1, port2 } = new MessageChannel();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    serveDatabase(deps.database, port1, flag);
    port1.unref();
    const data: KdcWorkerData = { config, dbPort: port2, dbFlag: flag };
    if (deps.derivedKeyCacheEntries) data.derivedKeyCacheEntries = deps.derivedKeyCacheEntries;
    if (deps.workerDatabase) data.local = deps.workerDatabase;
    const worker = new Worker(new URL("./worker.js", import.meta.url), {
      workerData: data,
      transferList: [port2],
    });
    worker.unref(); // a pool nobody closed does not keep the process alive
    const slot: Slot = { worker, inFlight: new Map() };
    worker.on("message", (m: { id: number; outcome: CoreOutcome }) => {
      const done = slot.inFlight.get(m.id);
      slot.inFlight.delete(m.id);
      done?.(m.outcome);
    });
    worker.on("error", () => undefined);
    worker.once("exit", () => {
      port1.close();
      for (const done of slot.inFlight.values()) done(lost);
      slot.inFlight.clear();
      const i = slots.indexOf(slot);
      if (i >= 0 && !closing && restarts-- > 0) slots[i] = spawn();
      else if (i >= 0) slots.splice(i, 1);
    });
    return slot;
  };
  for (let i = 0; i < deps.workers; i++) slots.push(spawn());

  const process = (bytes: Uint8Array): Promise<CoreOutcome> => {
    let slot = slots[0];
    for (const s of slots) if (slot && s.inFlight.size < slot.inFlight.size) slot = s;
    if (!slot) return Promise.resolve(lost);
    const id = nextId++;
    const s = slot;
    return new Promise((resolve) => {
      s.inFlight.set(id, resolve);
      s.worker.postMessage({ id, bytes });
    });
  };

  return {
    workers: deps.workers,
    async handle(request, transport) {
      const start = state.begin(request);
      if (start.hit) return state.deliver(start.hit, transport);
      return state.settle(start, await process(request), transport);
    },
    counters: () => state.counters(),
    async close() {
      closing = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
      slots.length = 0;
    },
  };
}
