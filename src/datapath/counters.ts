/**
 * The data path's counters, in one SharedArrayBuffer so the main thread (stats, control
 * socket) reads what the worker threads write without asking them: they may be blocked in
 * read(2). Every slot has exactly one writer (the outbound or the inbound worker), so plain
 * stores suffice; a reader may see a value one packet old.
 *
 * Layout (Float64, exact to 2^53): [outbound drops][inbound drops][info][SA slots x 2].
 * The packet path never throws: it calls `drop(reason)` and moves on (nebula's Drop()).
 */

export const DROP_REASONS = [
  "no_policy",
  "no_sa",
  "sa_expired",
  "replay",
  "auth_failed",
  "malformed",
  "policy_mismatch",
  "fragment",
  "unsupported",
  "dummy",
  "send_failed",
  "tun_write_failed",
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export const INFO_COUNTERS = [
  "tun_packets_in",
  "esp_packets_out",
  "esp_packets_in",
  "tun_packets_out",
  "ike_datagrams",
  "nat_keepalives",
  "ah_packets_out",
  "ah_packets_in",
  /** UDP GSO sends: one system-call message carrying a run of equal-size ESP datagrams. */
  "udp_gso_sends",
  /** UDP GRO receives: one message holding a run of equal-size ESP datagrams (a peer's GSO). */
  "udp_gro_messages",
  /** Cleartext bytes sealed and opened on SAs (the per-SA counters' sums, kept across SA deletion). */
  "sa_bytes_out",
  "sa_bytes_in",
] as const;
export type InfoCounter = (typeof INFO_COUNTERS)[number];

export type Role = "outbound" | "inbound";

export const MAX_SA_SLOTS = 4096;
const R = DROP_REASONS.length;
const I = INFO_COUNTERS.length;
const SA_BASE = 2 * R + I;
const TOTAL = SA_BASE + 2 * MAX_SA_SLOTS;

export function createCounterBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(TOTAL * 8);
}

export interface CounterWriter {
  drop(reason: DropReason): void;
  info(name: InfoCounter): void;
  /** One packet of `bytes` (the cleartext packet length) on SA slot `slot`. */
  sa(slot: number, bytes: number): void;
}

export function createCounterWriter(sab: SharedArrayBuffer, role: Role): CounterWriter {
  const v = new Float64Array(sab);
  const dropBase = role === "outbound" ? 0 : R;
  const dropIndex = new Map(DROP_REASONS.map((r, i) => [r, dropBase + i]));
  const infoIndex = new Map(INFO_COUNTERS.map((n, i) => [n, 2 * R + i]));
  const bytesTotal = infoIndex.get(role === "outbound" ? "sa_bytes_out" : "sa_bytes_in") as number;
  return {
    drop(reason) {
      const i = dropIndex.get(reason) as number;
      v[i] = (v[i] as number) + 1;
    },
    info(name) {
      const i = infoIndex.get(name) as number;
      v[i] = (v[i] as number) + 1;
    },
    sa(slot, bytes) {
      const i = SA_BASE + 2 * slot;
      v[i] = (v[i] as number) + 1;
      v[i + 1] = (v[i + 1] as number) + bytes;
      v[bytesTotal] = (v[bytesTotal] as number) + bytes;
    },
  };
}

export interface CounterSnapshot {
  drops: Record<Role, Record<DropReason, number>>;
  info: Record<InfoCounter, number>;
}

export function readCounters(sab: SharedArrayBuffer): CounterSnapshot {
  const v = new Float64Array(sab);
  const drops = (base: number) =>
    Object.fromEntries(DROP_REASONS.map((r, i) => [r, v[base + i] as number])) as Record<
      DropReason,
      number
    >;
  return {
    drops: { outbound: drops(0), inbound: drops(R) },
    info: Object.fromEntries(INFO_COUNTERS.map((n, i) => [n, v[2 * R + i] as number])) as Record<
      InfoCounter,
      number
    >,
  };
}

export function readSaCounters(
  sab: SharedArrayBuffer,
  slot: number,
): { packets: number; bytes: number } {
  const v = new Float64Array(sab);
  return { packets: v[SA_BASE + 2 * slot] as number, bytes: v[SA_BASE + 2 * slot + 1] as number };
}

/** Zeroes an SA slot before it is reused. */
export function clearSaCounters(sab: SharedArrayBuffer, slot: number): void {
  const v = new Float64Array(sab);
  v[SA_BASE + 2 * slot] = 0;
  v[SA_BASE + 2 * slot + 1] = 0;
}
