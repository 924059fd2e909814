/** The real clock for the engine: wall time and timers that do not keep Node alive. */
import type { Clock } from "./types.js";

export function systemClock(): Clock {
  return {
    now: () => Date.now(),
    setTimer(ms, fn) {
      const t = setTimeout(fn, ms);
      t.unref();
      return () => clearTimeout(t);
    },
  };
}
