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
import {
  allocNative,
  EAGAIN,
  EINTR,
  type LibcApi,
  loadLibc,
  loadLibcAt,
  MSG_DONTWAIT,
  type NativeBlock,
  POLLIN,
} from "../platform/libc.js";
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

/**
 * The worker's packet memory (native, so C calls take plain addresses): the packet read
 * from the TUN or the socket at RX (with 40 bytes of headroom before it for the IP header
 * transport mode rebuilds), the sealed datagram at OUT, sockaddr_in slots at TO / FROM.
 */
const RX = 64;
const RX_BYTES = 65_536;
const OUT = RX + RX_BYTES + 64;
const OUT_BYTES = 66_000;
const TO = OUT + OUT_BYTES;
const FROM = TO + 16;
const ALEN = FROM + 16;
const BLOCK_BYTES = ALEN + 64;

interface PacketIo {
  /** One packet into `rx` (up to timeoutMs of waiting); its length, 0 when none. */
  readTun(timeoutMs: number): number;
  /** One datagram into `rx`; 0 when none (blocking up to timeoutMs if `wait`). */
  recvUdp(timeoutMs: number, wait: boolean): number;
  /** Sends to a 16-byte sockaddr_in; false when the kernel refused. */
  send(port: "udp" | "raw", datagram: Buffer, to: Buffer): boolean;
  writeTun(packet: Buffer): boolean;
  rx: Buffer;
  out: Buffer;
  from: Buffer;
  block: NativeBlock;
}

/** read/recvfrom/sendto/write on the native block's addresses; other buffers by value. */
function createPacketIo(init: WorkerInit, libc: LibcApi): PacketIo {
  const at = loadLibcAt();
  const block = allocNative(BLOCK_BYTES);
  const a = block.address;
  const tun = createTunPort(libc, init.tunFd);
  const udp = createUdpPort(libc, init.udpFd);
  const raw = init.rawFd >= 0 ? createUdpPort(libc, init.rawFd) : null;
  const retry = (fd: number, once: () => number, timeoutMs: number): number => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const n = once();
      if (n > 0) return n;
      const errno = n < 0 ? libc.errno() : EAGAIN;
      if (errno !== EAGAIN && errno !== EINTR) return 0;
      if (attempt === 0 && (timeoutMs <= 0 || libc.pollOne(fd, POLLIN, timeoutMs) <= 0)) return 0;
    }
    return 0;
  };
  const recvOnce = () => {
    block.bytes.writeInt32LE(16, ALEN);
    return at.recvfromAt(init.udpFd, a + RX, RX_BYTES, MSG_DONTWAIT, a + FROM, a + ALEN);
  };
  return {
    rx: block.bytes.subarray(RX, RX + RX_BYTES),
    out: block.bytes.subarray(OUT, OUT + OUT_BYTES),
    from: block.bytes.subarray(FROM, FROM + 16),
    block,
    readTun: (timeoutMs) =>
      retry(init.tunFd, () => at.readAt(init.tunFd, a + RX, RX_BYTES), timeoutMs),
    recvUdp: (timeoutMs, wait) => Math.max(0, retry(init.udpFd, recvOnce, wait ? timeoutMs : 0)),
    send(port, datagram, to) {
      const where = block.addressOf(datagram);
      if (port === "raw" || where < 0)
        return (port === "raw" ? raw : udp)?.send(datagram, to) ?? false;
      block.bytes.set(to.subarray(0, 16), TO);
      return at.sendtoAt(init.udpFd, where, datagram.length, 0, a + TO, 16) === datagram.length;
    },
    writeTun(packet) {
      const where = block.addressOf(packet);
      if (where < 0) return tun.write(packet);
      return at.writeAt(init.tunFd, where, packet.length) === packet.length;
    },
  };
}

export function runWorker(init: WorkerInit, emit: (e: DataPathEvent) => void): void {
  const libc = loadLibc();
  const io = createPacketIo(init, libc);
  const raw = init.rawFd >= 0 ? createUdpPort(libc, init.rawFd) : null;
  const stop = new Int32Array(init.control);
  const counters = createCounterWriter(init.counters, init.role);
  const sad = createSad(loadEvpGcm(io.block) ?? undefined);
  const nowMs = () => Date.now();
  const onNoSa = init.acquire
    ? (packet: Buffer) => {
        emit({ type: "acquire", packet: Uint8Array.from(packet) });
        return true;
      }
    : undefined;
  const outbound = createOutbound({
    ...{ sad, counters, events: emit, nowMs, randomBytes, onNoSa },
    out: io.out,
  });
  const inbound = createInbound({ sad, counters, events: emit, nowMs, inPlace: true });
  const ahBuf = Buffer.alloc(65536);
  const ahFrom = Buffer.alloc(16);
  let sinceControl = 0;
  let lastTick = nowMs();
  const sendOut = (packet: Buffer) => {
    const sealed = outbound.seal(packet);
    if (sealed !== null && !io.send(sealed.via, sealed.datagram, sealed.to))
      counters.drop("send_failed");
  };
  applyCommands(init.port, sad, lastTick, sendOut);
  while (Atomics.load(stop, 0) === 0) {
    let n: number;
    if (init.role === "outbound") {
      n = io.readTun(POLL_MS);
      if (n > 0) sendOut(io.rx.subarray(0, n));
    } else {
      n = io.recvUdp(POLL_MS, raw === null);
      let packet: Buffer | null = null;
      const spi = n >= 8 ? io.rx.readUInt32BE(0) : 0;
      // An SPI we do not know yet may belong to an SA IKE has just handed over (its answer
      // can reach the peer before our next poll): apply pending commands first.
      if (spi !== 0 && sad.inbound(spi) === undefined)
        applyCommands(init.port, sad, nowMs(), sendOut);
      if (n > 0) packet = inbound.open(io.rx.subarray(0, n), () => decodeSockaddrIn(io.from));
      else if (raw !== null) {
        n = raw.tryRecv(ahBuf, ahFrom);
        if (n > 0) packet = inbound.openAh(ahBuf.subarray(0, n));
        else libc.pollIn([init.udpFd, init.rawFd], POLL_MS);
      }
      if (packet !== null && !io.writeTun(packet)) counters.drop("tun_write_failed");
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
