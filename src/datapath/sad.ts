/**
 * The security association database: inbound SAs by SPI, outbound SAs behind the SPD's
 * selectors. Each worker thread holds the half it uses (the outbound worker the outbound
 * SAs, the inbound worker the inbound ones); the main thread sends it SA records.
 */
import {
  type InboundSa,
  type OutboundSa,
  type SaRecord,
  createInboundSa,
  createOutboundSa,
} from "../esp/sa.js";
import { type CompiledSelector, compileSelector, createSpd, type Spd } from "./spd.js";
import type { EvpGcm } from "../esp/evp-gcm.js";
import type { IpPacketInfo } from "./ippacket.js";
import { addressBytes } from "./ippacket.js";
import { encodeSockaddrIn } from "../platform/udp.js";

export interface OutboundEntry {
  sa: OutboundSa;
  /** sockaddr_in of the peer's UDP encapsulation port (port 0 for AH's raw socket). */
  dest: Buffer;
  /** Outer addresses as bytes, for the AH header we build. */
  localBytes: Uint8Array;
  peerBytes: Uint8Array;
}

export interface InboundEntry {
  sa: InboundSa;
  selectors: CompiledSelector[];
  /** Outer addresses as bytes, for the transport-mode IP header. */
  peerBytes: Uint8Array;
  localBytes: Uint8Array;
  /** The firewall's bypass admitted this SA's peer: deliver on the bypass device. */
  admitted: boolean;
}

export interface Sad {
  add(record: SaRecord, slot: number, nowMs: number): void;
  remove(direction: "in" | "out", spi: number): void;
  inbound(spi: number): InboundEntry | undefined;
  outboundFor(p: IpPacketInfo): OutboundEntry | null;
  outboundEntries(): OutboundEntry[];
  inboundEntries(): InboundEntry[];
}

/** `gcm`: AES-GCM through libcrypto for the SAs' ciphers (the worker threads pass it). */
export function createSad(gcm?: EvpGcm): Sad {
  const inbound = new Map<number, InboundEntry>();
  const outbound = new Map<number, OutboundEntry>();
  const spd: Spd<OutboundEntry> = createSpd();
  const compiled = (record: SaRecord): CompiledSelector[] =>
    record.selectors.map(compileSelector).filter((s): s is CompiledSelector => s !== null);
  return {
    add(record, slot, nowMs) {
      if (record.direction === "in") {
        inbound.get(record.spi)?.sa.cipher.free?.();
        inbound.set(record.spi, {
          sa: createInboundSa(record, slot, nowMs, gcm),
          selectors: compiled(record),
          peerBytes: addressBytes(record.peer) ?? new Uint8Array(4),
          localBytes: addressBytes(record.local) ?? new Uint8Array(4),
          admitted: record.admitted === true,
        });
        return;
      }
      this.remove("out", record.spi);
      const entry: OutboundEntry = {
        sa: createOutboundSa(record, slot, nowMs, gcm),
        dest: encodeSockaddrIn({
          address: record.peer,
          port: record.protocol === "ah" ? 0 : (record.encap?.peerPort ?? 4500),
        }),
        localBytes: addressBytes(record.local) ?? new Uint8Array(4),
        peerBytes: addressBytes(record.peer) ?? new Uint8Array(4),
      };
      outbound.set(record.spi, entry);
      for (const s of compiled(record)) spd.add(s, entry);
    },
    remove(direction, spi) {
      if (direction === "in") {
        inbound.get(spi)?.sa.cipher.free?.();
        inbound.delete(spi);
        return;
      }
      const entry = outbound.get(spi);
      if (entry === undefined) return;
      entry.sa.cipher.free?.();
      outbound.delete(spi);
      spd.removeWhere((e) => e === entry);
    },
    inbound: (spi) => inbound.get(spi),
    outboundFor: (p) => spd.lookup(p),
    outboundEntries: () => [...outbound.values()],
    inboundEntries: () => [...inbound.values()],
  };
}
