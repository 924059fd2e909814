/**
 * The client is told why (issue 16): both ends of POSTERN_NOT_ADMITTED (src/ike/refusal.ts).
 *
 * Server: when the bypass decides not to admit a peer that authenticated (bypass-peers.ts),
 * the agent tells it why, inside the IKE SA: once per IKE SA, at most once per peer address
 * and reason every REFUSAL_INTERVAL_MS (a peer that renegotiates in a loop gets no flood), and only
 * in the modes that allow it (`postern agent --refusal-notice none|reason|names`; names
 * adds the bypass group's name, which tells a stranger what to become).
 *
 * Immediate revocation (revocation.ts) tells an admitted peer it is revoked, just before
 * the SA's DELETE (`onRevoked`), in the same modes; that notice is not rate-limited (one
 * per admitted SA, each a Kerberos authentication) and does not hold back the notice of
 * the peer's next SA, refused as `revoked` while its ticket's PAC is stale.
 *
 * Client: the notice is kept with its IKE SA (`netsh ipsec dynamic show mmsas`, `postern
 * explain`) and logged once per peer and reason:
 *   refusal: 198.18.0.20 does not admit us: not-in-bypass-list (it requires trusted)
 */
import type { FirewallSettings } from "../firewall/model.js";
import type { IkeSaInfo } from "../ike/engine.js";
import type { RefusalNotice } from "../ike/refusal.js";
import type { Clock } from "../ike/types.js";
import type { BypassDecision } from "./bypass-peers.js";

export type RefusalMode = "none" | "reason" | "names";
export const REFUSAL_MODES: readonly RefusalMode[] = ["none", "reason", "names"];

/** A peer is told at most once in this long. */
export const REFUSAL_INTERVAL_MS = 60_000;
/** The notice leaves after the IKE_AUTH answer (the initiator must hold the SA first). */
export const REFUSAL_DELAY_MS = 200;

/** What a client keeps of a notice (control protocol: MmSaView.refusal). */
export interface RefusalView {
  reason: RefusalNotice["reason"];
  group: string | null;
  at: string;
}

/** The notice for a decision, or null when there is nothing to tell (or not allowed). */
export function refusalFor(
  d: BypassDecision,
  sa: IkeSaInfo,
  settings: FirewallSettings | null,
  mode: RefusalMode,
): RefusalNotice | null {
  if (mode === "none" || d.authorizedBy !== null || sa.initiator || sa.identity === null)
    return null;
  const reason: RefusalNotice["reason"] | null =
    d.code === "not-in-list"
      ? "not-in-bypass-list"
      : d.code === "not-kerberos"
        ? "not-kerberos"
        : d.code === "no-pac"
          ? "no-pac"
          : d.code === "no-settings" || d.code === "empty-list"
            ? "no-bypass-list"
            : d.code === "revoked"
              ? "revoked"
              : null;
  if (reason === null) return null;
  const entry = settings?.bypass.find((b) => b.name && !b.name.endsWith("$"));
  const group = mode === "names" && reason !== "no-bypass-list" ? (entry?.name ?? null) : null;
  return { reason, group };
}

export interface Refusals {
  /** Server: a decision was taken for an established SA; tell the peer if we should. */
  onDecision(
    sa: IkeSaInfo,
    d: BypassDecision,
    tell: (spis: string, n: RefusalNotice) => boolean,
  ): void;
  /**
   * Server: the admitted SA `sa` is revoked (its DELETE follows); `group` is the bypass
   * entry that had admitted it. Told at once, before the DELETE is queued.
   */
  onRevoked(
    sa: IkeSaInfo,
    group: string | null,
    tell: (spis: string, n: RefusalNotice) => boolean,
  ): void;
  /** Client: a responder told us why. */
  onReceived(spis: string, address: string, n: RefusalNotice): void;
  /** Client: the notice received in IKE SA `spis`, if any. */
  of(spis: string): RefusalView | null;
  onClosed(spis: string): void;
}

export function createRefusals(deps: {
  clock: Clock;
  log: (line: string) => void;
  mode: RefusalMode;
  settings: () => FirewallSettings | null;
}): Refusals {
  const lastTold = new Map<string, number>();
  const received = new Map<string, RefusalView>();
  const logged = new Map<string, string>();
  return {
    onDecision(sa, d, tell) {
      let settings: FirewallSettings | null = null;
      try {
        settings = deps.settings();
      } catch {
        settings = null;
      }
      const n = refusalFor(d, sa, settings, deps.mode);
      if (n === null) return;
      // per address and reason: a peer renegotiating in a loop is told once, but a new
      // reason (it was admitted, then revoked) is news
      const key = `${sa.remote.address}/${n.reason}`;
      const now = deps.clock.now();
      const last = lastTold.get(key);
      if (last !== undefined && now - last < REFUSAL_INTERVAL_MS) return;
      lastTold.set(key, now);
      deps.clock.setTimer(REFUSAL_DELAY_MS, () => {
        if (tell(sa.spis, n))
          deps.log(
            `refusal: told ${sa.remote.address} why it is not admitted: ${n.reason}${n.group ? ` (requires ${n.group})` : ""}`,
          );
      });
    },
    onRevoked(sa, group, tell) {
      if (deps.mode === "none" || sa.initiator) return;
      const n: RefusalNotice = { reason: "revoked", group: deps.mode === "names" ? group : null };
      if (tell(sa.spis, n))
        deps.log(
          `refusal: told ${sa.remote.address} its admission is revoked${n.group ? ` (it required ${n.group})` : ""}`,
        );
    },
    onReceived(spis, address, n) {
      received.set(spis, {
        reason: n.reason,
        group: n.group,
        at: new Date(deps.clock.now()).toISOString(),
      });
      const key = `${n.reason}/${n.group ?? ""}`;
      if (logged.get(address) === key) return;
      logged.set(address, key);
      deps.log(
        `refusal: ${address} does not admit us: ${n.reason}${n.group ? ` (it requires ${n.group})` : ""}`,
      );
    },
    of: (spis) => received.get(spis) ?? null,
    onClosed: (spis) => {
      received.delete(spis);
    },
  };
}
