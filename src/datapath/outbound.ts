/**
 * The outbound packet path (one call per packet read from the TUN device):
 *   1. TUN read (the caller)  2. parse the IP header  3. SPD lookup -> outbound SA
 *   4. lifetime check (soft -> rekey event, hard -> drop)  5. mode: transport strips the IP
 *   header (Next Header = its protocol), tunnel carries the whole packet (Next Header 4/41)
 *   6. seal as ESP with the next sequence number  7. UDP send to peer:4500 (the caller).
 * Never throws per packet: a failure is a counted drop and a null result.
 */
import { sealEsp } from "../esp/packet.js";
import type { OutboundSa } from "../esp/sa.js";
import type { CounterWriter, DropReason } from "./counters.js";
import type { EventSink } from "./events.js";
import { parseIpPacket } from "./ippacket.js";
import type { Sad } from "./sad.js";

export interface OutboundDeps {
  sad: Sad;
  counters: CounterWriter;
  events: EventSink;
  nowMs: () => number;
  /** n unpredictable bytes for CBC IVs. */
  randomBytes: (n: number) => Buffer;
}

export interface Sealed {
  datagram: Buffer;
  /** sockaddr_in of the peer. */
  to: Buffer;
}

/** Random bytes drawn from a refilled pool: one crypto call per 256 CBC IVs. */
function createIvSource(randomBytes: (n: number) => Buffer): (n: number) => Buffer {
  let pool: Buffer = Buffer.alloc(0);
  let offset = 0;
  return (n) => {
    if (offset + n > pool.length) {
      pool = randomBytes(4096);
      offset = 0;
    }
    const out = pool.subarray(offset, offset + n);
    offset += n;
    return out;
  };
}

function ivFor(sa: OutboundSa, iv: (n: number) => Buffer): Buffer {
  const n = sa.cipher.spec.ivBytes;
  if (n !== 8) return iv(n);
  // RFC 4106 §3.1: the GCM IV must never repeat under a key; the sequence number is unique.
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(Math.floor(sa.seq / 2 ** 32), 0);
  b.writeUInt32BE(sa.seq % 2 ** 32, 4);
  return b;
}

export function createOutbound(deps: OutboundDeps): { seal(packet: Buffer): Sealed | null } {
  const { sad, counters, events } = deps;
  const drop = (reason: DropReason): null => {
    counters.drop(reason);
    return null;
  };
  const iv = createIvSource(deps.randomBytes);
  const notified = new WeakSet<OutboundSa>();
  return {
    seal(packet) {
      counters.info("tun_packets_in");
      const ip = parseIpPacket(packet);
      if (ip === null) return drop("malformed");
      const entry = sad.outboundFor(ip);
      if (entry === null) return drop("no_policy");
      const sa = entry.sa;
      const state = sa.lifetime.onPacket(packet.length, deps.nowMs());
      if (state === "expired") {
        if (!notified.has(sa))
          events({ type: "expired", direction: "out", spi: sa.record.spi, label: sa.record.label });
        notified.add(sa);
        return drop("sa_expired");
      }
      if (state === "soft")
        events({ type: "soft", direction: "out", spi: sa.record.spi, label: sa.record.label });
      if (sa.record.encap === null) return drop("unsupported");
      let payload: Buffer;
      let nextHeader: number;
      if (sa.record.mode === "tunnel") {
        payload = packet;
        nextHeader = ip.version === 4 ? 4 : 41;
      } else {
        if (ip.fragment) return drop("fragment");
        payload = packet.subarray(ip.headerBytes);
        nextHeader = ip.protocol;
      }
      sa.seq += 1;
      const datagram = sealEsp(
        sa.cipher,
        sa.record.spi,
        sa.seq,
        sa.record.esn,
        payload,
        nextHeader,
        ivFor(sa, iv),
      );
      counters.sa(sa.slot, packet.length);
      counters.info("esp_packets_out");
      return { datagram, to: entry.dest };
    },
  };
}
