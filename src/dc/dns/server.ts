/**
 * The DNS listeners: UDP (one datagram, one answer) and TCP (RFC 1035 4.2.2: each message
 * preceded by its 2-byte length; RFC 7766 several per connection). Every message goes to
 * answerMessage(); nothing here throws per packet. TCP connections are bounded in number,
 * idle time and buffered bytes.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import { answerMessage, type DnsStats, newDnsStats, type ZoneSource } from "./answer.js";

export interface DnsServer {
  stats: DnsStats;
  udpPort(): number;
  tcpPort(): number;
  close(): Promise<void>;
}

const MAX_TCP_CONNECTIONS = 64;
const TCP_IDLE_MS = 10_000;

export async function startDnsServer(
  zone: ZoneSource,
  host: string,
  port: number,
  log: (line: string) => void,
): Promise<DnsServer> {
  const stats = newDnsStats();
  const udp = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  udp.on("message", (msg, rinfo) => {
    const out = safeAnswer(msg, zone, stats, true, log);
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
  const udpPort = udp.address().port;
  const tcp = net.createServer((sock) => serveTcp(sock, zone, stats, log));
  tcp.maxConnections = MAX_TCP_CONNECTIONS;
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(port === 0 ? udpPort : port, host, () => {
        tcp.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    udp.close();
    throw e;
  }
  const sockets = new Set<net.Socket>();
  tcp.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return {
    stats,
    udpPort: () => udpPort,
    tcpPort: () => (tcp.address() as net.AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]);
    },
  };
}

function safeAnswer(
  msg: Buffer,
  zone: ZoneSource,
  stats: DnsStats,
  udp: boolean,
  log: (l: string) => void,
): Buffer | null {
  try {
    return answerMessage(msg, zone, stats, udp);
  } catch (e) {
    stats.malformed++;
    log(`dns: message dropped: ${(e as Error).message}`);
    return null;
  }
}

function serveTcp(
  sock: net.Socket,
  zone: ZoneSource,
  stats: DnsStats,
  log: (l: string) => void,
): void {
  let buf = Buffer.alloc(0);
  sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
  sock.on("error", () => sock.destroy());
  sock.on("data", (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      const msg = buf.subarray(2, 2 + len);
      buf = buf.subarray(2 + len);
      const out = safeAnswer(Buffer.from(msg), zone, stats, false, log);
      if (!out) continue;
      const frame = Buffer.alloc(2 + out.length);
      frame.writeUInt16BE(out.length, 0);
      out.copy(frame, 2);
      sock.write(frame);
    }
  });
}
