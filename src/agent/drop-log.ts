/**
 * Drops become log lines without flooding: every DROP_LOG_MS the agent compares the drop
 * counters with the previous look and prints one line for what changed, e.g.
 *   drops in the last 10 s: inbound auth_failed=3 replay=1
 * Pure: it is handed the snapshots.
 */
import type { CounterSnapshot, Role } from "../datapath/counters.js";

export const DROP_LOG_MS = 10_000;

export function createDropSummary(): { next(s: CounterSnapshot): string | null } {
  let previous: CounterSnapshot | null = null;
  return {
    next(s) {
      const parts: string[] = [];
      for (const role of ["outbound", "inbound"] as Role[]) {
        const changed = Object.entries(s.drops[role])
          .map(
            ([reason, n]) =>
              [
                reason,
                n -
                  (previous?.drops[role][reason as keyof CounterSnapshot["drops"]["inbound"]] ?? 0),
              ] as const,
          )
          .filter(([, d]) => d > 0)
          .map(([reason, d]) => `${reason}=${d}`);
        if (changed.length > 0) parts.push(`${role} ${changed.join(" ")}`);
      }
      previous = s;
      return parts.length === 0
        ? null
        : `drops in the last ${DROP_LOG_MS / 1000} s: ${parts.join("; ")}`;
    },
  };
}
