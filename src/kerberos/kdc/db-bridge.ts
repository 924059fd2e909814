/**
 * The principal database seen from a KDC worker thread: every `lookup` is answered by the
 * main thread's database (the DC's directory, or the runner's in-memory one), at the time
 * of the request, so a worker sees group, key and account changes exactly when the
 * in-thread KDC would (no copy, no cache).
 *
 *   worker                                   main thread
 *   flag = 0; port.postMessage({name,realm}) ─▶ entry = database.lookup(name, realm)
 *   Atomics.wait(flag, 0)                    ◀─ port.postMessage({entry}); flag = 1; notify
 *   receiveMessageOnPort(port)
 *
 * The wait is bounded (`timeoutMs`): a main thread that does not answer makes the lookup
 * throw, which the core answers as an internal error (KRB_ERR_GENERIC), never a hang.
 */
import { type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import type { PrincipalDatabase, PrincipalEntry } from "./database.js";

interface LookupRequest {
  name: string;
  realm: string;
}

interface LookupAnswer {
  entry?: PrincipalEntry | null;
  error?: string;
}

/** Main side: answers the lookups a worker sends on `port`, waking it through `flag`. */
export function serveDatabase(
  database: PrincipalDatabase,
  port: MessagePort,
  flag: Int32Array,
): void {
  port.on("message", (q: LookupRequest) => {
    let a: LookupAnswer;
    try {
      a = { entry: database.lookup(q.name, q.realm) };
    } catch (e) {
      a = { error: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(a);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
}

/** Worker side: a synchronous PrincipalDatabase over `port` (see the diagram above). */
export function databaseClient(
  port: MessagePort,
  flag: Int32Array,
  timeoutMs = 5000,
): PrincipalDatabase {
  return {
    lookup(name, realm) {
      Atomics.store(flag, 0, 0);
      port.postMessage({ name, realm } satisfies LookupRequest);
      if (Atomics.wait(flag, 0, 0, timeoutMs) === "timed-out")
        throw new Error(`principal database did not answer within ${timeoutMs} ms`);
      let got = receiveMessageOnPort(port);
      for (let i = 0; got === undefined && i < 100; i++) {
        Atomics.wait(flag, 0, 1, 1); // the answer is posted before the flag is set
        got = receiveMessageOnPort(port);
      }
      if (got === undefined) throw new Error("principal database answer lost");
      const a = got.message as LookupAnswer;
      if (a.error !== undefined) throw new Error(`principal database: ${a.error}`);
      return a.entry ?? null;
    },
  };
}
