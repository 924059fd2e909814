/**
 * The outbound packet path (one call per packet read from the TUN device):
 *   1. TUN read (the caller)  2. parse the IP header  3. SPD lookup -> outbound SA
 *   4. lifetime check (soft -> rekey event, hard -> drop)  5. mode: transport strips the IP
 *   header (Next Header = its protocol), tunnel carries the whole packet (Next Header 4/41)
 *   6. seal as ESP with the next sequence number (AH: a whole IPv4 packet, RFC 4302)
 *   7. UDP send to peer:4500, or the raw socket for AH (the caller; both sealed into `out`).
 * Never throws per packet: a failure is a counted drop and a null result.
 */
import { ahSealedLength, sealAhInto } from "../esp/ah.js";
import { sealedLength, sealEspInto } from "../esp/packet.js";
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
  /** ACQUIRE hook: a packet with no outbound SA; true = taken (not counted as a drop). */
  onNoSa?: (packet: Buffer) => boolean;
  /**
   * Where to seal (the worker's native memory, >= 66,000 bytes): the returned datagram is
   * then a view into it, valid until the next call. Without it each datagram is new.
   */
  out?: Buffer;
}

export interface Sealed {
  datagram: Buffer;
  /** sockaddr_in of the peer. */
  to: Buffer;
  /** "udp": ESP on the UDP 4500 socket; "raw": a whole IPv4 AH packet for the raw socket. */
  via: "udp" | "raw";
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

function ivFor(sa: OutboundSa, iv: (n: number) => Buffer, b: Buffer): Buffer {
  const n = sa.cipher.spec.ivBytes;
  if (n !== 8) return iv(n);
  // RFC 4106 §3.1: the GCM IV must never repeat under a key; the sequence number is unique.
  b.writeUInt32BE(Math.floor(sa.seq / 2 ** 32), 0);
  b.writeUInt32BE(sa.seq % 2 ** 32, 4);
  return b;
}

export interface Outbound {
  /** `out` overrides deps.out for this packet (the worker's batch slots). */
  seal(packet: Buffer, out?: Buffer): Sealed | null;
}

export function createOutbound(deps: OutboundDeps): Outbound {
  const { sad, counters, events } = deps;
  const drop = (reason: DropReason): null => {
    counters.drop(reason);
    return null;
  };
  const iv = createIvSource(deps.randomBytes);
  const seqIv = Buffer.alloc(8);
  const notified = new WeakSet<OutboundSa>();
  let ipId = 0;
  return {
    seal(packet, slot) {
      counters.info("tun_packets_in");
      const ip = parseIpPacket(packet);
      if (ip === null) return drop("malformed");
      const entry = sad.outboundFor(ip);
      if (entry === null) return deps.onNoSa?.(packet) ? null : drop("no_policy");
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
      const isAh = sa.ah !== null;
      if ((isAh && ip.version !== 4) || (!isAh && sa.record.encap === null))
        return drop("unsupported");
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
      const need =
        sa.ah !== null
          ? ahSealedLength(sa.ah, payload.length)
          : sealedLength(sa.cipher, payload.length);
      const given = slot ?? deps.out;
      const out = given !== undefined && given.length >= need ? given : Buffer.allocUnsafe(need);
      if (sa.ah !== null) {
        ipId = (ipId % 0xffff) + 1;
        const n = sealAhInto(
          sa.ah,
          {
            spi: sa.record.spi,
            seq: sa.seq,
            esn: sa.record.esn,
            src: entry.localBytes,
            dst: entry.peerBytes,
            nextHeader,
            payload,
            id: ipId,
          },
          out,
        );
        if (n < 0) return drop("send_failed");
        counters.sa(sa.slot, packet.length);
        counters.info("ah_packets_out");
        return { datagram: out.subarray(0, n), to: entry.dest, via: "raw" };
      }
      const { spi, esn } = sa.record;
      const n = sealEspInto(
        sa.cipher,
        spi,
        sa.seq,
        esn,
        payload,
        nextHeader,
        ivFor(sa, iv, seqIv),
        out,
      );
      if (n < 0) return drop("send_failed");
      const datagram = out.subarray(0, n);
      counters.sa(sa.slot, packet.length);
      counters.info("esp_packets_out");
      return { datagram, to: entry.dest, via: "udp" };
    },
  };
}
