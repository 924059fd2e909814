/**
 * ACQUIRE (RFC 4301 §5.2, the user-space counterpart of the kernel's XFRM acquire): a
 * packet the TUN delivered with no outbound SA.
 *   1. look the packet up in the SPD: block -> discard (counted), permit -> counted
 *      (a bypass more specific than a protect filter is steered too), negotiate -> 2
 *   2. the peer (per rule and remote endpoint): while IKE runs, the packet waits in a
 *      bounded queue (full: counted drop `acquire_queue_full`); the first packet starts IKE
 *   3. child SA installed -> the queue is handed to the data path (inject) in order
 *   4. IKE fails: with a `soft` filter action the peer falls back to cleartext (the caller
 *      exempts it from steering); otherwise protected traffic to it is dropped
 *      (`ike_failed`) for `holdDownMs`, then the next packet tries again.
 * Pure: the clock, SPD lookup, IKE start and packet output are injected.
 */

import type { LogLevel } from "../platform/log.js";

export type AcquireVerdict =
  | { kind: "negotiate"; peer: string; soft: boolean; start: () => void }
  | { kind: "discard" | "bypass" | "malformed" };

export interface AcquireDeps {
  now: () => number;
  classify: (packet: Uint8Array) => AcquireVerdict;
  inject: (packet: Uint8Array) => void;
  /** A soft peer whose IKE failed: its traffic goes in cleartext from now on. */
  fallback: (peer: string) => void;
  log: (line: string, level?: LogLevel) => void;
  maxQueue: number;
  holdDownMs: number;
}

type PeerState =
  | { state: "negotiating"; queue: Uint8Array[]; soft: boolean }
  | { state: "up"; sas: number }
  | { state: "failed"; until: number }
  | { state: "cleartext" };

export const ACQUIRE_COUNTERS = [
  "acquire_started",
  "acquire_queued",
  "acquire_flushed",
  "acquire_queue_full",
  "ike_failed",
  "soft_fallback",
  "policy_block",
  "bypass_steered",
  "malformed",
] as const;
export type AcquireCounter = (typeof ACQUIRE_COUNTERS)[number];

export interface Acquirer {
  onPacket(packet: Uint8Array): void;
  onChildSa(peer: string): void;
  onChildSaDeleted(peer: string): void;
  /** The IKE SA with `peer` closed; `established` says whether it ever came up. */
  onIkeClosed(peer: string, established: boolean): void;
  counters(): Record<AcquireCounter, number>;
  peers(): Record<string, string>;
}

export function createAcquirer(deps: AcquireDeps): Acquirer {
  const peers = new Map<string, PeerState>();
  const counts = Object.fromEntries(ACQUIRE_COUNTERS.map((c) => [c, 0])) as Record<
    AcquireCounter,
    number
  >;
  const count = (c: AcquireCounter, n = 1) => {
    counts[c] += n;
  };
  return {
    onPacket(packet) {
      const v = deps.classify(packet);
      if (v.kind !== "negotiate") {
        return count(
          v.kind === "discard"
            ? "policy_block"
            : v.kind === "bypass"
              ? "bypass_steered"
              : "malformed",
        );
      }
      const st = peers.get(v.peer);
      if (st?.state === "cleartext") return count("soft_fallback");
      if (st?.state === "failed" && deps.now() < st.until) return count("ike_failed");
      if (st?.state === "negotiating") {
        if (st.queue.length >= deps.maxQueue) return count("acquire_queue_full");
        st.queue.push(packet);
        return count("acquire_queued");
      }
      if (st?.state === "up") {
        // The SA went away between the worker's lookup and now: send it again.
        deps.inject(packet);
        return;
      }
      peers.set(v.peer, { state: "negotiating", queue: [packet], soft: v.soft });
      count("acquire_started");
      count("acquire_queued");
      deps.log(`acquire: first packet to protect for ${v.peer}; starting IKE`);
      v.start();
    },
    onChildSa(peer) {
      const st = peers.get(peer);
      if (st?.state === "up") {
        st.sas += 1;
        return;
      }
      peers.set(peer, { state: "up", sas: 1 });
      if (st?.state !== "negotiating") return;
      for (const p of st.queue) deps.inject(p);
      count("acquire_flushed", st.queue.length);
    },
    onChildSaDeleted(peer) {
      const st = peers.get(peer);
      if (st?.state !== "up") return;
      st.sas -= 1;
      if (st.sas <= 0) peers.delete(peer);
    },
    onIkeClosed(peer, established) {
      // An SA that had been established closing is not a failed negotiation, even while a
      // new one is under way (klist purge deletes the old SA as the next packet starts one).
      if (established) return;
      const st = peers.get(peer);
      if (st?.state !== "negotiating") return;
      if (st.soft) {
        peers.set(peer, { state: "cleartext" });
        count("soft_fallback", st.queue.length);
        deps.log(
          `acquire: IKE with ${peer} failed; the filter action is soft: cleartext from now on (${st.queue.length} queued packets dropped)`,
          "warning",
        );
        deps.fallback(peer);
        return;
      }
      peers.set(peer, { state: "failed", until: deps.now() + deps.holdDownMs });
      count("ike_failed", st.queue.length);
      deps.log(
        `acquire: IKE with ${peer} failed; protected traffic to it is dropped (${st.queue.length} queued) for ${deps.holdDownMs / 1000} s, then retried`,
        "warning",
      );
    },
    counters: () => ({ ...counts }),
    peers: () => Object.fromEntries([...peers].map(([k, v]) => [k, v.state])),
  };
}
