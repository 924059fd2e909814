/**
 * A data-path worker thread: one blocking packet loop, outbound or inbound.
 *   outbound: 1. read(TUN) 2. outbound.seal (SPD, SA, ESP) 3. sendto(UDP 4500)
 *   inbound:  1. recvfrom(UDP 4500) 2. inbound.open (SAD, replay, ESP, selectors) 3. write(TUN)
 * Blocking reads through koffi in a worker are 4-8x faster than Node's thread pool
 * (docs/datapath.md). The loop polls with a 100 ms timeout so it can see the stop flag and
 * the control port (SA add/remove, via receiveMessageOnPort, since its event loop never
 * runs), and check time lifetimes of idle SAs.
 */
import {
  isMainThread,
  type MessagePort,
  parentPort,
  receiveMessageOnPort,
  workerData,
} from "node:worker_threads";
import { randomBytes } from "../crypto/primitives.js";
import type { SaRecord } from "../esp/sa.js";
import { loadEvpGcm } from "../esp/evp-gcm.js";
import { type LibcApi, loadLibc } from "../platform/libc.js";
import { decodeSockaddrIn } from "../platform/udp.js";
import { createCounterWriter, type Role } from "./counters.js";
import { type DataPathEvent, WORKER_READY } from "./events.js";
import { createInbound } from "./inbound.js";
import { createOutbound } from "./outbound.js";
import { segmentTcp4 } from "./gso.js";
import { BATCH, createPacketIo } from "./packet-io.js";
import { createSad, type Sad } from "./sad.js";

export interface WorkerInit {
  kind: "postern-datapath";
  role: Role;
  tunFd: number;
  /**
   * Inbound: the bypass device, where packets of SAs the firewall's bypass admitted are
   * written (-1/absent: none, they go to the TUN like the others).
   */
  bypassTunFd?: number;
  udpFd: number;
  /** Raw AH socket (IP protocol 51), or -1 when no SA uses AH. */
  rawFd: number;
  counters: SharedArrayBuffer;
  /** Int32Array[0] != 0 asks the loop to stop. */
  control: SharedArrayBuffer;
  port: MessagePort;
  /** Hand packets without an outbound SA to the main thread (ACQUIRE) instead of dropping. */
  acquire?: boolean;
  /** eventfd written by the main thread after each command (-1/absent: found by polling). */
  wakeFd?: number;
}

export type WorkerCommand =
  | { type: "add"; record: SaRecord; slot: number }
  | { type: "remove"; direction: "in" | "out"; spi: number }
  /** Outbound only: seal and send a packet that waited for its SA (ACQUIRE queue). */
  | { type: "inject"; packet: Uint8Array };

const POLL_MS = 100;
const CONTROL_EVERY = 64;
const TICK_MS = 1000;

function applyCommands(
  port: MessagePort,
  sad: Sad,
  nowMs: number,
  inject: (packet: Buffer) => void,
): void {
  for (let i = 0; i < 1000; i++) {
    const m = receiveMessageOnPort(port);
    if (m === undefined) return;
    const cmd = m.message as WorkerCommand;
    if (cmd.type === "add") sad.add(cmd.record, cmd.slot, nowMs);
    else if (cmd.type === "remove") sad.remove(cmd.direction, cmd.spi);
    else inject(Buffer.from(cmd.packet));
  }
}

function tickLifetimes(
  sad: Sad,
  role: Role,
  nowMs: number,
  emit: (e: DataPathEvent) => void,
): void {
  const entries = role === "outbound" ? sad.outboundEntries() : sad.inboundEntries();
  for (const { sa } of entries) {
    const wasExpired = sa.lifetime.expired();
    const state = sa.lifetime.onTick(nowMs);
    const direction = role === "outbound" ? "out" : "in";
    if (state === "soft")
      emit({ type: "soft", direction, spi: sa.record.spi, label: sa.record.label });
    if (state === "expired" && !wasExpired) {
      emit({ type: "expired", direction, spi: sa.record.spi, label: sa.record.label });
    }
  }
}

interface Loop {
  sad: Sad;
  /** Seal and send one packet now (ACQUIRE injections). */
  sendOut(packet: Buffer): void;
  /** One pass: handle what is there (waiting up to POLL_MS); false when nothing came. */
  step(): boolean;
}

function createOutboundLoop(
  init: WorkerInit,
  libc: LibcApi,
  emit: (e: DataPathEvent) => void,
): Loop {
  const counters = createCounterWriter(init.counters, init.role);
  const io = createPacketIo("outbound", init, libc, undefined, () =>
    counters.info("udp_gso_sends"),
  );
  const sad = createSad(loadEvpGcm(io.block) ?? undefined);
  // A packet with no SA may belong to an SA that IKE has just handed over (a reply to the
  // first packet the peer sent through it): the pending commands are applied and the packet
  // tried once more before it becomes an ACQUIRE.
  // An ACQUIRE injection that still finds no SA is dropped (`no_sa`), not handed back: the
  // acquirer re-injects a packet while it believes an SA is up, so it would circle.
  let firstTry = false;
  let missed = false;
  let injected = false;
  const onNoSa = init.acquire
    ? (packet: Buffer) => {
        if (firstTry) {
          missed = true;
          return true;
        }
        if (injected) {
          counters.drop("no_sa");
          return true;
        }
        emit({ type: "acquire", packet: Uint8Array.from(packet) });
        return true;
      }
    : undefined;
  const deps = { sad, counters, events: emit, nowMs: () => Date.now(), randomBytes, onNoSa };
  const outbound = createOutbound(deps);
  const segment = Buffer.alloc(65_536);
  const failed = (n: number) => {
    for (let i = 0; i < n; i++) counters.drop("send_failed");
  };
  const queue = (packet: Buffer) => {
    firstTry = init.acquire === true;
    missed = false;
    let sealed = outbound.seal(packet, io.slot());
    firstTry = false;
    if (missed) {
      applyCommands(init.port, sad, Date.now(), sendOut);
      sealed = outbound.seal(packet, io.slot());
    }
    if (sealed !== null) failed(io.queue(sealed.datagram, sealed.to, sealed.via));
  };
  const sendOut = (packet: Buffer) => {
    const outer = injected;
    injected = true;
    queue(packet);
    injected = outer;
    failed(io.flush());
  };
  return {
    sad,
    sendOut,
    step() {
      let n = io.readTun(POLL_MS);
      if (n === 0) return false;
      // Read until the TUN is empty (bounded), then send the batch in one system call.
      for (let i = 0; n > 0 && i < 4 * BATCH; i++) {
        const mss = io.rxGsoSize();
        if (mss === 0) queue(io.rx.subarray(0, n));
        else if (segmentTcp4(io.rx.subarray(0, n), mss, segment, queue) === 0)
          counters.drop("malformed");
        n = io.readTun(0);
      }
      failed(io.flush());
      return true;
    },
  };
}

function createInboundLoop(
  init: WorkerInit,
  libc: LibcApi,
  emit: (e: DataPathEvent) => void,
  applyPending: () => void,
): Loop {
  const counters = createCounterWriter(init.counters, init.role);
  const io = createPacketIo("inbound", init, libc, (n) => {
    for (let i = 0; i < n; i++) counters.drop("tun_write_failed");
  });
  const raw = init.rawFd >= 0;
  const sad = createSad(loadEvpGcm(io.block) ?? undefined);
  const inbound = createInbound({
    sad,
    counters,
    events: emit,
    nowMs: () => Date.now(),
    inPlace: true,
  });
  const flushAll = () => {
    io.gro?.flush();
    io.groBypass?.flush();
  };
  const deliver = (packet: Buffer | null) => {
    if (packet === null) return;
    const admitted = inbound.lastAdmitted();
    // Each device has its coalescer (a flow belongs to one SA, so its order is kept).
    const gro = admitted && io.groBypass !== null ? io.groBypass : io.gro;
    // Coalescing writes a header in the packet's headroom: only packets in our block have it.
    if (gro !== null && io.block.addressOf(packet) >= 0) gro.add(packet);
    else {
      flushAll();
      if (!io.writeTun(packet, admitted)) counters.drop("tun_write_failed");
    }
  };
  return {
    sad,
    sendOut: () => {},
    step() {
      const count = io.recvBatch(POLL_MS, !raw);
      for (let i = 0; i < count; i++) {
        const from = () => decodeSockaddrIn(io.from(i));
        const n = io.datagrams(i);
        for (let k = 0; k < n; k++) {
          const d = io.datagram(i, k);
          const spi = d.length >= 8 ? d.readUInt32BE(0) : 0;
          // An SPI we do not know yet may belong to an SA IKE has just handed over (its
          // answer can reach the peer before our next poll): apply pending commands first.
          if (spi !== 0 && sad.inbound(spi) === undefined) applyPending();
          deliver(inbound.open(d, from));
        }
      }
      for (let g = io.takeGroMessages(); g > 0; g--) counters.info("udp_gro_messages");
      flushAll();
      if (count > 0 || !raw) return count > 0;
      // AH: whole IPv4 packets from the raw socket into the same slots, opened in place.
      const ah = io.recvBatch(0, false, true);
      for (let i = 0; i < ah; i++) deliver(inbound.openAh(io.datagram(i)));
      flushAll();
      if (ah === 0) libc.pollIn([init.udpFd, init.rawFd], POLL_MS);
      return ah > 0;
    },
  };
}

export function runWorker(
  init: WorkerInit,
  emit: (e: DataPathEvent) => void,
  onReady?: () => void,
): void {
  const libc = loadLibc();
  const stop = new Int32Array(init.control);
  const nowMs = () => Date.now();
  let loop: Loop | null = null;
  const apply = () => {
    if (loop !== null) applyCommands(init.port, loop.sad, nowMs(), loop.sendOut);
  };
  loop =
    init.role === "outbound"
      ? createOutboundLoop(init, libc, emit)
      : createInboundLoop(init, libc, emit, apply);
  let sinceControl = 0;
  let lastTick = nowMs();
  apply();
  const wakeFd = init.wakeFd ?? -1;
  const drained = Buffer.alloc(8);
  onReady?.();
  while (Atomics.load(stop, 0) === 0) {
    const busy = loop.step();
    if (!busy || ++sinceControl >= CONTROL_EVERY) {
      sinceControl = 0;
      if (wakeFd >= 0) libc.read(wakeFd, drained, 8);
      const now = nowMs();
      applyCommands(init.port, loop.sad, now, loop.sendOut);
      if (now - lastTick >= TICK_MS) {
        lastTick = now;
        tickLifetimes(loop.sad, init.role, now, emit);
      }
    }
  }
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.kind === "postern-datapath") {
  runWorker(
    workerData as WorkerInit,
    (e) => parentPort?.postMessage(e),
    () => parentPort?.postMessage(WORKER_READY),
  );
}
