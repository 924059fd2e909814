/**
 * The guard on a domain policy change (`domain gpo set`, `netsh ipsec static` on the DC's
 * domain store): refuse a change that breaks an expected access matrix, unless forced.
 *
 *   1. the DC previews the change: its snapshot before, and after the change made in a
 *      transaction it rolls back (dc/expect.ts; nothing is written);
 *   2. every matrix is evaluated on both (evaluate.ts); the cells that held before and
 *      differ after are the ones the change breaks;
 *   3. any, and not forced: refused, one line per cell, the stored state as it was;
 *      else the DC commits the change only if the directory is still at the revision the
 *      preview saw (dc.conflict otherwise: previewed again, at most CONFLICT_RETRIES times).
 */
import type { CliEnv } from "../cmdline/env.js";
import { adminCall } from "../dc/admin/client.js";
import type { ExpectPreview, GuardedOp } from "../dc/expect.js";
import { isPosternError, PosternError } from "../errors.js";
import { cellLine, newlyBroken } from "./evaluate.js";

/** Previews of a change when the directory keeps changing under it (an unrealistic race). */
const CONFLICT_RETRIES = 10;

export async function guardedAdminCall(
  env: CliEnv,
  op: GuardedOp,
  params: Record<string, unknown>,
  force: boolean,
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const preview = (await adminCall(env, "expect.preview", { op, params }))
      .result as ExpectPreview;
    const broken = newlyBroken(preview.before, preview.after);
    const lines = broken.map((c) => `breaks ${cellLine(c)}`);
    if (broken.length > 0 && !force)
      throw new PosternError(
        "policy.expectation",
        `refused: the change breaks ${broken.length} expected access cell${broken.length === 1 ? "" : "s"} (--force or force=yes to make it anyway); nothing changed\n${lines.join("\n")}`,
      );
    for (const l of lines) env.err(`forced: ${l}`);
    try {
      return (
        await adminCall(env, "expect.commit", { op, params, revision: preview.before.revision })
      ).result;
    } catch (e) {
      // the directory changed between preview and commit: preview again. (ipsec.set's own
      // stale revision is the same code; its caller re-reads the store and calls again.)
      if (!isPosternError(e) || e.code !== "dc.conflict" || attempt >= CONFLICT_RETRIES) throw e;
      if (op === "ipsec.set") throw e;
    }
  }
}
