/**
 * Smoke mode: `--smoke` on a bench's command line runs it at the smallest sizes, in seconds,
 * so `npm test` (test/bench/smoke.test.ts) runs every bench and a bench that no longer runs
 * is noticed the day it breaks. Figures printed in smoke mode mean nothing.
 */
export const SMOKE = process.argv.includes("--smoke");

/** `full` normally, `small` in smoke mode. */
export function sized<T>(full: T, small: T): T {
  return SMOKE ? small : full;
}
