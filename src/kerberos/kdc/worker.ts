/**
 * A KDC worker thread (started by worker-pool.ts): runs the stateless core on the requests
 * the main thread hands it and returns each outcome; the database is the main thread's,
 * reached through db-bridge.ts. No sockets, no replay or lookaside state here.
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import type { ResolvedKdcConfig } from "./config.js";
import type { PrincipalDatabase } from "./database.js";
import { databaseClient } from "./db-bridge.js";
import { createKdcCore } from "./kdc.js";

export interface KdcWorkerData {
  config: ResolvedKdcConfig;
  derivedKeyCacheEntries?: number;
  dbPort: MessagePort;
  dbFlag: Int32Array;
  /** A database the worker opens itself (see KdcPoolDeps.workerDatabase). */
  local?: WorkerDatabaseSpec;
}

/** `(await import(module))[exportName](arg)` gives the worker its own PrincipalDatabase. */
export interface WorkerDatabaseSpec {
  module: string;
  exportName: string;
  arg: unknown;
}

async function openDatabase(d: KdcWorkerData): Promise<PrincipalDatabase> {
  if (!d.local) return databaseClient(d.dbPort, d.dbFlag);
  const m = (await import(d.local.module)) as Record<string, (arg: unknown) => PrincipalDatabase>;
  const open = m[d.local.exportName];
  if (typeof open !== "function") throw new Error(`${d.local.module}: no ${d.local.exportName}`);
  return open(d.local.arg);
}

export interface KdcWorkerRequest {
  id: number;
  bytes: Uint8Array;
}

const data = workerData as KdcWorkerData;
const core = createKdcCore({
  ...data.config,
  database: await openDatabase(data),
  ...(data.derivedKeyCacheEntries ? { derivedKeyCacheEntries: data.derivedKeyCacheEntries } : {}),
});
parentPort?.on("message", (m: KdcWorkerRequest) => {
  const outcome = core.process(m.bytes);
  // The reply is a view into the encoder's slab (src/bytes.ts); posted as is, structured
  // clone would copy the whole 64 KiB slab. An exact copy crosses instead.
  const reply = outcome.result.reply;
  if (reply) outcome.result.reply = reply.slice();
  parentPort?.postMessage({ id: m.id, outcome });
});
