/**
 * A recording KDC proxy on loopback: MIT `kinit`/`kvno` are pointed at it, it forwards each
 * request to the real `krb5kdc` and returns the answer, keeping both as captured messages.
 * UDP (one datagram each way) and TCP (RFC 4120 §7.2.2: 4-byte big-endian length prefix).
 * Also `sendUdp`/`sendTcp` to send a message of ours straight to a KDC.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";

export interface Captured {
  transport: "udp" | "tcp";
  request: Uint8Array;
  reply: Uint8Array;
}

export interface KdcProxy {
  port: number;
  captured: Captured[];
  close(): Promise<void>;
}

export function sendUdp(port: number, msg: Uint8Array, timeoutMs = 5000): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no UDP reply from 127.0.0.1:${port} in ${timeoutMs} ms`));
    }, timeoutMs);
    s.once("message", (m) => {
      clearTimeout(timer);
      s.close();
      resolve(new Uint8Array(m));
    });
    s.send(msg, port, "127.0.0.1");
  });
}

/** Reads one length-prefixed record from a socket (bounded to 1 MiB). */
function readRecord(sock: net.Socket): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (len > 1 << 20) return done(new Error(`TCP record of ${len} bytes`));
        if (buf.length >= 4 + len) return done(undefined, new Uint8Array(buf.subarray(4, 4 + len)));
      }
    };
    const done = (err?: Error, v?: Uint8Array) => {
      sock.off("data", onData);
      sock.off("error", done);
      sock.off("end", onEnd);
      if (err) reject(err);
      else resolve(v!);
    };
    const onEnd = () => done(new Error("connection closed before a whole record"));
    sock.on("data", onData);
    sock.once("error", done);
    sock.once("end", onEnd);
  });
}

function frame(msg: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + msg.length);
  b.writeUInt32BE(msg.length, 0);
  b.set(msg, 4);
  return b;
}

export function sendTcp(port: number, msg: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(frame(msg));
      readRecord(s).then(
        (r) => {
          s.destroy();
          resolve(r);
        },
        (e) => {
          s.destroy();
          reject(e);
        },
      );
    });
    s.once("error", reject);
  });
}

/** Listens on `port` (UDP and TCP) and relays to the KDC on `kdcPort`. */
export async function startKdcProxy(port: number, kdcPort: number): Promise<KdcProxy> {
  const captured: Captured[] = [];
  const udp = dgram.createSocket("udp4");
  udp.on("message", (msg, rinfo) => {
    const request = new Uint8Array(msg);
    sendUdp(kdcPort, request).then(
      (reply) => {
        captured.push({ transport: "udp", request, reply });
        udp.send(reply, rinfo.port, rinfo.address);
      },
      () => undefined,
    );
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => undefined);
    readRecord(sock)
      .then(async (request) => {
        const reply = await sendTcp(kdcPort, request);
        captured.push({ transport: "tcp", request, reply });
        sock.end(frame(reply));
      })
      .catch(() => sock.destroy());
  });
  await new Promise<void>((resolve) => udp.bind(port, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => tcp.listen(port, "127.0.0.1", resolve));
  return {
    port,
    captured,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
