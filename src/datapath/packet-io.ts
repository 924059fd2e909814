/**
 * A worker's packet I/O on native memory, in batches (the per-packet system call is the
 * largest cost left once crypto is cheap, docs/datapath.md "Per-packet cost"):
 *   outbound: read(TUN) into `rx` until EAGAIN; each sealed datagram goes to a batch slot;
 *             one sendmmsg(2) sends the batch (when full, or when the TUN has no more);
 *             a run of equal-size datagrams to one peer is one message with UDP_SEGMENT
 *             (UDP GSO): the stack runs once for the run, the kernel cuts it into datagrams
 *             at the device (or the peer's socket on a veth), so the peer sees plain ESP
 *   inbound:  one recvmmsg(2) takes up to BATCH messages, each into its own slot with
 *             64 bytes of headroom (transport mode writes the IP header there); write(TUN)
 *             per packet (a TUN takes one packet per write). Packets of SAs the firewall's
 *             bypass admitted go to the bypass device instead (its own fd and coalescer).
 *             The socket has UDP_GRO (Linux 5.0): a run of equal-size datagrams that reached
 *             it as one GSO packet (a peer's UDP GSO send over a veth) stays one message,
 *             so the kernel queues and copies it once instead of cutting it into datagrams;
 *             its datagrams after the first are copied out to spill slots with headroom.
 *   AH:       the raw socket's whole IPv4 packets use the same slots: sealed into a slot and
 *             sent in a batch of their own (sendmmsg on the raw fd, no GSO), received with
 *             recvmmsg into the inbound slots, so they open in place and coalesce like ESP.
 * C calls take addresses into the block (koffi marshals a number in a few ns, a Buffer in
 * ~0.6 us); anything outside the block (a datagram that did not fit a slot) goes by value.
 *
 * struct mmsghdr (x86-64, 64 bytes): msghdr { msg_name @0, msg_namelen @8, msg_iov @16,
 * msg_iovlen @24, msg_control @32, msg_controllen @40, msg_flags @48 }, msg_len @56.
 * struct iovec (16 bytes): iov_base @0, iov_len @8.
 */
import { type Coalescer, createCoalescer } from "./gro.js";
import {
  allocNative,
  EAGAIN,
  EINTR,
  EINVAL,
  EIO,
  EOPNOTSUPP,
  type LibcApi,
  loadLibcAt,
  MSG_DONTWAIT,
  type NativeBlock,
  POLLIN,
} from "../platform/libc.js";
import { createTunPort, tunHasVnetHdr, VNET_HDR_BYTES } from "../platform/tun.js";
import { createUdpPort } from "../platform/udp.js";

export const BATCH = 32;
/** Outbound slot: a sealed datagram from a 1,500-byte packet fits (larger ones go alone). */
const OUT_SLOT = 2048;
/** Inbound slot: headroom + the largest UDP payload. */
const HEADROOM = 64;
const IN_SLOT = HEADROOM + 65_536;
const RX_BYTES = 65_536;
const MMSG = 64;
const IOV = 16;
const SOCKADDR = 16;
/** struct cmsghdr (len u64, level i32, type i32) + a u16, padded: CMSG_SPACE(2), CMSG_LEN(2). */
const CMSG_SPACE = 24;
const CMSG_LEN_U16 = 18;
const SOL_UDP = 17;
/** UDP GSO (Linux 4.18): the kernel cuts one send into datagrams of this size. */
const UDP_SEGMENT = 103;
/** UDP GRO (Linux 5.0): receive runs of equal-size datagrams as one message (cmsg: the size). */
const UDP_GRO = 104;
/** struct cmsghdr + an int, padded: CMSG_SPACE(4); the int at +16. */
const CMSG_SPACE_INT = 24;
/** Spill slots for the datagrams of a GRO message after its first: headroom + one datagram. */
const SPILLS = 64;
const SPILL_SLOT = 2048;
/** Groups only datagrams that fit a 1,500-byte link, and 64 KiB per send (minus headers). */
const UDP_GSO_MAX_SEGMENT = 1472;
const UDP_GSO_MAX_BYTES = 60_000;

export interface PacketIo {
  /** Outbound: the packet readTun read. */
  rx: Buffer;
  /** Outbound: one packet into `rx`; its length, 0 when none within timeoutMs (0: no wait). */
  readTun(timeoutMs: number): number;
  /** Outbound: the MSS when the last packet read is a TCP/IPv4 super-packet (TSO), else 0. */
  rxGsoSize(): number;
  /** Outbound: the slot the next sealed datagram should go to. */
  slot(): Buffer;
  /**
   * Outbound: queue a datagram for UDP `to` (16-byte sockaddr_in), or with via "raw" a
   * whole IPv4 AH packet for the raw socket; sends when the batch is full (a batch holds
   * one socket's datagrams). Returns how many datagrams the kernel refused meanwhile
   * (counted by the caller).
   */
  queue(datagram: Buffer, to: Buffer, via?: "udp" | "raw"): number;
  /** Sends what is queued; returns how many the kernel refused. */
  flush(): number;
  /**
   * Inbound: receives up to BATCH datagrams (waits up to timeoutMs if `wait`); how many.
   * `raw`: from the raw AH socket instead of the UDP one (whole IPv4 packets).
   */
  recvBatch(timeoutMs: number, wait: boolean, raw?: boolean): number;
  /**
   * Inbound: how many datagrams message i of the last batch holds (more than one when the
   * kernel kept a run of them together, UDP GRO).
   */
  datagrams(i: number): number;
  /**
   * Inbound: datagram k of message i, and the message's source sockaddr_in. Datagram 0 lies
   * in the message's slot; the others are copied to spill slots with the same headroom (the
   * coalescers are flushed first whenever the spill slots start over).
   */
  datagram(i: number, k?: number): Buffer;
  from(i: number): Buffer;
  /** Inbound: messages that held more than one datagram (UDP GRO), since the last call. */
  takeGroMessages(): number;
  /**
   * Writes one packet to the TUN (adding the virtio_net_hdr when the fd has one); with
   * `admitted`, to the bypass device when there is one (else to the TUN: fail closed, the
   * firewall then treats it as not admitted).
   */
  writeTun(packet: Buffer, admitted?: boolean): boolean;
  /**
   * Inbound with a virtio_net_hdr TUN: a coalescer for the opened packets of a batch
   * (src/datapath/gro.ts); null when the fd has no vnet header.
   */
  gro: Coalescer | null;
  /** The same for the bypass device; null without one (admitted packets then use `gro`). */
  groBypass: Coalescer | null;
  /** The native memory (for AES-GCM in place, src/esp/evp-gcm.ts). */
  block: NativeBlock;
}

export interface PacketIoFds {
  tunFd: number;
  udpFd: number;
  /** The raw AH socket (IP protocol 51), or -1/absent. */
  rawFd?: number;
  /** An eventfd the main thread writes after posting a command: a wait ends at once. */
  wakeFd?: number;
  /** Inbound: the bypass device (a second TUN), or -1/absent. */
  bypassTunFd?: number;
}

/** A packet whose checksum the kernel left to the device (NEEDS_CSUM): complete it. */
function completeChecksum(b: Buffer, hdrAt: number, packetAt: number, end: number): void {
  if (((b[hdrAt] as number) & 1) === 0) return;
  const start = packetAt + b.readUInt16LE(hdrAt + 6);
  const field = start + b.readUInt16LE(hdrAt + 8);
  if (field + 2 > end) return;
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] as number);
  if (i < end) sum += (b[i] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  b.writeUInt16BE(~sum & 0xffff, field);
}

/** Lays out the block for one role; the mmsghdr/iovec fields that never change are set here. */
export function createPacketIo(
  role: "outbound" | "inbound",
  fds: PacketIoFds,
  libc: LibcApi,
  groFailed: (segments: number) => void = () => {},
  gsoSent: () => void = () => {},
): PacketIo {
  const at = loadLibcAt();
  const slotBytes = role === "outbound" ? OUT_SLOT : IN_SLOT;
  const RX = HEADROOM;
  const SLOTS = RX + (role === "outbound" ? RX_BYTES : 0);
  const bypassFd = role === "inbound" ? (fds.bypassTunFd ?? -1) : -1;
  const GRO = SLOTS + BATCH * slotBytes;
  const GRO_BYTES = role === "inbound" ? VNET_HDR_BYTES + 65_536 : 0;
  const GRO_BP = GRO + GRO_BYTES;
  const VEC = GRO_BP + (bypassFd >= 0 ? GRO_BYTES : 0);
  const IOVS = VEC + BATCH * MMSG;
  const NAMES = IOVS + BATCH * IOV;
  const CMSGS = NAMES + BATCH * SOCKADDR;
  const SPILL = CMSGS + BATCH * CMSG_SPACE;
  const SPILL_BYTES = role === "inbound" ? SPILLS * SPILL_SLOT : 0;
  const block = allocNative(SPILL + SPILL_BYTES);
  const b = block.bytes;
  const a = block.address;
  const put64 = (off: number, v: number) => {
    b.writeUInt32LE(v % 2 ** 32, off);
    b.writeUInt32LE(Math.floor(v / 2 ** 32), off + 4);
  };
  for (let i = 0; i < BATCH; i++) {
    const m = VEC + i * MMSG;
    put64(m, a + NAMES + i * SOCKADDR);
    b.writeUInt32LE(SOCKADDR, m + 8);
    put64(m + 16, a + IOVS + i * IOV);
    put64(m + 24, 1);
    put64(IOVS + i * IOV, a + SLOTS + i * slotBytes + (role === "inbound" ? HEADROOM : 0));
    put64(IOVS + i * IOV + 8, role === "inbound" ? IN_SLOT - HEADROOM : 0);
  }
  const vnet = tunHasVnetHdr(libc, fds.tunFd);
  const skip = vnet ? VNET_HDR_BYTES : 0;
  const tun = createTunPort(libc, fds.tunFd, vnet);
  const bpVnet = bypassFd >= 0 && tunHasVnetHdr(libc, bypassFd);
  const bp = bypassFd >= 0 ? createTunPort(libc, bypassFd, bpVnet) : null;
  const frameWriter =
    (fd: number) =>
    (frame: Buffer): boolean => {
      const where = block.addressOf(frame);
      return where >= 0 && at.writeAt(fd, where, frame.length) === frame.length;
    };
  const coalescer = (fd: number, from: number) =>
    createCoalescer({
      area: b.subarray(from, from + GRO_BYTES),
      writeFrame: frameWriter(fd),
      failed: (n) => groFailed(n),
    });
  let gsoSize = 0;
  const readOnce = () => {
    const n = at.readAt(fds.tunFd, a + RX - skip, RX_BYTES + skip);
    if (n <= skip) return Math.min(n, 0);
    // virtio_net_hdr: gso_type at +1 (TCPV4 = 1, with the ECN bit 0x80), gso_size at +4.
    gsoSize =
      vnet && ((b[RX - skip + 1] as number) & 0x7f) === 1 ? b.readUInt16LE(RX - skip + 4) : 0;
    if (vnet && gsoSize === 0) completeChecksum(b, RX - skip, RX, RX + n - skip);
    return n - skip;
  };
  const udp = createUdpPort(libc, fds.udpFd);
  const rawFd = fds.rawFd ?? -1;
  const raw = rawFd >= 0 ? createUdpPort(libc, rawFd) : null;
  /** The socket of the datagrams queued now (one socket per batch). */
  let batchFd = fds.udpFd;
  const wake = fds.wakeFd ?? -1;
  const waitFor = (fd: number, timeoutMs: number): number =>
    wake < 0 ? libc.pollOne(fd, POLLIN, timeoutMs) : libc.pollIn([fd, wake], timeoutMs);
  /**
   * Reads from `fd` with `once`, waiting up to timeoutMs when there is nothing. When the
   * last read already found the fd empty, it waits first: the loop has just drained it, so
   * a read before the wait would be one more system call (and, for a packet after a quiet
   * spell, one more cold koffi call, docs/datapath.md "Latency") that finds nothing.
   * `drained(n)`: a read of n also emptied the fd (recvmmsg with MSG_DONTWAIT that
   * returns fewer than it asked for stopped at EAGAIN).
   */
  const reader = (fd: number, once: () => number, drained = (_n: number) => false) => {
    let empty = false;
    return (timeoutMs: number): number => {
      if (empty && timeoutMs > 0 && waitFor(fd, timeoutMs) <= 0) return 0;
      for (let attempt = 0; attempt < 2; attempt++) {
        const n = once();
        if (n > 0) {
          empty = drained(n);
          return n;
        }
        const errno = n < 0 ? libc.errno() : EAGAIN;
        if (errno !== EAGAIN && errno !== EINTR) return 0;
        empty = true;
        if (attempt === 0 && (timeoutMs <= 0 || waitFor(fd, timeoutMs) <= 0)) return 0;
      }
      return 0;
    };
  };
  const coalescers = {
    gro: vnet && role === "inbound" ? coalescer(fds.tunFd, GRO) : null,
    groBypass: bpVnet ? coalescer(bypassFd, GRO_BP) : null,
  };
  let pending = 0;
  let udpGso = true;
  const lengthOf = (i: number) => b.readUInt32LE(IOVS + i * IOV + 8);
  const sameDest = (i: number, j: number) =>
    b.compare(
      b,
      NAMES + i * SOCKADDR,
      NAMES + (i + 1) * SOCKADDR,
      NAMES + j * SOCKADDR,
      NAMES + (j + 1) * SOCKADDR,
    ) === 0;
  /** Message k sends datagrams [i, j) (their iovecs are consecutive), as one UDP GSO send if j - i > 1. */
  const describe = (k: number, i: number, j: number) => {
    const m = VEC + k * MMSG;
    put64(m, a + NAMES + i * SOCKADDR);
    put64(m + 16, a + IOVS + i * IOV);
    put64(m + 24, j - i);
    const c = CMSGS + k * CMSG_SPACE;
    put64(m + 32, j - i > 1 ? a + c : 0);
    put64(m + 40, j - i > 1 ? CMSG_SPACE : 0);
    if (j - i > 1) {
      put64(c, CMSG_LEN_U16);
      b.writeInt32LE(SOL_UDP, c + 8);
      b.writeInt32LE(UDP_SEGMENT, c + 12);
      b.writeUInt16LE(lengthOf(i), c + 16);
    }
  };
  /** Groups: consecutive datagrams to one peer, all of the first one's length but the last. */
  const group = (): number[] => {
    const starts: number[] = [];
    let i = 0;
    while (i < pending) {
      starts.push(i);
      const size = lengthOf(i);
      let j = i + 1;
      let bytes = size;
      const groupable = udpGso && batchFd === fds.udpFd && size <= UDP_GSO_MAX_SEGMENT;
      while (groupable && j < pending && lengthOf(j - 1) === size && lengthOf(j) <= size) {
        if (!sameDest(i, j) || bytes + lengthOf(j) > UDP_GSO_MAX_BYTES) break;
        bytes += lengthOf(j);
        j += 1;
      }
      i = j;
    }
    starts.push(pending);
    return starts;
  };
  const flush = (): number => {
    if (pending === 0) return 0;
    const starts = group();
    const groups = starts.length - 1;
    for (let k = 0; k < groups; k++) describe(k, starts[k] as number, starts[k + 1] as number);
    let failed = 0;
    let done = 0;
    while (done < groups) {
      const n = at.sendmmsgAt(batchFd, a + VEC + done * MMSG, groups - done, 0);
      if (n > 0) {
        for (let k = done; k < done + n; k++)
          if ((starts[k + 1] as number) - (starts[k] as number) > 1) gsoSent();
        done += n;
        continue;
      }
      // Message `done` was refused. A GSO send the kernel does not take (EINVAL, EIO: no
      // checksum offload on the route's device, EOPNOTSUPP): send its datagrams one by one,
      // and stop using UDP GSO. Otherwise (a full buffer) count its datagrams and go on.
      const errno = libc.errno();
      const i = starts[done] as number;
      const j = starts[done + 1] as number;
      if (j - i > 1 && udpGso && (errno === EINVAL || errno === EIO || errno === EOPNOTSUPP)) {
        udpGso = false;
        for (let x = i; x < j; x++) {
          describe(BATCH - 1, x, x + 1);
          if (at.sendmmsgAt(fds.udpFd, a + VEC + (BATCH - 1) * MMSG, 1, 0) !== 1) failed += 1;
        }
      } else failed += j - i;
      done += 1;
    }
    pending = 0;
    return failed;
  };
  // Inbound: ask for UDP GRO; a kernel without it leaves every datagram a message of its own.
  const gro = role === "inbound" && libc.setsockoptInt(fds.udpFd, SOL_UDP, UDP_GRO, 1) === 0;
  const recvOnce = (fd: number) => {
    for (let i = 0; i < BATCH; i++) {
      const m = VEC + i * MMSG;
      b.writeUInt32LE(SOCKADDR, m + 8);
      put64(m + 32, gro ? a + CMSGS + i * CMSG_SPACE : 0);
      put64(m + 40, gro ? CMSG_SPACE_INT : 0);
    }
    return at.recvmmsgAt(fd, a + VEC, BATCH, MSG_DONTWAIT);
  };
  /** The UDP_GRO segment size of message i, or 0 (one datagram). */
  const groSize = (i: number): number => {
    if (!gro || b.readUInt32LE(VEC + i * MMSG + 40) < 20) return 0;
    const c = CMSGS + i * CMSG_SPACE;
    if (b.readInt32LE(c + 8) !== SOL_UDP || b.readInt32LE(c + 12) !== UDP_GRO) return 0;
    return b.readInt32LE(c + 16);
  };
  const messageLength = (i: number) => b.readUInt32LE(VEC + i * MMSG + 56);
  let spill = 0;
  let groMessages = 0;
  const readTun = reader(fds.tunFd, readOnce);
  const recvUdp = reader(
    fds.udpFd,
    () => recvOnce(fds.udpFd),
    (n) => n < BATCH,
  );
  const recvRaw = reader(
    rawFd,
    () => recvOnce(rawFd),
    (n) => n < BATCH,
  );
  return {
    block,
    rx: b.subarray(RX, RX + RX_BYTES),
    readTun,
    rxGsoSize: () => gsoSize,
    slot: () => b.subarray(SLOTS + pending * OUT_SLOT, SLOTS + (pending + 1) * OUT_SLOT),
    queue(datagram, to, via = "udp") {
      const fd = via === "raw" ? rawFd : fds.udpFd;
      const port = via === "raw" ? raw : udp;
      let failed = fd !== batchFd ? flush() : 0;
      batchFd = fd;
      const where = block.addressOf(datagram);
      if (where < 0 || port === null) {
        // Not in a slot (too large): keep the order, send it alone.
        failed += flush();
        return failed + (port?.send(datagram, to) ? 0 : 1);
      }
      const m = VEC + pending * MMSG;
      b.set(to.subarray(0, SOCKADDR), NAMES + pending * SOCKADDR);
      put64(IOVS + pending * IOV, where);
      put64(IOVS + pending * IOV + 8, datagram.length);
      b.writeUInt32LE(SOCKADDR, m + 8);
      pending += 1;
      return failed + (pending === BATCH ? flush() : 0);
    },
    flush,
    recvBatch(timeoutMs, wait, fromRaw = false) {
      const t = wait ? timeoutMs : 0;
      if (!fromRaw) return Math.max(0, recvUdp(t));
      return rawFd < 0 ? 0 : Math.max(0, recvRaw(t));
    },
    datagrams(i) {
      const size = groSize(i);
      const len = messageLength(i);
      if (size <= 0 || size >= len) return 1;
      groMessages += 1;
      return Math.ceil(len / size);
    },
    datagram(i, k = 0) {
      const start = SLOTS + i * IN_SLOT + HEADROOM;
      const len = messageLength(i);
      const size = groSize(i);
      if (size <= 0 || size >= len) return b.subarray(start, start + len);
      const from = start + k * size;
      const n = Math.min(size, len - k * size);
      // Datagram 0 keeps its slot's headroom; the others' headroom would be the datagram
      // before them, which the coalescer may still hold: they go to a spill slot.
      if (k === 0) return b.subarray(from, from + n);
      if (n > SPILL_SLOT - HEADROOM) {
        // Larger than a spill slot (no sender here makes such runs): a copy of its own, with
        // the headroom transport mode writes the IP header into.
        const copy = Buffer.alloc(HEADROOM + n);
        b.copy(copy, HEADROOM, from, from + n);
        return copy.subarray(HEADROOM);
      }
      if (spill === SPILLS) {
        spill = 0;
        coalescers.gro?.flush();
        coalescers.groBypass?.flush();
      }
      const to = SPILL + spill * SPILL_SLOT + HEADROOM;
      spill += 1;
      b.copy(b, to, from, from + n);
      return b.subarray(to, to + n);
    },
    takeGroMessages() {
      const n = groMessages;
      groMessages = 0;
      return n;
    },
    from: (i) => b.subarray(NAMES + i * SOCKADDR, NAMES + (i + 1) * SOCKADDR),
    writeTun(packet, admitted = false) {
      const toBypass = admitted && bp !== null;
      const where = block.addressOf(packet);
      if (where < 0 || (toBypass ? bpVnet : vnet)) return (toBypass ? bp : tun).write(packet);
      const fd = toBypass ? bypassFd : fds.tunFd;
      return at.writeAt(fd, where, packet.length) === packet.length;
    },
    gro: coalescers.gro,
    groBypass: coalescers.groBypass,
  };
}
