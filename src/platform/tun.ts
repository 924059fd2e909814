/**
 * A TUN device (layer 3, no packet-information header) opened through koffi:
 *   fd = open("/dev/net/tun", O_RDWR); ioctl(fd, TUNSETIFF, {name, IFF_TUN|IFF_NO_PI})
 * The fd is a plain number so worker threads can share it: one thread blocks in read(2)
 * (outbound), another writes opened packets (inbound). The device disappears when the
 * last fd closes.
 *
 * `PacketPort` is what the data path reads and writes; `createFakePacketPort` is its
 * in-memory twin for tests without root.
 */
import { PosternError } from "../errors.js";
import {
  EAGAIN,
  EINTR,
  F_GETFL,
  F_SETFL,
  type LibcApi,
  loadLibcAt,
  O_NONBLOCK,
  O_RDWR,
  POLLIN,
} from "./libc.js";

export const TUNSETIFF = 0x400454ca;
export const IFF_TUN = 0x0001;
export const IFF_NO_PI = 0x1000;
/** Every read/write starts with a 10-byte struct virtio_net_hdr (GSO/checksum offload info). */
export const IFF_VNET_HDR = 0x4000;
export const TUNGETIFF = 0x800454d2;
export const VNET_HDR_BYTES = 10;
export const TUNSETOFFLOAD = 0x400454d0;
/** TUNSETOFFLOAD flags: we complete checksums and segment TCP/IPv4 ourselves (src/datapath/gso.ts). */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
/** struct ifreq is 40 bytes on x86-64: 16-byte name, then a union (flags: short). */
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;

export interface TunDevice {
  name: string;
  fd: number;
}

/**
 * Creates (or attaches to) TUN device `name`; non-blocking fd (readers poll). The fd has
 * IFF_VNET_HDR: the data path writes coalesced TCP segments as one GSO packet
 * (src/datapath/gro.ts); `tunHasVnetHdr` tells readers and writers.
 */
export function openTun(libc: LibcApi, name: string): TunDevice {
  if (name.length === 0 || name.length >= IFNAMSIZ) {
    throw new PosternError("tun", `TUN name "${name}" must be 1-15 characters`);
  }
  const fd = libc.open("/dev/net/tun", O_RDWR);
  if (fd < 0) {
    throw new PosternError("tun", `open /dev/net/tun failed: errno ${libc.errno()}`);
  }
  const ifr = Buffer.alloc(IFREQ_SIZE);
  ifr.write(name, 0, "ascii");
  ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, IFNAMSIZ);
  if (libc.ioctlPtr(fd, TUNSETIFF, ifr) < 0) {
    const errno = libc.errno();
    libc.close(fd);
    throw new PosternError("tun", `TUNSETIFF ${name} failed: errno ${errno}`);
  }
  // TSO: the kernel's TCP hands over up to 64 KiB per read; the outbound worker cuts it into
  // segments. Best effort: without it every read is one MTU-sized packet, as before.
  loadLibcAt().ioctlValue(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4);
  const flags = libc.fcntl(fd, F_GETFL, 0);
  libc.fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  return { name, fd };
}

/** True when the TUN fd was opened with IFF_VNET_HDR (TUNGETIFF). */
export function tunHasVnetHdr(libc: LibcApi, fd: number): boolean {
  const ifr = Buffer.alloc(IFREQ_SIZE);
  if (libc.ioctlPtr(fd, TUNGETIFF, ifr) < 0) return false;
  return (ifr.readUInt16LE(IFNAMSIZ) & IFF_VNET_HDR) !== 0;
}

/** Packet-at-a-time I/O on one fd, as the data-path loops use it. */
export interface PacketPort {
  /** Waits up to timeoutMs; returns the packet length read into buf, 0 on timeout. */
  read(buf: Buffer, timeoutMs: number): number;
  /** Writes one packet; returns false when the kernel refused it (counted by the caller). */
  write(packet: Buffer): boolean;
}

/** `vnetHdr`: the fd has IFF_VNET_HDR; reads drop the header, writes add a zero one. */
export function createTunPort(libc: LibcApi, fd: number, vnetHdr = false): PacketPort {
  const skip = vnetHdr ? VNET_HDR_BYTES : 0;
  const frame = Buffer.alloc(vnetHdr ? 65_536 + VNET_HDR_BYTES : 0);
  return {
    read(buf, timeoutMs) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const n = vnetHdr ? libc.read(fd, frame, frame.length) : libc.read(fd, buf, buf.length);
        if (n > skip) {
          if (vnetHdr) frame.copy(buf, 0, skip, n);
          return n - skip;
        }
        const errno = n < 0 ? libc.errno() : EAGAIN;
        if (errno !== EAGAIN && errno !== EINTR) return 0;
        if (attempt === 0 && libc.pollOne(fd, POLLIN, timeoutMs) <= 0) return 0;
      }
      return 0;
    },
    write(packet) {
      if (!vnetHdr) return libc.write(fd, packet, packet.length) === packet.length;
      if (packet.length > frame.length - skip) return false;
      frame.fill(0, 0, skip);
      packet.copy(frame, skip);
      return libc.write(fd, frame, packet.length + skip) === packet.length + skip;
    },
  };
}

/** In-memory PacketPort: `inject` queues packets for read, `written` collects writes. */
export function createFakePacketPort(): PacketPort & {
  inject(p: Buffer): void;
  written: Buffer[];
} {
  const queue: Buffer[] = [];
  const written: Buffer[] = [];
  return {
    written,
    inject: (p) => {
      queue.push(p);
    },
    read(buf) {
      const p = queue.shift();
      if (p === undefined) return 0;
      p.copy(buf);
      return p.length;
    },
    write(p) {
      written.push(Buffer.from(p));
      return true;
    },
  };
}
