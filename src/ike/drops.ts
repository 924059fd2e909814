/**
 * Why the IKE engine dropped a datagram: a string-literal union with one counter each (as
 * the data path's counters), read by `engine.stats()` and shown by `netsh ipsec dynamic
 * show stats` under "IKE drops by reason". Dropping never throws.
 *
 * Each drop is logged, but at most LOG_BURST lines per reason in a LOG_WINDOW_MS window:
 * an IKE_SA_INIT flood must not become a log flood. The next drop of that reason after the
 * window says how many lines were left out; the counters stay exact.
 */
import type { Clock } from "./types.js";

export const IKE_DROP_REASONS = [
  /** A length, count or field that does not fit RFC 7296's layout; a missing payload. */
  "malformed",
  /** The SK payload's integrity check (or AEAD tag) failed. */
  "integrity",
  /** No IKE SA has our SPI (or it is closed). */
  "unknown_spi",
  /** A response that matches no outstanding request. */
  "unexpected_response",
  /** A request outside the message-ID window (§2.3). */
  "message_id",
  /** IKE_SA_INIT from an address no peer is configured for. */
  "no_peer_config",
  /** The matching peer's configuration cannot be used (no offer can be built). */
  "config",
  /** §2.6: under load an IKE_SA_INIT without a valid COOKIE is answered with one, no state. */
  "cookie_required",
  /** The hard limit of half-open IKE SAs is reached (even with a valid COOKIE). */
  "half_open_limit",
  /** An exchange handler failed unexpectedly (a bug: the log line names it). */
  "internal",
  /**
   * ESP/AH with an unknown SPI from an address we hold no IKE SA with: not answered, an
   * unauthenticated INVALID_SPI would be a spoofing aid (RFC 7296 §1.5).
   */
  "invalid_spi_no_ike_sa",
  /** ESP/AH with an unknown SPI beyond one INVALID_SPI per peer per `invalidSpiIntervalMs`. */
  "invalid_spi_rate_limited",
] as const;
export type IkeDropReason = (typeof IKE_DROP_REASONS)[number];

export const LOG_BURST = 10;
export const LOG_WINDOW_MS = 10_000;

export interface IkeDrops {
  drop(reason: IkeDropReason, detail: string): void;
  /** Every reason, zeros included. */
  snapshot(): Record<IkeDropReason, number>;
}

export function createIkeDrops(clock: Clock, log: (line: string) => void): IkeDrops {
  const counts = Object.fromEntries(IKE_DROP_REASONS.map((r) => [r, 0])) as Record<
    IkeDropReason,
    number
  >;
  const windows = new Map<IkeDropReason, { start: number; logged: number; skipped: number }>();
  return {
    drop(reason, detail) {
      counts[reason]++;
      const now = clock.now();
      let w = windows.get(reason);
      if (!w || now - w.start >= LOG_WINDOW_MS) {
        if (w && w.skipped > 0)
          log(`drop ${reason}: ${w.skipped} more in ${LOG_WINDOW_MS / 1000} s not logged`);
        w = { start: now, logged: 0, skipped: 0 };
        windows.set(reason, w);
      }
      if (w.logged < LOG_BURST) {
        w.logged++;
        log(`drop ${reason}: ${detail}`);
      } else w.skipped++;
    },
    snapshot: () => ({ ...counts }),
  };
}
