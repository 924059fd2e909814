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
  | { type: "acquire"; packet: Uint8Array };

export type EventSink = (e: DataPathEvent) => void;
