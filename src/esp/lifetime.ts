/**
 * SA lifetimes (RFC 4301 §4.4.2.1): a soft limit raises a rekey event once, a hard limit
 * expires the SA (every later packet is a counted drop). Limits in bytes, packets and
 * milliseconds since the SA was installed; 0 means "no limit". The sequence-number limit
 * (2^32 - 1 without ESN, RFC 4303 §3.3.3) is a hard packet limit added by the SA.
 * Pure: the caller passes the clock.
 */

export interface LifetimeLimits {
  bytes: number;
  packets: number;
  ms: number;
}

export interface Lifetime {
  soft: LifetimeLimits;
  hard: LifetimeLimits;
}

export type LifetimeState = "live" | "soft" | "expired";

export interface LifetimeTracker {
  /**
   * Checks the limits reached so far, then accounts the packet unless the SA is expired.
   * "soft" is returned once, then "live" until the hard limit.
   */
  onPacket(bytes: number, nowMs: number): LifetimeState;
  /** Clock-only check (idle SAs expire too). */
  onTick(nowMs: number): LifetimeState;
  expired(): boolean;
}

export const NO_LIMITS: LifetimeLimits = { bytes: 0, packets: 0, ms: 0 };

function reached(l: LifetimeLimits, bytes: number, packets: number, ageMs: number): boolean {
  return (
    (l.bytes > 0 && bytes >= l.bytes) ||
    (l.packets > 0 && packets >= l.packets) ||
    (l.ms > 0 && ageMs >= l.ms)
  );
}

export function createLifetimeTracker(lifetime: Lifetime, installedAtMs: number): LifetimeTracker {
  let bytes = 0;
  let packets = 0;
  let softFired = false;
  let expired = false;
  const evaluate = (nowMs: number): LifetimeState => {
    if (expired) return "expired";
    const age = nowMs - installedAtMs;
    if (reached(lifetime.hard, bytes, packets, age)) {
      expired = true;
      return "expired";
    }
    if (!softFired && reached(lifetime.soft, bytes, packets, age)) {
      softFired = true;
      return "soft";
    }
    return "live";
  };
  return {
    onPacket(n, nowMs) {
      const state = evaluate(nowMs);
      if (state === "expired") return state;
      bytes += n;
      packets += 1;
      return state;
    },
    onTick: evaluate,
    expired: () => expired,
  };
}
