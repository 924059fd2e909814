/**
 * Ticket times and the flags that follow from them (RFC 4120 §3.1.3, §3.3.3): endtime is
 * the least of the request's till, now + max_life and (TGS) the TGT's endtime; a renewable
 * ticket's renew-till the least of rtime, now + max_renewable_life and the TGT's renew-till.
 * A till or rtime of 19700101000000Z means "as long as allowed".
 */
import { KDC_OPTIONS, type KdcReqBody } from "../messages/index.js";
import { hasFlag } from "../messages/index.js";
import type { ResolvedKdcConfig } from "./config.js";
import { kdcError } from "./errors.js";

export interface IssuedTimes {
  authtime: Date;
  starttime: Date;
  endtime: Date;
  renewTill?: Date;
}

export interface TimeCap {
  endMs: number;
  /** Undefined: the parent ticket is not renewable, so neither is the new one. */
  renewTillMs?: number;
}

const asLimit = (d: Date | undefined) =>
  d === undefined || d.getTime() === 0 ? Number.POSITIVE_INFINITY : d.getTime();

/** Whole seconds: KerberosTime has no fraction. */
export const seconds = (ms: number) => Math.floor(ms / 1000) * 1000;

export function issueTimes(
  body: KdcReqBody,
  nowMs: number,
  authtimeMs: number,
  cfg: ResolvedKdcConfig,
  cap?: TimeCap,
): IssuedTimes {
  if (hasFlag(body.kdcOptions, KDC_OPTIONS.postdated)) {
    throw kdcError("KDC_ERR_BADOPTION", "postdated tickets are not issued by this KDC");
  }
  const now = seconds(nowMs);
  const till = asLimit(body.till);
  const end = Math.min(till, now + cfg.maxLifeMs, cap?.endMs ?? Number.POSITIVE_INFINITY);
  if (end <= now) throw kdcError("KDC_ERR_NEVER_VALID", "requested end time is in the past");
  const times: IssuedTimes = {
    authtime: new Date(seconds(authtimeMs)),
    starttime: new Date(now),
    endtime: new Date(seconds(end)),
  };
  const wantRenew =
    hasFlag(body.kdcOptions, KDC_OPTIONS.renewable) ||
    (hasFlag(body.kdcOptions, KDC_OPTIONS.renewableOk) && till > end);
  const mayRenew =
    cfg.maxRenewableLifeMs > 0 && (cap === undefined || cap.renewTillMs !== undefined);
  if (wantRenew && mayRenew) {
    const rtime = hasFlag(body.kdcOptions, KDC_OPTIONS.renewable) ? asLimit(body.rtime) : till;
    const renew = Math.min(
      rtime,
      now + cfg.maxRenewableLifeMs,
      cap?.renewTillMs ?? Number.POSITIVE_INFINITY,
    );
    times.renewTill = new Date(seconds(Math.max(renew, end)));
  }
  return times;
}
