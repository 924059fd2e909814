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
import { loadLibc } from "../platform/libc.js";
import { createTunPort } from "../platform/tun.js";
import { createUdpPort, decodeSockaddrIn } from "../platform/udp.js";
import { createCounterWriter, type Role } from "./counters.js";
import type { DataPathEvent } from "./events.js";
import { createInbound } from "./inbound.js";
import { createOutbound } from "./outbound.js";
import { createSad, type Sad } from "./sad.js";

export interface WorkerInit {
  kind: "postern-datapath";
  role: Role;
  tunFd: number;
  udpFd: number;
  /** Raw AH socket (IP protocol 51), or -1 when no SA uses AH. */
  rawFd: number;
  counters: SharedArrayBuffer;
  /** Int32Array[0] != 0 asks the loop to stop. */
  control: SharedArrayBuffer;
  port: MessagePort;
  /** Hand packets without an outbound SA to the main thread (ACQUIRE) instead of dropping. */
  acquire?: boolean;
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

export function runWorker(init: WorkerInit, emit: (e: DataPathEvent) => void): void {
  const libc = loadLibc();
  const tun = createTunPort(libc, init.tunFd);
  const udp = createUdpPort(libc, init.udpFd);
  const raw = init.rawFd >= 0 ? createUdpPort(libc, init.rawFd) : null;
  const stop = new Int32Array(init.control);
  const counters = createCounterWriter(init.counters, init.role);
  const sad = createSad();
  const nowMs = () => Date.now();
  // A packet with no SA may belong to an SA that IKE has just handed over (a reply to the
  // first packet the peer sent through it): the pending commands are applied and the packet
  // tried once more before it becomes an ACQUIRE.
  let firstTry = false;
  let missed = false;
  const onNoSa = init.acquire
    ? (packet: Buffer) => {
        if (firstTry) {
          missed = true;
          return true;
        }
        emit({ type: "acquire", packet: Uint8Array.from(packet) });
        return true;
      }
    : undefined;
  const outbound = createOutbound({ sad, counters, events: emit, nowMs, randomBytes, onNoSa });
  const inbound = createInbound({ sad, counters, events: emit, nowMs });
  const buf = Buffer.alloc(65536);
  const from = Buffer.alloc(16);
  let sinceControl = 0;
  let lastTick = nowMs();
  const sendOut = (packet: Buffer) => {
    firstTry = true;
    missed = false;
    let sealed = outbound.seal(packet);
    firstTry = false;
    if (missed) {
      applyCommands(init.port, sad, nowMs(), sendOut);
      sealed = outbound.seal(packet);
    }
    const port = sealed?.via === "raw" ? raw : udp;
    if (sealed !== null && !port?.send(sealed.datagram, sealed.to)) counters.drop("send_failed");
  };
  applyCommands(init.port, sad, lastTick, sendOut);
  while (Atomics.load(stop, 0) === 0) {
    let n: number;
    if (init.role === "outbound") {
      n = tun.read(buf, POLL_MS);
      if (n > 0) sendOut(buf.subarray(0, n));
    } else {
      n = raw === null ? udp.recv(buf, from, POLL_MS) : udp.tryRecv(buf, from);
      let packet: Buffer | null = null;
      // An SPI we do not know yet may belong to an SA IKE has just handed over (its answer
      // can reach the peer before our next poll): apply pending commands first.
      if (n >= 8 && buf.readUInt32BE(0) !== 0 && sad.inbound(buf.readUInt32BE(0)) === undefined)
        applyCommands(init.port, sad, nowMs(), sendOut);
      if (n > 0) packet = inbound.open(buf.subarray(0, n), () => decodeSockaddrIn(from));
      else if (raw !== null) {
        n = raw.tryRecv(buf, from);
        if (n > 0) packet = inbound.openAh(buf.subarray(0, n));
        else libc.pollIn([init.udpFd, init.rawFd], POLL_MS);
      }
      if (packet !== null && !tun.write(packet)) counters.drop("tun_write_failed");
    }
    if (n === 0 || ++sinceControl >= CONTROL_EVERY) {
      sinceControl = 0;
      const now = nowMs();
      applyCommands(init.port, sad, now, sendOut);
      if (now - lastTick >= TICK_MS) {
        lastTick = now;
        tickLifetimes(sad, init.role, now, emit);
      }
    }
  }
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.kind === "postern-datapath") {
  runWorker(workerData as WorkerInit, (e) => parentPort?.postMessage(e));
}
