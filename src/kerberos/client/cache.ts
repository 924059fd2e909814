/**
 * Credentials in an MIT ccache as the client uses them: a new cache after login (with the
 * KDC time offset in header tag 1, as MIT's kdc_timesync keeps it), the TGT of the default
 * principal, and service tickets added or replaced after a TGS exchange.
 */
import { type Ccache, type Credential, isCacheConfigEntry } from "../files/ccache.js";
import { formatPrincipal, type Principal, principalEquals } from "../principal.js";
import { tgsPrincipal } from "./client.js";
import { KerberosClientError } from "./errors.js";

export function newCcache(client: Principal, tgt: Credential, timeOffsetMs: number): Ccache {
  const cc: Ccache = { defaultPrincipal: client, credentials: [tgt] };
  if (timeOffsetMs !== 0) cc.timeOffset = offsetToHeader(timeOffsetMs);
  return cc;
}

export function offsetToHeader(ms: number): { seconds: number; microseconds: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, microseconds: (ms - seconds * 1000) * 1000 };
}

export function offsetFromHeader(cc: Ccache): number {
  return cc.timeOffset
    ? cc.timeOffset.seconds * 1000 + Math.floor(cc.timeOffset.microseconds / 1000)
    : 0;
}

/** The TGT for the cache's default principal in its own realm; refuses an expired one. */
export function findTgt(cc: Ccache, nowMs: number, cacheName: string): Credential {
  const want = tgsPrincipal(cc.defaultPrincipal.realm);
  const tgt = cc.credentials.find(
    (c) =>
      !isCacheConfigEntry(c) &&
      principalEquals(c.server, want) &&
      principalEquals(c.client, cc.defaultPrincipal),
  );
  if (!tgt) {
    throw new KerberosClientError(
      "no-credentials",
      `no ticket-granting ticket for ${formatPrincipal(cc.defaultPrincipal)} in ${cacheName}: run kinit`,
    );
  }
  if (tgt.endtime * 1000 <= nowMs) {
    throw new KerberosClientError(
      "credentials-expired",
      `the ticket-granting ticket in ${cacheName} expired at ${new Date(tgt.endtime * 1000).toISOString()}: run kinit`,
    );
  }
  return tgt;
}

/** A still-valid ticket for `server` already in the cache. */
export function findServiceTicket(
  cc: Ccache,
  server: Principal,
  nowMs: number,
): Credential | undefined {
  return cc.credentials.find(
    (c) =>
      !isCacheConfigEntry(c) &&
      principalEquals(c.server, server) &&
      principalEquals(c.client, cc.defaultPrincipal) &&
      c.endtime * 1000 > nowMs,
  );
}

/** The cache with `cred` added, replacing an older ticket for the same service. */
export function storeCredential(cc: Ccache, cred: Credential): Ccache {
  const credentials = cc.credentials.filter(
    (c) =>
      isCacheConfigEntry(c) ||
      !(principalEquals(c.server, cred.server) && principalEquals(c.client, cred.client)),
  );
  credentials.push(cred);
  return { ...cc, credentials };
}
