/**
 * The inbound packet path (one call per datagram received on UDP 4500):
 *   1. UDP receive (the caller)  2. RFC 3948 §2.2 classification: a 1-byte 0xff is a NAT
 *   keepalive, 4 zero bytes (the non-ESP marker) start an IKE message (handed to IKE),
 *   anything else is ESP  3. SAD lookup by SPI  4. replay check (before the ICV, RFC 4303
 *   §3.4.3)  5. verify ICV + decrypt  6. move the replay window  7. lifetime accounting
 *   8. mode: transport rebuilds the IP header from the SA's addresses, tunnel takes the
 *   inner packet  9. check the inner packet against the SA's traffic selectors (RFC 4301
 *   §5.2)  10. TUN write (the caller).
 * AH (RFC 4302) arrives on the raw socket as a whole IPv4 packet (`openAh`): SAD by SPI,
 * replay check, ICV over the header's immutable fields, then steps 6-10 as for ESP.
 * Never throws per packet: a failure is a counted drop and a null result.
 */
import { readAhHeader, verifyAh } from "../esp/ah.js";
import { NEXT_HEADER_NONE, openEsp, openEspInPlace, readEspHeader } from "../esp/packet.js";
import { fixL4Checksum } from "./checksum.js";
import type { CounterWriter, DropReason } from "./counters.js";
import { type EventSink, UNKNOWN_SPI_EVENTS } from "./events.js";
import { buildIpPacket, ipHeaderBytes, parseIpPacket, writeIpHeader } from "./ippacket.js";
import type { InboundEntry, Sad } from "./sad.js";
import { selectorMatches } from "./spd.js";

export interface InboundDeps {
  sad: Sad;
  counters: CounterWriter;
  events: EventSink;
  nowMs: () => number;
  /**
   * The worker's zero-copy mode: a datagram may be decrypted where it lies, and its buffer
   * has at least 40 bytes before it, where transport mode writes the IP header. The result
   * is then a view, valid until the caller reuses its buffer.
   */
  inPlace?: boolean;
}

/** Transport mode: the IP header rebuilt right before the payload when there is room, else a copy. */
function withIpHeader(
  entry: InboundEntry,
  nextHeader: number,
  payload: Buffer,
  datagram: Buffer,
  inPlace: boolean,
): Buffer {
  const h = ipHeaderBytes(entry.peerBytes);
  if (
    !inPlace ||
    payload.buffer !== datagram.buffer ||
    payload.byteOffset - h < datagram.byteOffset - 40
  )
    return buildIpPacket(entry.peerBytes, entry.localBytes, nextHeader, payload);
  const packet = Buffer.from(payload.buffer, payload.byteOffset - h, h + payload.length);
  writeIpHeader(packet, 0, entry.peerBytes, entry.localBytes, nextHeader, payload.length);
  return packet;
}

export type Classified = "esp" | "ike" | "keepalive";

/** RFC 3948 §2.2: what a datagram on the encapsulation port carries. */
export function classifyUdpPayload(d: Uint8Array): Classified {
  if (d.length === 1 && d[0] === 0xff) return "keepalive";
  if (d.length >= 4 && d[0] === 0 && d[1] === 0 && d[2] === 0 && d[3] === 0) return "ike";
  return "esp";
}

type From = { address: string; port: number } | (() => { address: string; port: number });

export interface Inbound {
  /** A datagram from the UDP 4500 socket: ESP, an IKE message or a keepalive. */
  open(datagram: Buffer, from: From): Buffer | null;
  /** An IPv4 packet from the raw AH socket. */
  openAh(packet: Buffer): Buffer | null;
  /**
   * Whether the SA of the last packet open/openAh returned was admitted by the firewall's
   * bypass: the caller then writes it to the bypass device, not the TUN.
   */
  lastAdmitted(): boolean;
}

export function createInbound(deps: InboundDeps): Inbound {
  const { sad, counters, events } = deps;
  const drop = (reason: DropReason): null => {
    counters.drop(reason);
    return null;
  };
  let admitted = false;
  let window = { start: Number.NEGATIVE_INFINITY, sent: 0 };
  /** No SA for `spi`: a `no_sa` drop, and an event for IKE while under the rate. */
  const noSa = (protocol: "esp" | "ah", spi: number, from: () => string): null => {
    const now = deps.nowMs();
    if (now - window.start >= 1000) window = { start: now, sent: 0 };
    if (window.sent < UNKNOWN_SPI_EVENTS) {
      window.sent++;
      events({ type: "unknown_spi", protocol, spi, from: from() });
    }
    return drop("no_sa");
  };

  /** Steps 6-10 once the packet is authentic: window, mode, selectors, lifetime. */
  const deliver = (
    entry: InboundEntry,
    seq: number,
    nextHeader: number,
    payload: Buffer,
    datagram: Buffer,
  ): Buffer | null => {
    const { sa } = entry;
    sa.replay?.accept(seq);
    if (nextHeader === NEXT_HEADER_NONE) return drop("dummy");
    let packet: Buffer;
    if (sa.record.mode === "tunnel") {
      if (nextHeader !== 4 && nextHeader !== 41) return drop("malformed");
      packet = payload;
    } else {
      packet = withIpHeader(entry, nextHeader, payload, datagram, deps.inPlace === true);
      if (sa.record.fixChecksums === true) fixL4Checksum(packet);
    }
    const ip = parseIpPacket(packet);
    if (ip === null) return drop("malformed");
    if (!entry.selectors.some((s) => selectorMatches(s, ip, false))) return drop("policy_mismatch");
    const state = sa.lifetime.onPacket(packet.length, deps.nowMs());
    if (state === "expired") {
      events({ type: "expired", direction: "in", spi: sa.record.spi, label: sa.record.label });
      return drop("sa_expired");
    }
    if (state === "soft")
      events({ type: "soft", direction: "in", spi: sa.record.spi, label: sa.record.label });
    counters.sa(sa.slot, packet.length);
    counters.info("tun_packets_out");
    admitted = entry.admitted;
    return packet;
  };

  return {
    open(datagram, from) {
      const kind = classifyUdpPayload(datagram);
      if (kind === "keepalive") {
        counters.info("nat_keepalives");
        return null;
      }
      if (kind === "ike") {
        counters.info("ike_datagrams");
        const source = typeof from === "function" ? from() : from;
        events({ type: "ike", data: Uint8Array.from(datagram.subarray(4)), from: source });
        return null;
      }
      counters.info("esp_packets_in");
      const header = readEspHeader(datagram);
      if (header === null) return drop("malformed");
      const entry = sad.inbound(header.spi);
      if (entry === undefined)
        return noSa("esp", header.spi, () => (typeof from === "function" ? from() : from).address);
      if (entry.sa.ah !== null) return drop("no_sa");
      const { sa } = entry;
      if (sa.lifetime.expired()) return drop("sa_expired");
      const seq = sa.replay === null ? header.seq : sa.replay.check(header.seq);
      if (seq === null) return drop("replay");
      const open = deps.inPlace ? openEspInPlace : openEsp;
      const opened = open(sa.cipher, datagram, Math.floor(seq / 2 ** 32), sa.record.esn);
      if (opened === "auth_failed") return drop("auth_failed");
      if (opened === "malformed") return drop("malformed");
      return deliver(entry, seq, opened.nextHeader, opened.payload, datagram);
    },

    openAh(packet) {
      counters.info("ah_packets_in");
      const h = readAhHeader(packet);
      if (h === null) return drop("malformed");
      const entry = sad.inbound(h.spi);
      if (entry === undefined)
        return noSa("ah", h.spi, () => Array.from(packet.subarray(12, 16)).join("."));
      if (entry.sa.ah === null) return drop("no_sa");
      const { sa } = entry;
      const ah = sa.ah;
      if (ah === null || sa.lifetime.expired()) return drop("sa_expired");
      const seq = sa.replay === null ? h.seq : sa.replay.check(h.seq);
      if (seq === null) return drop("replay");
      const verdict = verifyAh(ah, packet, h, Math.floor(seq / 2 ** 32), sa.record.esn);
      if (verdict !== "ok") return drop(verdict);
      return deliver(entry, seq, h.nextHeader, packet.subarray(h.payloadAt), packet);
    },

    lastAdmitted: () => admitted,
  };
}
