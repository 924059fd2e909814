/**
 * UDP GRO on the ESP socket (src/datapath/packet-io.ts), against the kernel on loopback: a
 * run of equal-size datagrams sent as one UDP GSO message reaches a socket with UDP_GRO as
 * one message, and the inbound side hands every datagram back, whole and in order, each
 * with writable headroom (transport mode writes the IP header there). A run of datagrams
 * larger than a spill slot comes back too (as copies). No namespace: two sockets on
 * 127.0.0.1.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createPacketIo } from "../../src/datapath/packet-io.js";
import { allocNative, loadLibc, loadLibcAt } from "../../src/platform/libc.js";
import { encodeSockaddrIn, openUdpSocket } from "../../src/platform/udp.js";

const libc = loadLibc();

/** A sender (outbound packet I/O, which groups equal-size datagrams as UDP GSO) and a receiver. */
function pair() {
  // A port of its own (suites run side by side): from the pid, the next ones if taken.
  let rx = -1;
  let port = 0;
  for (let i = 0; rx < 0 && i < 50; i++) {
    port = 30_000 + ((process.pid * 7 + i * 131) % 20_000);
    try {
      rx = openUdpSocket(libc, { address: "127.0.0.1", port }, 0);
    } catch {
      rx = -1;
    }
  }
  assert.ok(rx >= 0, "a free UDP port on 127.0.0.1");
  const tx = openUdpSocket(libc, { address: "127.0.0.1", port: 0 }, 0);
  const out = createPacketIo("outbound", { tunFd: -1, udpFd: tx }, libc);
  const inn = createPacketIo("inbound", { tunFd: -1, udpFd: rx }, libc);
  const to = encodeSockaddrIn({ address: "127.0.0.1", port });
  return {
    out,
    inn,
    to,
    txFd: tx,
    close: () => {
      libc.close(rx);
      libc.close(tx);
    },
  };
}

/** Datagram i of `sizes`: its index in every byte, so order and boundaries show. */
function datagram(i: number, size: number): Buffer {
  return Buffer.alloc(size, i + 1);
}

/** Queues datagram (i, size) from the sender's next batch slot, as the outbound loop does. */
function send(p: ReturnType<typeof pair>, i: number, size: number): number {
  const slot = p.out.slot();
  slot.fill(i + 1, 0, size);
  return p.out.queue(slot.subarray(0, size), p.to);
}

/**
 * One UDP GSO send of `count` datagrams of `size` bytes (datagram i filled with i + 1), built
 * by hand: msghdr + iovec + a UDP_SEGMENT control message, as the kernel takes it.
 */
function gsoSend(fd: number, to: Buffer, count: number, size: number): number {
  const m = allocNative(64 + 16 + 16 + 24 + count * size);
  const b = m.bytes;
  const put64 = (off: number, v: number) => {
    b.writeUInt32LE(v % 2 ** 32, off);
    b.writeUInt32LE(Math.floor(v / 2 ** 32), off + 4);
  };
  const [IOV, NAME, CMSG, DATA] = [64, 80, 96, 120];
  for (let i = 0; i < count; i++) b.fill(i + 1, DATA + i * size, DATA + (i + 1) * size);
  to.copy(b, NAME, 0, 16);
  put64(IOV, m.address + DATA);
  put64(IOV + 8, count * size);
  put64(0, m.address + NAME);
  b.writeUInt32LE(16, 8);
  put64(16, m.address + IOV);
  put64(24, 1);
  put64(32, m.address + CMSG);
  put64(40, 24);
  put64(CMSG, 18); // cmsg_len = CMSG_LEN(2)
  b.writeInt32LE(17, CMSG + 8); // SOL_UDP
  b.writeInt32LE(103, CMSG + 12); // UDP_SEGMENT
  b.writeUInt16LE(size, CMSG + 16);
  const sent = loadLibcAt().sendmmsgAt(fd, m.address, 1, 0);
  m.free();
  return sent;
}

/** Everything the receiver gets within 2 s: the datagrams, and how many messages held more than one. */
function receiveAll(inn: ReturnType<typeof createPacketIo>, expected: number) {
  const got: Buffer[] = [];
  let runs = 0;
  const until = Date.now() + 2000;
  while (got.length < expected && Date.now() < until) {
    const count = inn.recvBatch(100, true);
    for (let i = 0; i < count; i++) {
      const n = inn.datagrams(i);
      for (let k = 0; k < n; k++) {
        const d = inn.datagram(i, k);
        // The headroom in front of each datagram is ours to write (the IP header goes there).
        const head = Buffer.from(d.buffer, d.byteOffset - 20, 20);
        head.fill(0xee);
        got.push(Buffer.from(d));
      }
    }
    runs += inn.takeGroMessages();
  }
  return { got, runs };
}

describe("UDP GRO on the ESP socket (loopback, real sockets)", () => {
  it("a GSO run of 40 datagrams arrives as one message and comes back as 40, in order", () => {
    const p = pair();
    try {
      const sizes = [...new Array<number>(39).fill(1416), 700];
      for (const [i, size] of sizes.entries()) {
        assert.equal(send(p, i, size), 0);
      }
      assert.equal(p.out.flush(), 0);
      const { got, runs } = receiveAll(p.inn, sizes.length);
      assert.ok(runs >= 1, "at least one message held a run (UDP GRO)");
      assert.equal(got.length, sizes.length);
      for (const [i, d] of got.entries()) assert.deepEqual(d, datagram(i, sizes[i] as number));
    } finally {
      p.close();
    }
  });

  it("a run of datagrams larger than a spill slot (3,000 bytes) comes back whole too", () => {
    const p = pair();
    try {
      assert.equal(gsoSend(p.txFd, p.to, 6, 3000), 1, "the kernel took the GSO send");
      const { got, runs } = receiveAll(p.inn, 6);
      assert.ok(runs >= 1, "one message held the run");
      assert.equal(got.length, 6);
      for (const [i, d] of got.entries()) assert.deepEqual(d, datagram(i, 3000));
    } finally {
      p.close();
    }
  });

  it("spill slots start over after 64 datagrams without losing one (200 in runs)", () => {
    const p = pair();
    try {
      for (let i = 0; i < 200; i++) {
        send(p, i % 250, 1000);
        if (i % 40 === 39) p.out.flush();
      }
      p.out.flush();
      const { got } = receiveAll(p.inn, 200);
      assert.equal(got.length, 200);
      for (const [i, d] of got.entries()) assert.deepEqual(d, datagram(i % 250, 1000));
    } finally {
      p.close();
    }
  });
});
