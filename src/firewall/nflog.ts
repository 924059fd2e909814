/**
 * An NFLOG listener: a netlink socket (AF_NETLINK, NETLINK_NETFILTER) bound to nftables log
 * groups, read from Node through koffi. Why NFLOG: it is the kernel's own channel from an
 * nftables `log group N` rule to one process, with the packet's headers, without parsing
 * the kernel log (`log` without group goes to dmesg, shared and rate limited) and without
 * the per-packet verdict round trip of NFQUEUE. Groups are per network namespace.
 *
 * 1. socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER); bind to the kernel (pid 0 = auto)
 * 2. per group: NFULNL_CFG_CMD_BIND, then copy mode PACKET (first 128 bytes), each ACKed
 * 3. recv() in koffi's worker thread (blocking, 500 ms SO_RCVTIMEO so stop() is seen)
 */
import koffi from "koffi";
import { FirewallError } from "./errors.js";
import {
  bindGroupRequest,
  copyModeRequest,
  decodeMessages,
  NETLINK_NETFILTER,
  type NflogPacket,
} from "./nflog-codec.js";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SO_RCVBUF = 8;

export interface NflogListener {
  /** Resolves when stop() was called and the reader loop ended. */
  done: Promise<void>;
  stop(): void;
}

interface Libc {
  socket: (d: number, t: number, p: number) => number;
  bind: (fd: number, a: Buffer, l: number) => number;
  send: (fd: number, b: Buffer, l: number, f: number) => number | bigint;
  recv: ReturnType<ReturnType<typeof koffi.load>["func"]>;
  setsockopt: (fd: number, lvl: number, name: number, v: Buffer, l: number) => number;
  close: (fd: number) => number;
}

function loadLibc(): Libc {
  const lib = koffi.load("libc.so.6");
  return {
    socket: lib.func("int socket(int, int, int)"),
    bind: lib.func("int bind(int, const void *, uint32_t)"),
    send: lib.func("long send(int, const void *, unsigned long, int)"),
    recv: lib.func("long recv(int, void *, unsigned long, int)"),
    setsockopt: lib.func("int setsockopt(int, int, int, const void *, uint32_t)"),
    close: lib.func("int close(int)"),
  };
}

function fail(what: string): never {
  throw new FirewallError("nft-failed", `NFLOG: ${what} failed (errno ${koffi.errno()})`);
}

/** Opens the socket and binds the groups; calls onPacket for each logged packet. */
export function listenNflog(
  groups: readonly number[],
  onPacket: (p: NflogPacket) => void,
): NflogListener {
  const c = loadLibc();
  const fd = c.socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
  if (fd < 0) fail("socket(AF_NETLINK, NETLINK_NETFILTER)");
  const addr = Buffer.alloc(12);
  addr.writeUInt16LE(AF_NETLINK, 0);
  if (c.bind(fd, addr, 12) < 0) fail("bind");
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(0n, 0);
  tv.writeBigInt64LE(500_000n, 8);
  c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
  const rcvbuf = Buffer.alloc(4);
  rcvbuf.writeInt32LE(4 * 1024 * 1024, 0);
  c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, 4);
  const buf = Buffer.alloc(256 * 1024);
  let seq = 1;
  const request = (msg: Buffer, what: string): void => {
    if (Number(c.send(fd, msg, msg.length, 0)) < 0) fail(what);
    const n = Number(c.recv(fd, buf, buf.length, 0));
    if (n < 0) fail(`${what} (no answer)`);
    const ack = decodeMessages(buf.subarray(0, n)).find((m) => m.kind === "ack");
    if (ack && ack.kind === "ack" && ack.errno !== 0) {
      c.close(fd);
      throw new FirewallError(
        "nft-failed",
        `NFLOG: ${what}: errno ${ack.errno} (group in use by another listener?)`,
      );
    }
  };
  for (const g of groups) {
    request(bindGroupRequest(g, seq++), `bind group ${g}`);
    request(copyModeRequest(g, seq++, 128), `copy mode for group ${g}`);
  }
  let stopped = false;
  const done = new Promise<void>((resolve) => {
    const loop = (): void => {
      if (stopped) {
        c.close(fd);
        resolve();
        return;
      }
      c.recv.async(fd, buf, buf.length, 0, (err: unknown, res: number | bigint) => {
        const n = Number(res);
        if (!err && n > 0) {
          for (const m of decodeMessages(buf.subarray(0, n))) {
            if (m.kind === "packet") onPacket(m.packet);
          }
        }
        // n < 0: the 500 ms timeout (EAGAIN), EINTR, or ENOBUFS (events lost): read on.
        setImmediate(loop);
      });
    };
    loop();
  });
  return {
    done,
    stop: () => {
      stopped = true;
    },
  };
}
