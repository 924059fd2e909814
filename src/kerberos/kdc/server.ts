/**
 * The KDC's network shell: UDP and TCP listeners (RFC 4120 §7.2.1, §7.2.2) around the pure
 * core (kdc.ts). The DC embeds it with `createKdcServer({database, realm, krbtgtKeys, ...})`.
 *
 *   UDP: one datagram in, one out (replies above maxUdpReplyBytes become
 *        KRB_ERR_RESPONSE_TOO_BIG so the client retries over TCP)
 *   TCP: records of a 4-byte big-endian length and the message; several per connection;
 *        a length with the high bit set (reserved extension) or above maxTcpRecordBytes
 *        gets KRB_ERR_FIELD_TOOLONG and the connection is closed; idle connections close
 *        after idleTimeoutMs; at most maxTcpConnections at once
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import { KRB_ERROR_CODE } from "../messages/index.js";
import { krbtgtName } from "./context.js";
import { createKdc, type KdcCounters, type KdcDeps, type KdcResult } from "./kdc.js";
import { buildKrbError } from "./reply.js";
import { createKdcPool } from "./worker-pool.js";
import type { WorkerDatabaseSpec } from "./worker.js";

export interface KdcListen {
  /** Default "0.0.0.0". */
  address?: string;
  /** Default 88; 0 picks a free port (the same for UDP and TCP). */
  port?: number;
}

export interface KdcServerOptions extends KdcDeps {
  listen?: KdcListen;
  /** Default 64 KiB. */
  maxTcpRecordBytes?: number;
  /** Default 10 s. */
  idleTimeoutMs?: number;
  /** Default 256. */
  maxTcpConnections?: number;
  /**
   * Worker threads running the KDC core (worker-pool.ts), e.g. one per CPU; 0 (default):
   * the core runs in this thread. Sockets, replay/lookaside caches, counters and database
   * lookups stay in this thread either way. (`now`/`randomBytes` apply only with 0.)
   */
  workers?: number;
  /** With workers: a database each worker opens itself (worker-pool.ts). */
  workerDatabase?: WorkerDatabaseSpec;
}

export interface KdcServerCounters extends KdcCounters {
  tcpConnections: number;
  tcpRejected: Record<string, number>;
}

export interface KdcServer {
  start(): Promise<{ address: string; port: number }>;
  stop(): Promise<void>;
  counters(): KdcServerCounters;
  /** Worker threads in use (0: the core runs in the server's thread). */
  readonly workers: number;
}

function frame(msg: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + msg.length);
  b.writeUInt32BE(msg.length, 0);
  b.set(msg, 4);
  return b;
}

/**
 * RFC 4120 §7.2.2 records on a TCP stream: 4-byte big-endian length, then the message.
 * `onRefused(length)` for a length with the reserved high bit or above `maxRecord`; nothing
 * more is read from the stream after that.
 */
function readRecords(
  sock: net.Socket,
  maxRecord: number,
  onRecord: (msg: Uint8Array) => void,
  onRefused: (length: number) => void,
): void {
  let buf: Buffer = Buffer.alloc(0);
  let refused = false;
  sock.on("data", (d: Buffer) => {
    if (refused) return;
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (len & 0x80000000 || len > maxRecord) {
        refused = true;
        onRefused(len);
        return;
      }
      if (buf.length < 4 + len) return;
      const msg = new Uint8Array(buf.subarray(4, 4 + len));
      buf = buf.subarray(4 + len);
      onRecord(msg);
    }
  });
}

/** A UDP socket bound to address:port whose `onMessage` gets each datagram and a reply function. */
function bindUdpSocket(
  address: string,
  port: number,
  onMessage: (msg: Uint8Array, reply: (bytes: Uint8Array) => void) => void,
): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const type = address.includes(":") ? "udp6" : "udp4";
    // Replies go to rinfo.address, always an IP literal: skip the resolver hop per send.
    const literal = ((
      host: string,
      _family: unknown,
      cb: (e: null, a: string, f: number) => void,
    ) => cb(null, host, type === "udp6" ? 6 : 4)) as unknown as dgram.SocketOptions["lookup"];
    const s = dgram.createSocket({ type, lookup: literal });
    s.once("error", reject);
    s.on("message", (msg, rinfo) =>
      onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), (bytes) =>
        s.send(bytes, rinfo.port, rinfo.address),
      ),
    );
    s.bind(port, address, () => {
      s.off("error", reject);
      s.on("error", () => undefined);
      resolve(s);
    });
  });
}

type Handle = (msg: Uint8Array, t: "udp" | "tcp") => KdcResult | Promise<KdcResult>;

/**
 * Runs actions in the order given; an action may still be on its way (a promise of it).
 * With nothing pending, a ready action runs synchronously.
 */
function createInOrder(): (step: (() => void) | Promise<() => void>) => void {
  let pending = 0;
  let tail: Promise<void> = Promise.resolve();
  return (step) => {
    if (pending === 0 && !(step instanceof Promise)) {
      step();
      return;
    }
    pending++;
    tail = tail
      .then(() => step)
      .then((run) => run())
      .catch(() => undefined)
      .finally(() => {
        pending--;
      });
  };
}

export function createKdcServer(opts: KdcServerOptions): KdcServer {
  const workers = opts.workers ?? 0;
  const pool = workers > 0 ? createKdcPool({ ...opts, workers }) : undefined;
  const kdc = pool ?? createKdc(opts);
  const handle: Handle = (msg, t) => kdc.handle(msg, t);
  const address = opts.listen?.address ?? "0.0.0.0";
  const maxRecord = opts.maxTcpRecordBytes ?? 65536;
  const idleMs = opts.idleTimeoutMs ?? 10_000;
  const maxConns = opts.maxTcpConnections ?? 256;
  const now = opts.now ?? Date.now;
  const realm = opts.realm.toUpperCase();
  let udp: dgram.Socket | undefined;
  let tcp: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  const extra = { tcpConnections: 0, tcpRejected: {} as Record<string, number> };
  const reject = (why: string) => {
    extra.tcpRejected[why] = (extra.tcpRejected[why] ?? 0) + 1;
  };

  const tooLong = (what: string) =>
    frame(
      buildKrbError(
        now(),
        { realm, sname: krbtgtName(realm) },
        KRB_ERROR_CODE.KRB_ERR_FIELD_TOOLONG,
        what,
      ),
    );

  const onConnection = (sock: net.Socket) => {
    if (sockets.size >= maxConns) {
      reject("too-many-connections");
      sock.destroy();
      return;
    }
    sockets.add(sock);
    extra.tcpConnections++;
    sock.setTimeout(idleMs, () => {
      reject("idle-timeout");
      sock.destroy();
    });
    // Replies on a connection go out in the order of its requests, however long each takes
    // (worker threads); an answer ready at once with nothing pending is written at once.
    const inOrder = createInOrder();
    const send = (reply: Uint8Array | undefined) => {
      if (reply && !sock.destroyed) sock.write(frame(reply));
    };
    readRecords(
      sock,
      maxRecord,
      (msg) => {
        const r = handle(msg, "tcp");
        inOrder(r instanceof Promise ? r.then((x) => () => send(x.reply)) : () => send(r.reply));
      },
      (len) => {
        reject(len & 0x80000000 ? "extension-bit" : "record-too-long");
        const why = `TCP record length ${len} refused (limit ${maxRecord})`;
        inOrder(() => sock.end(tooLong(why)));
      },
    );
    sock.on("error", () => reject("socket-error"));
    sock.on("close", () => sockets.delete(sock));
  };

  const bindUdp = async (port: number) => {
    udp = await bindUdpSocket(address, port, (msg, reply) => {
      const r = handle(msg, "udp");
      if (!(r instanceof Promise)) {
        if (r.reply) reply(r.reply);
        return;
      }
      r.then((x) => {
        if (x.reply && udp) reply(x.reply);
      }).catch(() => undefined);
    });
    return udp.address().port;
  };

  const listenTcp = (port: number) =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer(onConnection);
      s.once("error", reject);
      s.listen(port, address, () => {
        s.off("error", reject);
        tcp = s;
        resolve();
      });
    });

  return {
    workers,
    async start() {
      const port = await bindUdp(opts.listen?.port ?? 88);
      try {
        await listenTcp(port);
      } catch (e) {
        udp?.close();
        udp = undefined;
        throw e;
      }
      return { address, port };
    },
    async stop() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await Promise.all([
        new Promise<void>((r) => (udp ? udp.close(() => r()) : r())),
        new Promise<void>((r) => (tcp ? tcp.close(() => r()) : r())),
      ]);
      udp = undefined;
      tcp = undefined;
      await pool?.close();
    },
    counters: () => ({ ...kdc.counters(), ...structuredClone(extra) }),
  };
}
