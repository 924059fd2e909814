/**
 * The inbound packet path (one call per datagram received on UDP 4500):
 *   1. UDP receive (the caller)  2. RFC 3948 §2.2 classification: a 1-byte 0xff is a NAT
 *   keepalive, 4 zero bytes (the non-ESP marker) start an IKE message (handed to IKE),
 *   anything else is ESP  3. SAD lookup by SPI  4. replay check (before the ICV, RFC 4303
 *   §3.4.3)  5. verify ICV + decrypt  6. move the replay window  7. lifetime accounting
 *   8. mode: transport rebuilds the IP header from the SA's addresses, tunnel takes the
 *   inner packet  9. check the inner packet against the SA's traffic selectors (RFC 4301
 *   §5.2)  10. TUN write (the caller).
 * Never throws per packet: a failure is a counted drop and a null result.
 */
import { NEXT_HEADER_NONE, openEsp, readEspHeader } from "../esp/packet.js";
import type { CounterWriter, DropReason } from "./counters.js";
import type { EventSink } from "./events.js";
import { buildIpPacket, parseIpPacket } from "./ippacket.js";
import type { Sad } from "./sad.js";
import { selectorMatches } from "./spd.js";

export interface InboundDeps {
  sad: Sad;
  counters: CounterWriter;
  events: EventSink;
  nowMs: () => number;
}

export type Classified = "esp" | "ike" | "keepalive";

/** RFC 3948 §2.2: what a datagram on the encapsulation port carries. */
export function classifyUdpPayload(d: Uint8Array): Classified {
  if (d.length === 1 && d[0] === 0xff) return "keepalive";
  if (d.length >= 4 && d[0] === 0 && d[1] === 0 && d[2] === 0 && d[3] === 0) return "ike";
  return "esp";
}

export function createInbound(deps: InboundDeps): {
  open(
    datagram: Buffer,
    from: { address: string; port: number } | (() => { address: string; port: number }),
  ): Buffer | null;
} {
  const { sad, counters, events } = deps;
  const drop = (reason: DropReason): null => {
    counters.drop(reason);
    return null;
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
        events({
          type: "ike",
          data: Uint8Array.from(datagram.subarray(4)),
          from: typeof from === "function" ? from() : from,
        });
        return null;
      }
      counters.info("esp_packets_in");
      const header = readEspHeader(datagram);
      if (header === null) return drop("malformed");
      const entry = sad.inbound(header.spi);
      if (entry === undefined) return drop("no_sa");
      const { sa } = entry;
      if (sa.lifetime.expired()) return drop("sa_expired");
      const seq = sa.replay === null ? header.seq : sa.replay.check(header.seq);
      if (seq === null) return drop("replay");
      const esn = sa.record.esn;
      const opened = openEsp(sa.cipher, datagram, Math.floor(seq / 2 ** 32), esn);
      if (opened === "auth_failed") return drop("auth_failed");
      if (opened === "malformed") return drop("malformed");
      sa.replay?.accept(seq);
      if (opened.nextHeader === NEXT_HEADER_NONE) return drop("dummy");
      let packet: Buffer;
      if (sa.record.mode === "tunnel") {
        if (opened.nextHeader !== 4 && opened.nextHeader !== 41) return drop("malformed");
        packet = opened.payload;
      } else {
        packet = buildIpPacket(
          entry.peerBytes,
          entry.localBytes,
          opened.nextHeader,
          opened.payload,
        );
      }
      const ip = parseIpPacket(packet);
      if (ip === null) return drop("malformed");
      if (!entry.selectors.some((s) => selectorMatches(s, ip, false)))
        return drop("policy_mismatch");
      const state = sa.lifetime.onPacket(packet.length, deps.nowMs());
      if (state === "expired") {
        events({ type: "expired", direction: "in", spi: sa.record.spi, label: sa.record.label });
        return drop("sa_expired");
      }
      if (state === "soft")
        events({ type: "soft", direction: "in", spi: sa.record.spi, label: sa.record.label });
      counters.sa(sa.slot, packet.length);
      counters.info("tun_packets_out");
      return packet;
    },
  };
}
