/**
 * What the packet loops tell the rest of the agent (IKE, logs): lifetimes reached, and IKE
 * datagrams that arrived on the shared UDP 4500 socket behind the non-ESP marker.
 */
import type { SaDirection } from "../esp/sa.js";

export type DataPathEvent =
  | { type: "soft"; direction: SaDirection; spi: number; label: string }
  | { type: "expired"; direction: SaDirection; spi: number; label: string }
  | { type: "ike"; data: Uint8Array; from: { address: string; port: number } }
  /** A packet read from the TUN that no outbound SA covers (only when acquire is on). */
  | { type: "acquire"; packet: Uint8Array }
  /**
   * ESP/AH whose SPI no inbound SA has (counted `no_sa`), for IKE's INVALID_SPI (RFC 7296
   * §1.5); at most UNKNOWN_SPI_EVENTS a second, a flood of them stays a counter.
   */
  | { type: "unknown_spi"; protocol: "esp" | "ah"; spi: number; from: string };

export const UNKNOWN_SPI_EVENTS = 10;

/** A worker's word to the engine that it reads its devices now (engine.ts `ready`). */
export const WORKER_READY = "postern-datapath-ready";

export type EventSink = (e: DataPathEvent) => void;
