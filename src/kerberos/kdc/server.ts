/**
 * The KDC's network shell: UDP and TCP listeners (RFC 4120 §7.2.1, §7.2.2) around the pure
 * core (kdc.ts). The DC embeds it with `createKdcServer({database, realm, krbtgtKeys, ...})`.
 *
 *   UDP: one datagram in, one out. A reply above maxUdpReplyBytes becomes
 *        KRB_ERR_RESPONSE_TOO_BIG, so the client retries over TCP (§7.2.1). A KRB-ERROR (the
 *        answer to a request that did not authenticate, whose source may be spoofed) more
 *        than maxUdpAmplification times the request's size becomes RESPONSE_TOO_BIG too,
 *        or nothing if even that is larger: never a large answer to a small question
 *   TCP: records of a 4-byte big-endian length and the message; several per connection;
 *        a length with the high bit set (reserved extension) or above maxTcpRecordBytes
 *        gets KRB_ERR_FIELD_TOOLONG and the connection is closed. Limits on connections
 *        (in all and per source), idle and slow-record timeouts and write backpressure:
 *        src/platform/framed-tcp.ts, `tcpLimits` (defaults DEFAULT_KDC_TCP_LIMITS)
 */
import * as dgram from "node:dgram";
import {
  createFramedTcpServer,
  type FramedTcpCounters,
  type TcpLimits,
} from "../../platform/framed-tcp.js";
import { KRB_ERROR_CODE } from "../messages/index.js";
import { krbtgtName } from "./context.js";
import { createKdc, type KdcCounters, type KdcDeps, type KdcResult } from "./kdc.js";
import { buildKrbError } from "./reply.js";
import { type RequestLogLevel, requestLogLine } from "./request-log.js";
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
  /** TCP limits (framed-tcp.ts); each one missing takes DEFAULT_KDC_TCP_LIMITS' value. */
  tcpLimits?: Partial<TcpLimits>;
  /** Shorthand for tcpLimits.idleTimeoutMs. */
  idleTimeoutMs?: number;
  /** Shorthand for tcpLimits.maxConnections. */
  maxTcpConnections?: number;
  /**
   * A KRB-ERROR over UDP more than this many times the request's size becomes
   * KRB_ERR_RESPONSE_TOO_BIG (the client retries over TCP). Default 3.
   */
  maxUdpAmplification?: number;
  /**
   * Worker threads running the KDC core (worker-pool.ts), e.g. one per CPU; 0 (default):
   * the core runs in this thread. Sockets, replay/lookaside caches, counters and database
   * lookups stay in this thread either way. (`now`/`randomBytes` apply only with 0.)
   */
  workers?: number;
  /** With workers: a database each worker opens itself (worker-pool.ts). */
  workerDatabase?: WorkerDatabaseSpec;
  /** One line per request, as MIT's krb5kdc logs it (request-log.ts); absent: none. */
  requestLog?: (line: string, level: RequestLogLevel) => void;
}

export interface KdcServerCounters extends KdcCounters {
  /** TCP connections accepted. */
  tcpConnections: number;
  /** TCP connections refused or closed by the server, by reason. */
  tcpRejected: Record<string, number>;
  tcp: FramedTcpCounters;
  /** UDP KRB-ERRORs replaced (RESPONSE_TOO_BIG or nothing) for their size relative to the request. */
  udpAmplificationRefused: number;
}

/** Sized for a KDC answering in well under a second: a client has seconds for its record. */
export const DEFAULT_KDC_TCP_LIMITS: TcpLimits = {
  maxConnections: 256,
  maxConnectionsPerSource: 64,
  idleTimeoutMs: 10_000,
  recordTimeoutMs: 5_000,
  writeTimeoutMs: 10_000,
  maxPendingWriteBytes: 64 * 1024,
  maxInFlight: 8,
  maxRecordsPerSecond: 20,
  maxRecordsPerConnection: 200,
};

export const DEFAULT_MAX_UDP_AMPLIFICATION = 3;

export interface KdcServer {
  start(): Promise<{ address: string; port: number }>;
  stop(): Promise<void>;
  counters(): KdcServerCounters;
  /** Worker threads in use (0: the core runs in the server's thread). */
  readonly workers: number;
}

/** A UDP socket bound to address:port whose `onMessage` gets each datagram and a reply function. */
function bindUdpSocket(
  address: string,
  port: number,
  onMessage: (msg: Uint8Array, from: string, reply: (bytes: Uint8Array) => void) => void,
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
      onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), rinfo.address, (bytes) =>
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

type Handle = (msg: Uint8Array, t: "udp" | "tcp", from: string) => KdcResult | Promise<KdcResult>;

export function createKdcServer(opts: KdcServerOptions): KdcServer {
  const workers = opts.workers ?? 0;
  const pool = workers > 0 ? createKdcPool({ ...opts, workers }) : undefined;
  const kdc = pool ?? createKdc(opts);
  const { requestLog } = opts;
  const logged = (r: KdcResult, from: string): KdcResult => {
    const l = requestLog && requestLogLine(r, from);
    if (l) requestLog?.(l.line, l.level);
    return r;
  };
  const handle: Handle = requestLog
    ? (msg, t, from) => {
        const r = kdc.handle(msg, t);
        return r instanceof Promise ? r.then((x) => logged(x, from)) : logged(r, from);
      }
    : (msg, t) => kdc.handle(msg, t);
  const address = opts.listen?.address ?? "0.0.0.0";
  const maxRecord = opts.maxTcpRecordBytes ?? 65536;
  const limits: TcpLimits = {
    ...DEFAULT_KDC_TCP_LIMITS,
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    ...(opts.maxTcpConnections !== undefined ? { maxConnections: opts.maxTcpConnections } : {}),
    ...opts.tcpLimits,
  };
  const amplification = opts.maxUdpAmplification ?? DEFAULT_MAX_UDP_AMPLIFICATION;
  const now = opts.now ?? Date.now;
  const realm = opts.realm.toUpperCase();
  let udp: dgram.Socket | undefined;
  const refusedRecords: Record<string, number> = {};
  let udpAmplificationRefused = 0;
  const krbError = (code: number, text: string) =>
    buildKrbError(now(), { realm, sname: krbtgtName(realm) }, code, text);

  const tcp = createFramedTcpServer({
    limits,
    lengthBytes: 4,
    maxRecordBytes: maxRecord,
    now,
    onRecord: (msg, source) => {
      const r = handle(msg, "tcp", source);
      return r instanceof Promise ? r.then((x) => x.reply) : r.reply;
    },
    onRefused: (len) => {
      const why = len & 0x80000000 ? "extension-bit" : "record-too-long";
      refusedRecords[why] = (refusedRecords[why] ?? 0) + 1;
      const text = `TCP record length ${len} refused (limit ${maxRecord})`;
      return krbError(KRB_ERROR_CODE.KRB_ERR_FIELD_TOOLONG, text);
    },
  });

  /**
   * What goes back over UDP for a request of `requestBytes`. Only a request that
   * authenticated (a verified PA-ENC-TIMESTAMP, a TGT) gets an AS-REP/TGS-REP; the others
   * get a KRB-ERROR, which must not be many times the request's size (it may go to a
   * spoofed address): RESPONSE_TOO_BIG instead, or nothing if even that is too large.
   */
  const udpReply = (r: KdcResult, requestBytes: number): Uint8Array | undefined => {
    if (!r.reply || r.errorCode === undefined) return r.reply;
    const bound = amplification * requestBytes;
    if (r.reply.length <= bound) return r.reply;
    udpAmplificationRefused++;
    const tooBig = krbError(KRB_ERROR_CODE.KRB_ERR_RESPONSE_TOO_BIG, "use TCP");
    return tooBig.length <= bound ? tooBig : undefined;
  };

  const bindUdp = async (port: number) => {
    udp = await bindUdpSocket(address, port, (msg, from, reply) => {
      const r = handle(msg, "udp", from);
      const send = (x: KdcResult) => {
        const bytes = udpReply(x, msg.length);
        if (bytes && udp) reply(bytes);
      };
      if (r instanceof Promise) r.then(send).catch(() => undefined);
      else send(r);
    });
    return udp.address().port;
  };

  const counters = (): KdcServerCounters => {
    const t = tcp.counters();
    const tcpRejected: Record<string, number> = { ...t.refused, ...refusedRecords };
    for (const [k, v] of Object.entries(t.closed)) if (k !== "record-refused") tcpRejected[k] = v;
    return {
      ...kdc.counters(),
      tcpConnections: t.accepted,
      tcpRejected,
      tcp: t,
      udpAmplificationRefused,
    };
  };

  return {
    workers,
    async start() {
      const wanted = opts.listen?.port ?? 88;
      // Port 0: the UDP port is the kernel's pick, and the same TCP port may be held by
      // someone else's connection; pick again a bounded number of times.
      for (let attempt = 1; ; attempt++) {
        const port = await bindUdp(wanted);
        try {
          await tcp.listen(port, address);
          return { address, port };
        } catch (e) {
          await new Promise<void>((r) => (udp ? udp.close(() => r()) : r()));
          udp = undefined;
          const inUse = (e as NodeJS.ErrnoException).code === "EADDRINUSE";
          if (wanted !== 0 || !inUse || attempt >= 16) throw e;
        }
      }
    },
    async stop() {
      await Promise.all([
        new Promise<void>((r) => (udp ? udp.close(() => r()) : r())),
        tcp.close(),
      ]);
      udp = undefined;
      await pool?.close();
    },
    counters,
  };
}
