/**
 * The plots' data: every SAMPLE_MS the console asks the agent for its `stats` and keeps
 * the cumulative counters in a ring of RING_SIZE samples (10 minutes at 2 s); a plot's
 * points are the rates between consecutive samples. Only what the console saw while it
 * ran: no history before it started.
 */
import type { StatsReply } from "../control/protocol.js";

export const SAMPLE_MS = 2000;
export const RING_SIZE = 300;

export interface Sample {
  /** ms since the epoch */
  t: number;
  bytesIn: number;
  bytesOut: number;
  /** The data path's drops (both directions, every reason) and IKE's. */
  drops: number;
}

export interface Rate {
  t: number;
  inBps: number;
  outBps: number;
  dropsPerSec: number;
}

export class Ring<T> {
  readonly #items: T[] = [];
  constructor(readonly capacity: number) {}
  push(x: T): void {
    this.#items.push(x);
    if (this.#items.length > this.capacity) this.#items.shift();
  }
  items(): readonly T[] {
    return this.#items;
  }
}

const sum = (r: Record<string, number> | undefined) =>
  Object.values(r ?? {}).reduce((a, b) => a + b, 0);

export function sampleOf(s: StatsReply, t: number): Sample {
  let bytesIn = 0;
  let bytesOut = 0;
  for (const sa of s.sas) {
    if (sa.direction === "in") bytesIn += sa.bytes;
    else bytesOut += sa.bytes;
  }
  return {
    t,
    bytesIn,
    bytesOut,
    drops: sum(s.drops.inbound) + sum(s.drops.outbound) + sum(s.ike?.drops),
  };
}

/**
 * Rates between consecutive samples. A counter that went down (its SA was deleted and its
 * bytes went with it, or the agent restarted) counts as 0, not as a negative rate.
 */
export function rates(samples: readonly Sample[]): Rate[] {
  const out: Rate[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as Sample;
    const b = samples[i] as Sample;
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0) continue;
    const per = (x: number, y: number) => Math.max(0, y - x) / dt;
    out.push({
      t: b.t,
      inBps: per(a.bytesIn, b.bytesIn),
      outBps: per(a.bytesOut, b.bytesOut),
      dropsPerSec: per(a.drops, b.drops),
    });
  }
  return out;
}
