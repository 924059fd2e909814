/**
 * The last bound on `postern ike initiate --once --timeout`: a worker thread that kills the
 * process (SIGKILL to itself) if it is still running `graceMs` after the deadline, whatever
 * the main thread is doing, even stuck in a loop that never lets a timer fire. The normal
 * paths (child SA up, IKE SA failed, the --timeout timer) disarm it first; it exists so that
 * a CI run can never wait on a hung peer process (docs/ike.md "Timeouts").
 */
import { Worker } from "node:worker_threads";

export interface Watchdog {
  disarm(): void;
}

const SOURCE = `
const { workerData } = require("node:worker_threads");
const flag = new Int32Array(workerData.flag);
if (Atomics.wait(flag, 0, 0, workerData.ms) === "timed-out") {
  process.stderr.write("ike: still running " + workerData.ms + " ms after start: killed by the watchdog\\n");
  process.kill(process.pid, "SIGKILL");
}
`;

/** Arms a watchdog that kills this process after `ms` unless disarmed. */
export function startWatchdog(ms: number): Watchdog {
  const flag = new SharedArrayBuffer(4);
  // execArgv []: the eval source is CommonJS even when the parent runs with --input-type=module.
  const worker = new Worker(SOURCE, { eval: true, execArgv: [], workerData: { flag, ms } });
  worker.unref();
  worker.on("error", () => undefined);
  return {
    disarm() {
      Atomics.store(new Int32Array(flag), 0, 1);
      Atomics.notify(new Int32Array(flag), 0);
    },
  };
}
