/**
 * The data path without threads or devices, for in-process tests of the agent (as
 * WireGuard's tuntest/bindtest): the same SAD, outbound and inbound cores as the workers,
 * driven by calls instead of TUN and UDP reads.
 *   outbound  1. readTun(packet) (the host routed it to the TUN)  2. outbound.seal
 *             3. sendUdp(datagram, peer:4500); no SA: an `acquire` event
 *   inbound   1. receiveUdp(datagram, from)  2. inbound.open (IKE behind the non-ESP
 *             marker becomes an `ike` event)  3. writeTun(packet)
 * Stats come from the same counter block layout as the real data path.
 */
import type { SaRecord } from "../esp/sa.js";
import { decodeSockaddrIn, type UdpEndpoint } from "../platform/udp.js";
import {
  clearSaCounters,
  createCounterBuffer,
  createCounterWriter,
  MAX_SA_SLOTS,
} from "./counters.js";
import type { DataPath } from "./engine.js";
import { dataPathStats } from "./engine.js";
import type { EventSink } from "./events.js";
import { createInbound } from "./inbound.js";
import { createOutbound } from "./outbound.js";
import { createSad } from "./sad.js";

export interface InProcessDataPathDeps {
  onEvent: EventSink;
  /**
   * Cleartext packets the data path writes to the TUN (the host's stack gets them);
   * `admitted`: on the bypass device (the SA's peer was admitted by the firewall's bypass).
   */
  writeTun: (packet: Buffer, admitted: boolean) => void;
  /** Datagrams the data path sends on its UDP 4500 socket. */
  sendUdp: (datagram: Buffer, to: UdpEndpoint) => void;
  nowMs: () => number;
  randomBytes: (n: number) => Buffer;
  /** Packets without an outbound SA become `acquire` events (else no_policy drops). */
  acquire: boolean;
}

export interface InProcessDataPath extends DataPath {
  /** A packet the host's stack routed to the TUN. */
  readTun(packet: Buffer): void;
  /** A datagram that arrived on UDP 4500. */
  receiveUdp(datagram: Buffer, from: UdpEndpoint): void;
}

export function createInProcessDataPath(d: InProcessDataPathDeps): InProcessDataPath {
  const counters = createCounterBuffer();
  const sad = createSad();
  const events: EventSink = (e) => d.onEvent(e);
  const outbound = createOutbound({
    sad,
    counters: createCounterWriter(counters, "outbound"),
    events,
    nowMs: d.nowMs,
    randomBytes: d.randomBytes,
    onNoSa: d.acquire
      ? (packet) => {
          events({ type: "acquire", packet: Uint8Array.from(packet) });
          return true;
        }
      : undefined,
  });
  const inbound = createInbound({
    sad,
    counters: createCounterWriter(counters, "inbound"),
    events,
    nowMs: d.nowMs,
  });
  const installed = new Map<string, { record: SaRecord; slot: number }>();
  const freeSlots = Array.from({ length: MAX_SA_SLOTS }, (_, i) => MAX_SA_SLOTS - 1 - i);
  const key = (direction: string, spi: number) => `${direction}:${spi >>> 0}`;
  const seal = (packet: Buffer) => {
    const sealed = outbound.seal(packet);
    if (sealed !== null && sealed.via === "udp")
      d.sendUdp(Buffer.from(sealed.datagram), decodeSockaddrIn(sealed.to));
  };
  return {
    addSa(record) {
      const k = key(record.direction, record.spi);
      const slot = installed.get(k)?.slot ?? freeSlots.pop();
      if (slot === undefined) throw new Error(`no free SA slot (max ${MAX_SA_SLOTS})`);
      clearSaCounters(counters, slot);
      installed.set(k, { record, slot });
      sad.add(record, slot, d.nowMs());
    },
    removeSa(direction, spi) {
      const old = installed.get(key(direction, spi));
      if (old === undefined) return;
      installed.delete(key(direction, spi));
      sad.remove(direction, spi);
      freeSlots.push(old.slot);
    },
    inject: (packet) => seal(Buffer.from(packet)),
    readTun: seal,
    receiveUdp(datagram, from) {
      const packet = inbound.open(Buffer.from(datagram), from);
      if (packet !== null) d.writeTun(Buffer.from(packet), inbound.lastAdmitted());
    },
    stats: () => dataPathStats(installed.values(), counters),
    stop: async () => undefined,
  };
}
