/**
 * The shapes the IKE engine works with: peers as configured, the engine's injected
 * dependencies, the IKE SA and child SA records, and the Child SA record handed to the
 * data path (`onChildSa`).
 */
import type { RefusalNotice } from "./refusal.js";
import type { DhKeyPair } from "../crypto/primitives.js";
import type { MmSecMethod, QmSecMethod } from "../policy/model.js";
import type { AuthMethodProvider, PeerIdentity } from "./auth.js";
import type { ChildKeys, IkeKeys } from "./crypto.js";
import type { IkeMessage, Payload } from "./message.js";
import type { Proposal } from "./payloads/sa.js";
import type { TrafficSelector } from "./payloads/ts.js";
import type { ChildSaState, IkeSaState } from "./state.js";
import type { DhGroupId, Suite } from "./transforms.js";

export interface Endpoint {
  address: string;
  port: number;
}

/** One IKE message on the wire (on 4500 without the non-ESP marker). */
export interface Datagram {
  data: Buffer;
  local: Endpoint;
  remote: Endpoint;
}

export type ChildMode = "tunnel" | "transport";

export interface PeerConfig {
  name: string;
  localAddress: string;
  /** The peer's address; "%any" on a responder accepts any initiator. */
  remoteAddress: string;
  /** Our identity: "10.0.0.1", "fqdn:host.example", "keyid:x", "user@example". */
  localId: string;
  /** The identity the peer must present; null accepts any. */
  remoteId: string | null;
  auth: AuthMethodProvider;
  /** The rule's further methods, in order: a responder also accepts these (by AUTH method). */
  authAlternatives?: AuthMethodProvider[];
  /** IKE SA offers (main mode methods), in preference order. */
  mm: readonly MmSecMethod[];
  /** Child SA offers (quick mode methods), in preference order. */
  qm: readonly QmSecMethod[];
  /** Perfect forward secrecy for child SAs created by CREATE_CHILD_SA (DH of the IKE SA). */
  pfs: boolean;
  localTs: readonly TrafficSelector[];
  remoteTs: readonly TrafficSelector[];
  /**
   * A responder narrows the remote selectors to the peer's own address (the default
   * response rule: it protects the flow the peer asks for, between the pair of hosts).
   */
  remoteTsIsPeer?: boolean;
  mode: ChildMode;
  /** Pretend to be behind NAT so both sides float to UDP 4500 (strongSwan's encap=yes). */
  forceEncap: boolean;
  /** IKE SA lifetime (the policy's main-mode lifetime); 0 = no time-based IKE SA rekey. */
  ikeLifetimeSec?: number;
}

export interface IkeOptions {
  /** First retransmission after this many ms, doubling each time. */
  retransmitBaseMs: number;
  /** Requests sent at most this many times before the IKE SA is given up. */
  retransmitTries: number;
  /** Liveness check (empty INFORMATIONAL) after this long without hearing from the peer; 0 = off. */
  livenessMs: number;
  /** Half-open IKE SAs above which IKE_SA_INIT requests must carry a COOKIE (§2.6). */
  cookieThreshold: number;
  /**
   * Half-open IKE SAs one address may hold: from there its requests need a COOKIE, and one
   * with a valid COOKIE replaces the address's oldest half-open SA.
   */
  halfOpenPerSource: number;
  /** Half-open IKE SAs in all beyond which IKE_SA_INIT is dropped, COOKIE or not. */
  halfOpenLimit: number;
  /** Half-open SAs are dropped after this long. */
  halfOpenTimeoutMs: number;
  /** The side that created an SA rekeys it when this fraction of its lifetime has passed. */
  rekeyAtFraction: number;
  /**
   * Send INITIAL_CONTACT in IKE_AUTH when no other IKE SA with the peer exists (§2.4), so a
   * peer that still holds SAs from before our restart deletes them at once.
   */
  initialContact: boolean;
  /**
   * Answer ESP/AH with an unknown SPI from a peer we hold an IKE SA with by N(INVALID_SPI)
   * (§1.5), and act on the peer's; off: such packets are only counted (the old behaviour).
   */
  invalidSpi: boolean;
  /** At most one INVALID_SPI notify per peer address in this many ms. */
  invalidSpiIntervalMs: number;
}

export const DEFAULT_IKE_OPTIONS: IkeOptions = {
  retransmitBaseMs: 1000,
  retransmitTries: 5,
  livenessMs: 30_000,
  cookieThreshold: 64,
  halfOpenPerSource: 5,
  halfOpenLimit: 1024,
  halfOpenTimeoutMs: 30_000,
  rekeyAtFraction: 0.9,
  initialContact: true,
  invalidSpi: true,
  invalidSpiIntervalMs: 1000,
};

export interface Clock {
  now(): number;
  /** Runs fn after ms; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** What the data path receives for each negotiated child SA. */
export interface ChildSaRecord {
  /** The IKE SA it belongs to, "spiI_spiR" in hex. */
  ikeSa: string;
  peerName: string;
  local: Endpoint;
  remote: Endpoint;
  protocol: "esp" | "ah";
  mode: ChildMode;
  /** ESP in UDP 4500 (RFC 3948): NAT detected or forced. */
  udpEncap: boolean;
  /** A NAT stands in front of this host (its IKE SA's NAT detection): transport mode's
   *  peers summed their checksums over our public address. */
  behindNat?: boolean;
  /** SPI we receive on / the peer receives on. */
  spiIn: number;
  spiOut: number;
  /** Transform ids (RFC 7296 §3.3.2) and key length in bits. */
  encrId: number;
  encrKeyBits: number;
  /** 0 when AEAD or none. */
  integId: number;
  esn: boolean;
  /** Keys from KEYMAT; GCM keys carry their 4-byte salt at the end (RFC 4106 §8.1). */
  encrKeyIn: Buffer;
  integKeyIn: Buffer;
  encrKeyOut: Buffer;
  integKeyOut: Buffer;
  tsLocal: TrafficSelector[];
  tsRemote: TrafficSelector[];
  lifetimeSec: number;
  lifetimeKb: number;
  initiator: boolean;
  /** When it replaces an older SA (rekey): the older one's inbound SPI. */
  replacesSpiIn: number | null;
}

export interface IkeDeps {
  peers: readonly PeerConfig[];
  clock: Clock;
  random: (n: number) => Buffer;
  send: (d: Datagram) => void;
  log: (line: string) => void;
  /** IKE detail (each message's exchange, payloads, proposals) for --verbose; absent: none. */
  debug?: (line: string) => void;
  /**
   * A setup's steps as they happen (the first-page breakdown, bench/lab.ts): `step` of the
   * IKE SA `spis`; absent: none (nothing is formatted on the path then).
   */
  mark?: (step: string, spis: string) => void;
  dh: (group: DhGroupId) => DhKeyPair;
  onChildSa: (sa: ChildSaRecord) => void;
  /** The SA pair whose inbound SPI is `spiIn` is gone. */
  onChildSaDeleted: (spiIn: number) => void;
  /**
   * Called when an IKE SA reaches established or closed; `peer` names who authenticated.
   * Called before the SA's first child SA is installed, so a decision taken here (the
   * bypass's) can ride on its child SAs; nothing of IKE waits for the caller.
   */
  onIkeSaState?: (
    peerName: string,
    spis: string,
    state: IkeSaState,
    peer?: { id: string | null; identity: PeerIdentity | null; remote: Endpoint },
  ) => void;
  /**
   * A responder told us, inside this IKE SA (`spis`), why it does not admit us
   * (POSTERN_NOT_ADMITTED, ./refusal.ts).
   */
  onRefusal?: (spis: string, notice: RefusalNotice) => void;
  options?: Partial<IkeOptions>;
}

export interface ChildSa {
  record: ChildSaRecord;
  /** Changed only by transitionChild() (./state.ts). */
  state: ChildSaState;
  /**
   * While we rekey it: null, or the nonces of the peer's rekey of the same SA that crossed
   * ours (§2.8.1), which decide which of the two new SAs is redundant.
   */
  ourRekey?: { rival: Buffer[] | null };
}

/** A child SA being negotiated (IKE_AUTH or CREATE_CHILD_SA), as its initiator keeps it. */
export interface ChildRequest {
  spiIn: number;
  proposals: Proposal[];
  tsi: TrafficSelector[];
  tsr: TrafficSelector[];
  transport: boolean;
  dh: DhKeyPair | null;
  nonce: Buffer;
  rekeys: number | null;
}

export interface PendingRequest {
  messageId: number;
  exchangeType: number;
  datagram: Buffer;
  tries: number;
  cancelTimer: () => void;
  onResponse: (payloads: Payload[], msg: IkeMessage, raw: Buffer) => Promise<void> | void;
}

export interface IkeSa {
  readonly initiator: boolean;
  spiI: Buffer;
  spiR: Buffer;
  state: IkeSaState;
  peer: PeerConfig;
  local: Endpoint;
  remote: Endpoint;
  natT: boolean;
  /** The peer's NAT_DETECTION_DESTINATION_IP says a NAT stands in front of us (RFC 7296 §2.23). */
  behindNat: boolean;
  suite: Suite | null;
  keys: IkeKeys | null;
  ni: Buffer;
  nr: Buffer;
  dh: DhKeyPair | null;
  message1: Buffer | null;
  message2: Buffer | null;
  cookie: Buffer | null;
  initAttempts: number;
  /** Offers we made (initiator), for logs. */
  offered: Proposal[];
  nextRequestId: number;
  pending: PendingRequest | null;
  /** Requests waiting for the window (size 1). */
  queue: {
    exchangeType: number;
    payloads: () => Payload[];
    onResponse: PendingRequest["onResponse"];
  }[];
  peerNextId: number;
  lastResponse: { messageId: number; datagram: Buffer } | null;
  children: Map<number, ChildSa>;
  authChild: ChildRequest | null;
  peerId: string | null;
  /** What the auth provider verified about the peer (Kerberos PAC SIDs). */
  identity?: PeerIdentity | null;
  /** AuthContext.session of this SA (created on first use). */
  authSession?: object;
  lastHeardMs: number;
  /**
   * The engine's event count when this SA was created (IKE_SA_INIT sent or received) and
   * when it reached established (null before): which of two SAs with a peer came first.
   */
  startedAt: number;
  establishedAt: number | null;
  cancelTimers: (() => void)[];
  /** Serialises message handling for this SA. */
  chain: Promise<void>;
  /**
   * While we rekey this IKE SA: null, or the peer's rekey of it that crossed ours (§2.8.2),
   * its nonces and the IKE SA it made, to decide which of the two new SAs is redundant.
   */
  ourRekey?: { rival: { nonces: Buffer[]; sa: IkeSa } | null };
}

export type { ChildKeys };
