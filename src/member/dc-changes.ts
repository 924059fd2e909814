/**
 * Immediate revocation's watch on postern's DC: POST /v1/changes (src/dc/api/changes.ts),
 * a long poll authenticated as this machine exactly as gpupdate is (Negotiate from the
 * machine's TGT, the DC's AP-REP checked; the join credential when no ticket can be had:
 * join.ts machineRequest). The DC answers within its WAIT_MS (10 s), below the request's
 * 15 s timeout; `signal` (the agent stopping) cuts it short.
 */
import type { CliEnv } from "../cmdline/env.js";
import { apiError } from "./api-client.js";
import type { DirectoryStanding, DirectoryWatch, WatchAnswer } from "./directory-watch.js";
import { machineRequest } from "./join.js";
import type { MachineIdentity } from "./machine-keys.js";

export function createDcWatch(env: CliEnv, id: MachineIdentity): DirectoryWatch {
  // a note per failure would fill the log every few seconds: the agent logs the error
  const quiet: CliEnv = { ...env, err: () => undefined };
  return {
    kind: "postern-dc",
    async wait(cursor, principals, signal): Promise<WatchAnswer> {
      if (signal.aborted) throw new Error("aborted");
      const since = cursor === null ? null : Number(cursor);
      const { r } = await machineRequest(
        quiet,
        id,
        "POST",
        "/v1/changes",
        { since, principals },
        {},
        signal,
      );
      if (r.status !== 200) throw apiError("change subscription refused by the DC", r);
      const seq = r.body.seq;
      if (typeof seq !== "number") throw new Error("the DC's change answer has no sequence");
      const standings = r.body.standings;
      return {
        cursor: String(seq),
        standings: Array.isArray(standings) ? (standings as DirectoryStanding[]) : null,
      };
    },
  };
}
