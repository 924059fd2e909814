/**
 * The agent's UDP socket (IPv4, port 4500 by default) through koffi, so worker threads can
 * block in recvfrom(2)/sendto(2) on a shared fd. SO_MARK tags everything the agent sends
 * with the bypass mark, so the steering rules never send our own ESP/IKE back into the
 * TUN (docs/datapath.md "Steering").
 *
 * `DatagramPort` is what the data path uses; `createFakeDatagramPort` is its in-memory twin.
 */
import { PosternError } from "../errors.js";
import {
  AF_INET,
  EAGAIN,
  EINTR,
  F_GETFL,
  F_SETFL,
  IP_HDRINCL,
  IPPROTO_IP,
  type LibcApi,
  MSG_DONTWAIT,
  O_NONBLOCK,
  POLLIN,
  SO_MARK,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_SNDBUF,
  SOCK_DGRAM,
  SOCK_RAW,
  SOL_SOCKET,
} from "./libc.js";

export interface UdpEndpoint {
  /** Dotted IPv4 address. */
  address: string;
  port: number;
}

/** struct sockaddr_in: family (LE u16), port (BE u16), address (4 bytes), 8 zero bytes. */
export function encodeSockaddrIn(ep: UdpEndpoint, out: Buffer = Buffer.alloc(16)): Buffer {
  out.fill(0, 0, 16);
  out.writeUInt16LE(AF_INET, 0);
  out.writeUInt16BE(ep.port, 2);
  const parts = ep.address.split(".").map((p) => Number(p));
  for (let i = 0; i < 4; i++) out[4 + i] = parts[i] ?? 0;
  return out;
}

export function decodeSockaddrIn(buf: Buffer): UdpEndpoint {
  return {
    address: `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`,
    port: buf.readUInt16BE(2),
  };
}

/** Opens, marks and binds the socket; returns the fd (shared by the worker threads). */
export function openUdpSocket(libc: LibcApi, bindTo: UdpEndpoint, mark: number): number {
  const fd = libc.socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw new PosternError("udp", `socket() failed: errno ${libc.errno()}`);
  const fail = (what: string): never => {
    const errno = libc.errno();
    libc.close(fd);
    throw new PosternError(
      "udp",
      `${what} on UDP ${bindTo.address}:${bindTo.port} failed: errno ${errno}`,
    );
  };
  if (libc.setsockoptInt(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0) fail("SO_REUSEADDR");
  if (mark !== 0 && libc.setsockoptInt(fd, SOL_SOCKET, SO_MARK, mark) < 0) fail("SO_MARK");
  libc.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20);
  libc.setsockoptInt(fd, SOL_SOCKET, SO_SNDBUF, 4 << 20);
  if (libc.bind(fd, encodeSockaddrIn(bindTo), 16) < 0) fail("bind");
  const flags = libc.fcntl(fd, F_GETFL, 0);
  libc.fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  return fd;
}

export interface DatagramPort {
  /** Waits up to timeoutMs; returns the datagram length (source in `from`), 0 on timeout. */
  recv(buf: Buffer, from: Buffer, timeoutMs: number): number;
  /** One non-blocking attempt; 0 when nothing is queued. */
  tryRecv(buf: Buffer, from: Buffer): number;
  /** Sends one datagram to a 16-byte sockaddr_in; false when the kernel refused it. */
  send(data: Buffer, to: Buffer): boolean;
}

export function createUdpPort(libc: LibcApi, fd: number): DatagramPort {
  const alen = Buffer.alloc(4);
  return {
    recv(buf, from, timeoutMs) {
      for (let attempt = 0; attempt < 2; attempt++) {
        alen.writeInt32LE(16, 0);
        const n = libc.recvfrom(fd, buf, buf.length, MSG_DONTWAIT, from, alen);
        if (n > 0) return n;
        const errno = n < 0 ? libc.errno() : EAGAIN;
        if (errno !== EAGAIN && errno !== EINTR) return 0;
        if (attempt === 0 && libc.pollOne(fd, POLLIN, timeoutMs) <= 0) return 0;
      }
      return 0;
    },
    tryRecv(buf, from) {
      alen.writeInt32LE(16, 0);
      const n = libc.recvfrom(fd, buf, buf.length, MSG_DONTWAIT, from, alen);
      return Math.max(n, 0);
    },
    send(data, to) {
      return libc.sendto(fd, data, data.length, 0, to, 16) === data.length;
    },
  };
}

/**
 * A raw IPv4 socket for AH (protocol 51) with IP_HDRINCL: we send whole packets whose
 * header the ICV covers, and receive whole packets. Marked like the UDP socket.
 */
export function openRawAhSocket(libc: LibcApi, mark: number): number {
  const fd = libc.socket(AF_INET, SOCK_RAW, 51);
  if (fd < 0) throw new PosternError("raw", `raw socket for AH failed: errno ${libc.errno()}`);
  const ok =
    libc.setsockoptInt(fd, IPPROTO_IP, IP_HDRINCL, 1) >= 0 &&
    (mark === 0 || libc.setsockoptInt(fd, SOL_SOCKET, SO_MARK, mark) >= 0);
  if (!ok) {
    const errno = libc.errno();
    libc.close(fd);
    throw new PosternError("raw", `raw AH socket options failed: errno ${errno}`);
  }
  libc.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20);
  const flags = libc.fcntl(fd, F_GETFL, 0);
  libc.fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  return fd;
}

/** In-memory DatagramPort: `inject` queues datagrams, `sent` collects sends. */
export function createFakeDatagramPort(): DatagramPort & {
  inject(data: Buffer, from: UdpEndpoint): void;
  sent: { data: Buffer; to: UdpEndpoint }[];
} {
  const queue: { data: Buffer; from: UdpEndpoint }[] = [];
  const sent: { data: Buffer; to: UdpEndpoint }[] = [];
  return {
    sent,
    inject: (data, from) => {
      queue.push({ data, from });
    },
    tryRecv(buf, from) {
      return this.recv(buf, from, 0);
    },
    recv(buf, from) {
      const d = queue.shift();
      if (d === undefined) return 0;
      d.data.copy(buf);
      encodeSockaddrIn(d.from, from);
      return d.data.length;
    },
    send(data, to) {
      sent.push({ data: Buffer.from(data), to: decodeSockaddrIn(to) });
      return true;
    },
  };
}
