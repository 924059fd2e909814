/**
 * The security association record: what manual keying (src/agent/manual-sa.ts) and IKEv2
 * (src/ike/, CREATE_CHILD_SA / IKE_AUTH) hand to the data path, one record per direction.
 * Keys are raw KEYMAT bytes in the order RFC 7296 §2.17 takes them: encryption key (with
 * the 4-byte salt for GCM, RFC 4106 §8.1) then integrity key.
 *
 * `createOutboundSa` / `createInboundSa` turn a record into the per-packet state: the
 * keyed cipher, the sequence counter or replay window, and the lifetime tracker.
 */
import { type AhIntegrity, ahIntegrity } from "./ah.js";
import type { LifetimeTracker } from "./lifetime.js";
import { createLifetimeTracker, type Lifetime } from "./lifetime.js";
import type { EvpGcm } from "./evp-gcm.js";
import { createReplayWindow, type ReplayWindow } from "./replay.js";
import { createEspCipher, type EspCipher, type TransformName } from "./transform.js";

export type SaDirection = "in" | "out";
export type SaMode = "transport" | "tunnel";

/** One traffic selector (RFC 7296 §3.13.1, simplified to a prefix and a port range). */
export interface TrafficSelector {
  /** Our side: "10.0.0.1/32". */
  local: string;
  /** The peer's side: "10.0.0.2/32" or "0.0.0.0/0". */
  remote: string;
  /** IP protocol number, or 0 for any. */
  protocol: number;
  /** Port ranges, inclusive; [0, 65535] for any. Apply to TCP/UDP/SCTP only. */
  localPorts: [number, number];
  remotePorts: [number, number];
}

/** The record IKE (or the manual keying file) hands to the data path. */
export interface SaRecord {
  /** SPI in the ESP header: for "in" the one we chose, for "out" the peer's. */
  spi: number;
  /**
   * "esp" (default) or "ah" (RFC 4302 over a raw socket; transform null-sha256 or
   * null-sha1, the integrity key in authKey, never UDP-encapsulated).
   */
  protocol?: "esp" | "ah";
  direction: SaDirection;
  mode: SaMode;
  transform: TransformName;
  encKey: Uint8Array;
  authKey: Uint8Array;
  /** Outer addresses (tunnel endpoints, or the hosts themselves in transport mode). */
  local: string;
  peer: string;
  /** UDP encapsulation ports (RFC 3948); null = raw ESP (IP protocol 50, not yet wired). */
  encap: { localPort: number; peerPort: number } | null;
  esn: boolean;
  /** Anti-replay window in packets (inbound), >= 1024 by default; 0 disables the check. */
  replayWindow: number;
  lifetime: Lifetime;
  selectors: TrafficSelector[];
  /** Free text for logs and stats: the rule or IKE SA that made it. */
  label: string;
  /**
   * Inbound: the firewall's authenticated bypass admitted the peer that keyed this SA (its
   * identity and groups), so the data path delivers its packets on the bypass device, which
   * the firewall accepts (docs/firewall.md "Bypass bound to the SA"). Absent: not admitted.
   */
  admitted?: boolean;
  /**
   * Inbound transport mode: recompute TCP/UDP checksums after the IP header is rebuilt
   * (RFC 3948 §3.1.2: behind a NAT the sender summed other addresses). Set for IKE's
   * transport-mode SAs across a NAT: the peer's selector names an address its packets do
   * not come from, or IKE's NAT detection says a NAT stands in front of us. Without a NAT
   * the checksums are right as they arrive, and the pass (about 7 % of a TCP stream's
   * throughput, bench/agent.ts) is skipped.
   */
  fixChecksums?: boolean;
}

/** 2^32 - 1: the last sequence number an SA without ESN may send (RFC 4303 §3.3.3). */
export const MAX_SEQ_32 = 2 ** 32 - 1;

export interface OutboundSa {
  record: SaRecord;
  /** `free` releases a native context (call once the SA is gone). */
  cipher: EspCipher & { free?: () => void };
  /** Set for AH SAs. */
  ah: AhIntegrity | null;
  lifetime: LifetimeTracker;
  /** The last sequence number sent (0 = none yet). */
  seq: number;
  /** Index of this SA's counters in the shared counter block. */
  slot: number;
}

export interface InboundSa {
  record: SaRecord;
  cipher: EspCipher & { free?: () => void };
  ah: AhIntegrity | null;
  lifetime: LifetimeTracker;
  replay: ReplayWindow | null;
  slot: number;
}

/** Without ESN, ask for a rekey this many packets before the sequence number runs out. */
export const SEQ_SOFT_MARGIN = 2 ** 24;

/** Adds the sequence-number limits: hard at 2^32 - 1, soft 2^24 packets earlier. */
export function withSeqLimit(record: SaRecord): Lifetime {
  if (record.esn) return record.lifetime;
  const { soft, hard } = record.lifetime;
  const hardPackets = hard.packets > 0 ? Math.min(hard.packets, MAX_SEQ_32) : MAX_SEQ_32;
  const seqSoft = MAX_SEQ_32 - SEQ_SOFT_MARGIN;
  const softPackets = soft.packets > 0 ? Math.min(soft.packets, seqSoft) : seqSoft;
  return { soft: { ...soft, packets: softPackets }, hard: { ...hard, packets: hardPackets } };
}

/**
 * The keyed cipher and, for AH, the keyed integrity; the cipher's `free` releases both
 * (the SAD frees ciphers only).
 */
function keyed(
  record: SaRecord,
  gcm: EvpGcm | undefined,
  encrypt: boolean,
): { cipher: EspCipher & { free?: () => void }; ah: AhIntegrity | null } {
  const provider = gcm === undefined ? undefined : { provider: gcm, encrypt };
  const cipher = createEspCipher(record.transform, record.encKey, record.authKey, provider);
  if (record.protocol !== "ah") return { cipher, ah: null };
  const ah = ahIntegrity(record.transform, record.authKey, gcm?.hmac);
  const freeCipher = cipher.free;
  cipher.free = () => {
    freeCipher?.();
    ah?.free();
  };
  return { cipher, ah };
}

/**
 * `gcm`: the packet loops' libcrypto provider (src/esp/evp-gcm.ts: AES-GCM, HMAC, AES-CBC);
 * optional.
 */
export function createOutboundSa(
  record: SaRecord,
  slot: number,
  nowMs: number,
  gcm?: EvpGcm,
): OutboundSa {
  return {
    record,
    ...keyed(record, gcm, true),
    lifetime: createLifetimeTracker(withSeqLimit(record), nowMs),
    seq: 0,
    slot,
  };
}

export function createInboundSa(
  record: SaRecord,
  slot: number,
  nowMs: number,
  gcm?: EvpGcm,
): InboundSa {
  return {
    record,
    ...keyed(record, gcm, false),
    lifetime: createLifetimeTracker(record.lifetime, nowMs),
    replay: record.replayWindow > 0 ? createReplayWindow(record.replayWindow, record.esn) : null,
    slot,
  };
}
