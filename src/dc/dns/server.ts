/**
 * The DNS listeners: UDP (one datagram, one answer) and TCP (RFC 1035 4.2.2: each message
 * preceded by its 2-byte length; RFC 7766 several per connection). Every message goes to
 * answerMessage(); nothing here throws per packet.
 *   UDP: an answer more than maxUdpAmplification times the query is sent truncated (TC),
 *        so the client asks again over TCP, whose handshake proves its address.
 *   TCP: limits on connections (in all and per source), idle and slow-message timeouts and
 *        write backpressure: src/platform/framed-tcp.ts (defaults DEFAULT_DNS_TCP_LIMITS).
 */
import * as dgram from "node:dgram";
import {
  createFramedTcpServer,
  type FramedTcpCounters,
  type TcpLimits,
} from "../../platform/framed-tcp.js";
import { answerMessage, type DnsStats, newDnsStats, type ZoneSource } from "./answer.js";

export interface DnsServer {
  stats: DnsStats;
  /** Answered queries by "TYPE RCODE" (e.g. "SRV NOERROR"), for metrics. */
  queries: Record<string, number>;
  udpPort(): number;
  tcpPort(): number;
  tcpCounters(): FramedTcpCounters;
  close(): Promise<void>;
}

export interface DnsLimits {
  /** Each one missing takes DEFAULT_DNS_TCP_LIMITS' value. */
  tcp?: Partial<TcpLimits>;
  /** Default DEFAULT_DNS_MAX_UDP_AMPLIFICATION. */
  maxUdpAmplification?: number;
}

/** A DNS query is one small message answered at once: seconds are plenty for any client. */
export const DEFAULT_DNS_TCP_LIMITS: TcpLimits = {
  maxConnections: 128,
  maxConnectionsPerSource: 32,
  idleTimeoutMs: 10_000,
  recordTimeoutMs: 5_000,
  writeTimeoutMs: 10_000,
  maxPendingWriteBytes: 64 * 1024,
  maxInFlight: 8,
  maxRecordsPerSecond: 100,
  maxRecordsPerConnection: 1000,
};

export const DEFAULT_DNS_MAX_UDP_AMPLIFICATION = 5;

export async function startDnsServer(
  zone: ZoneSource,
  host: string,
  port: number,
  log: (line: string) => void,
  limits: DnsLimits = {},
): Promise<DnsServer> {
  const stats = newDnsStats();
  const queries: Record<string, number> = {};
  const factor = limits.maxUdpAmplification ?? DEFAULT_DNS_MAX_UDP_AMPLIFICATION;
  const tcp = createFramedTcpServer({
    limits: { ...DEFAULT_DNS_TCP_LIMITS, ...limits.tcp },
    lengthBytes: 2,
    maxRecordBytes: 65535,
    onRecord: (msg) =>
      safeAnswer(Buffer.from(msg), zone, stats, queries, undefined, log) ?? undefined,
  });
  // Port 0: UDP takes the kernel's pick and TCP the same number, which someone else's
  // connection may hold; pick again a bounded number of times.
  for (let attempt = 1; ; attempt++) {
    const udp = await bindDnsUdp(host, port, zone, stats, queries, factor, log);
    const udpPort = udp.address().port;
    try {
      const tcpPort = await tcp.listen(port === 0 ? udpPort : port, host);
      return serverOf(udp, udpPort, tcp, tcpPort, stats, queries, log);
    } catch (e) {
      await new Promise<void>((r) => udp.close(() => r()));
      const inUse = (e as NodeJS.ErrnoException).code === "EADDRINUSE";
      if (port !== 0 || !inUse || attempt >= 16) throw e;
    }
  }
}

async function bindDnsUdp(
  host: string,
  port: number,
  zone: ZoneSource,
  stats: DnsStats,
  queries: Record<string, number>,
  factor: number,
  log: (line: string) => void,
): Promise<dgram.Socket> {
  const udp = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  udp.on("message", (msg, rinfo) => {
    const out = safeAnswer(msg, zone, stats, queries, factor, log);
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  udp.on("error", (e) => log(`dns: udp error: ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(port, host, () => {
      udp.off("error", reject);
      resolve();
    });
  });
  return udp;
}

function serverOf(
  udp: dgram.Socket,
  udpPort: number,
  tcp: ReturnType<typeof createFramedTcpServer>,
  tcpPort: number,
  stats: DnsStats,
  queries: Record<string, number>,
  log: (line: string) => void,
): DnsServer {
  return {
    stats,
    queries,
    udpPort: () => udpPort,
    tcpPort: () => tcpPort,
    tcpCounters: () => tcp.counters(),
    async close() {
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), tcp.close()]);
      log(`dns: stopped; tcp counters ${JSON.stringify(tcp.counters())}`);
    },
  };
}

/** `udpFactor`: the message came over UDP, with this amplification bound; undefined: TCP. */
function safeAnswer(
  msg: Buffer,
  zone: ZoneSource,
  stats: DnsStats,
  queries: Record<string, number>,
  udpFactor: number | undefined,
  log: (l: string) => void,
): Buffer | null {
  try {
    return answerMessage(msg, zone, stats, udpFactor !== undefined, udpFactor, queries);
  } catch (e) {
    stats.malformed++;
    log(`dns: message dropped: ${(e as Error).message}`);
    return null;
  }
}
