/**
 * The data path as the agent's main thread sees it: two worker threads (outbound and
 * inbound packet loops, src/datapath/worker.ts) sharing the TUN fd and the UDP socket, a
 * shared counter block it reads for stats, and SA add/remove. IKE calls `addSa`/`removeSa`
 * with the records it negotiated; manual keying does the same at start.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { MessageChannel, Worker } from "node:worker_threads";
import type { SaRecord } from "../esp/sa.js";
import {
  clearSaCounters,
  type CounterSnapshot,
  createCounterBuffer,
  MAX_SA_SLOTS,
  readCounters,
  readSaCounters,
  type Role,
} from "./counters.js";
import { type DataPathEvent, WORKER_READY } from "./events.js";
import type { WorkerCommand, WorkerInit } from "./worker.js";
import { loadLibc, openEventFd } from "../platform/libc.js";

export interface SaStats {
  spi: string;
  protocol: "esp" | "ah";
  direction: "in" | "out";
  mode: string;
  transform: string;
  local: string;
  peer: string;
  label: string;
  packets: number;
  bytes: number;
}

export interface DataPathStats extends CounterSnapshot {
  sas: SaStats[];
}

export interface DataPath {
  addSa(record: SaRecord): void;
  removeSa(direction: "in" | "out", spi: number): void;
  /** Seal and send a packet that waited for its outbound SA (ACQUIRE). */
  inject(packet: Uint8Array): void;
  stats(): DataPathStats;
  stop(): Promise<void>;
  /**
   * Settles when both workers read their devices (or one failed): a packet sent before
   * waits in the TUN's queue while a worker boots, which took 0.3-0.4 s under load, so
   * the agent says "ready" only after this.
   */
  ready?: Promise<void>;
}

export interface DataPathOptions {
  tunFd: number;
  /** The bypass device (packets of SAs the firewall's bypass admitted), or -1/absent. */
  bypassTunFd?: number;
  udpFd: number;
  /** Raw AH socket, or -1. */
  rawFd: number;
  onEvent: (e: DataPathEvent) => void;
  onError: (role: Role, e: Error) => void;
  /** Packets without an outbound SA become `acquire` events instead of no_policy drops. */
  acquire?: boolean;
}

export const spiHex = (spi: number): string => `0x${(spi >>> 0).toString(16).padStart(8, "0")}`;

/** What a DataPath's stats() answers: the counters and one row per installed SA. */
export function dataPathStats(
  installed: Iterable<{ record: SaRecord; slot: number }>,
  counters: SharedArrayBuffer,
): DataPathStats {
  const sas = [...installed].map(({ record: r, slot }) => ({
    spi: spiHex(r.spi),
    protocol: r.protocol ?? "esp",
    direction: r.direction,
    mode: r.mode,
    transform: r.transform,
    local: r.local,
    peer: r.peer,
    label: r.label,
    ...readSaCounters(counters, slot),
  }));
  return { ...readCounters(counters), sas };
}

export function startDataPath(opts: DataPathOptions): DataPath {
  const counters = createCounterBuffer();
  const control = new SharedArrayBuffer(4);
  const here = path.dirname(fileURLToPath(import.meta.url));
  // The outbound worker waits in poll() on the TUN; a command (an ACQUIRE'd packet to
  // inject, an SA removed) wakes it through this eventfd instead of waiting for the poll
  // timeout.
  const libc = loadLibc();
  const wakeFd = openEventFd();
  const one = Buffer.alloc(8);
  one.writeUInt32LE(1, 0);
  const wake = () => {
    if (wakeFd >= 0) libc.write(wakeFd, one, 8);
  };
  const start = (role: Role) => {
    const channel = new MessageChannel();
    const init: WorkerInit = {
      kind: "postern-datapath",
      role,
      tunFd: opts.tunFd,
      bypassTunFd: opts.bypassTunFd ?? -1,
      udpFd: opts.udpFd,
      rawFd: opts.rawFd,
      counters,
      control,
      port: channel.port2,
      acquire: opts.acquire === true,
      wakeFd: role === "outbound" ? wakeFd : -1,
    };
    const worker = new Worker(path.join(here, "worker.js"), {
      workerData: init,
      transferList: [channel.port2],
    });
    const ready = new Promise<void>((resolve) => {
      worker.on("message", (e: DataPathEvent | typeof WORKER_READY) => {
        if (e === WORKER_READY) resolve();
        else opts.onEvent(e);
      });
      worker.once("exit", () => resolve());
    });
    worker.on("error", (e) => opts.onError(role, e));
    return { worker, port: channel.port1, ready };
  };
  const workers = { outbound: start("outbound"), inbound: start("inbound") };
  const installed = new Map<string, { record: SaRecord; slot: number }>();
  const freeSlots = Array.from({ length: MAX_SA_SLOTS }, (_, i) => MAX_SA_SLOTS - 1 - i);
  const key = (direction: string, spi: number) => `${direction}:${spi >>> 0}`;
  // One wake for the commands of one turn of the event loop: a new SA and the packets
  // ACQUIRE queued for it reach the worker together (the first of two wakes, a write to
  // the eventfd, was 29 % of the initiator's handling of the IKE_AUTH answer in a profile,
  // before the packet was even posted: docs/benchmarks.md).
  // A new SA alone wakes nothing: a packet that finds no SA makes the worker apply what is
  // pending first (worker.ts), and a wake before a responder's answer leaves put the worker
  // on a CPU the answer needed. A removal (stop sending now) and a packet to inject wake it.
  let wakeQueued = false;
  const send = (direction: "in" | "out", cmd: WorkerCommand) => {
    (direction === "out" ? workers.outbound : workers.inbound).port.postMessage(cmd);
    if (direction !== "out" || cmd.type === "add" || wakeQueued) return;
    wakeQueued = true;
    queueMicrotask(() => {
      wakeQueued = false;
      wake();
    });
  };

  return {
    addSa(record) {
      const k = key(record.direction, record.spi);
      const old = installed.get(k);
      const slot = old?.slot ?? freeSlots.pop();
      if (slot === undefined) throw new Error(`no free SA slot (max ${MAX_SA_SLOTS})`);
      clearSaCounters(counters, slot);
      installed.set(k, { record, slot });
      send(record.direction, { type: "add", record, slot });
    },
    removeSa(direction, spi) {
      const k = key(direction, spi);
      const old = installed.get(k);
      if (old === undefined) return;
      installed.delete(k);
      send(direction, { type: "remove", direction, spi });
      freeSlots.push(old.slot);
    },
    inject(packet) {
      send("out", { type: "inject", packet });
    },
    stats: () => dataPathStats(installed.values(), counters),
    ready: Promise.all([workers.outbound.ready, workers.inbound.ready]).then(() => undefined),
    async stop() {
      Atomics.store(new Int32Array(control), 0, 1);
      await Promise.all(
        [workers.outbound, workers.inbound].map(
          ({ worker }) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 2000);
              worker.once("exit", () => {
                clearTimeout(timer);
                resolve();
              });
            }),
        ),
      );
      if (wakeFd >= 0) libc.close(wakeFd);
    },
  };
}
