/**
 * Immediate revocation (issue 16; `postern agent --revocation immediate`, off by default).
 * In the article a computer's groups travel in its ticket's PAC: removed from the bypass
 * group, disabled, or with its keys reset, it keeps bypassing the firewall until its
 * ticket is renewed (a reboot, or `klist purge`). In immediate mode the agent also watches
 * the directory (member/directory-watch.ts: a long poll on postern's DC, uSNChanged polling
 * on AD) and, on a change:
 *   1. asks where the principals of the admitted IKE SAs (and of those it refused lately)
 *      stand now: account there and enabled, keys not reset since the ticket's authtime,
 *      its SID or a group's (nested) on the bypass list;
 *   2. each admitted SA whose principal no longer passes is revoked: its record leaves
 *      the bypass set (nft) and the IKE SA is deleted (IKE DELETE, its child SAs with it);
 *   3. the standing is kept, so the peer's next IKE SA, with the same cached ticket and
 *      its stale PAC, is refused at once (`refusal`); once the directory lets it in again
 *      (re-added, re-enabled, a ticket issued after the reset), the next SA is admitted.
 * A principal admitted for the first time is asked about at once (a second, short
 * question), so an agent that restarts learns of revocations made while it was down.
 * The watch is bounded: MAX_WATCHED principals, one long poll and one probe at a time,
 * reconnects with exponential backoff (BACKOFF_MIN_MS .. BACKOFF_MAX_MS), errors logged
 * once until the watch works again.
 */
import { bypassAuthorization } from "../firewall/authorize.js";
import type { FirewallSettings } from "../firewall/model.js";
import type { Clock } from "../ike/types.js";
import {
  type DirectoryStanding,
  type DirectoryWatch,
  MAX_WATCHED,
} from "../member/directory-watch.js";
import type { LogLevel } from "../platform/log.js";

export type RevocationMode = "off" | "immediate";
export const REVOCATION_MODES: readonly RevocationMode[] = ["off", "immediate"];

export const BACKOFF_MIN_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;

export type Verdict = { ok: true } | { ok: false; why: string };

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** Whether `s` still admits a peer whose ticket was first issued at `authTime`. */
export function standingVerdict(
  s: DirectoryStanding,
  settings: FirewallSettings | null,
  authTime: string | undefined,
): Verdict {
  const p = s.principal;
  if (!s.exists) return { ok: false, why: `${p} is no longer in the directory` };
  if (!s.enabled) return { ok: false, why: `${p} is disabled in the directory` };
  // Kerberos times are whole seconds: a ticket of the reset's second counts as older.
  if (s.keySetAt !== null && authTime !== undefined && seconds(authTime) <= seconds(s.keySetAt))
    return {
      ok: false,
      why: `${p}'s keys were reset at ${s.keySetAt}, after its ticket was issued (${authTime})`,
    };
  if (settings === null || settings.bypass.length === 0) return { ok: true };
  if (bypassAuthorization(settings, s.sids) === null)
    return { ok: false, why: `${p} is in no group of the bypass list any more (directory of now)` };
  return { ok: true };
}

export interface RevocationDeps {
  watch: DirectoryWatch;
  settings: () => FirewallSettings | null;
  /** Takes the SA out of the bypass (set) and deletes it (IKE DELETE). */
  revoke: (spis: string, why: string) => Promise<void>;
  clock: Clock;
  log: (line: string, level?: LogLevel) => void;
}

export interface RevocationStats {
  /** Answers that carried a change. */
  changes: number;
  revoked: number;
  errors: number;
  watched: number;
}

export interface Revocation {
  start(): void;
  stop(): void;
  /** An admitted IKE SA to keep checking. */
  track(spis: string, principal: string, authTime: string | undefined): void;
  untrack(spis: string): void;
  /** At an SA's establishment: why the directory of now refuses it, or null. */
  refusal(principal: string, authTime: string | undefined): string | null;
  stats(): RevocationStats;
}

export function createRevocation(deps: RevocationDeps): Revocation {
  const tracked = new Map<string, { principal: string; authTime: string | undefined }>();
  /** Standings last heard, oldest first (bounded). */
  const known = new Map<string, DirectoryStanding>();
  const stats = { changes: 0, revoked: 0, errors: 0 };
  let stopped = true;
  let cancelSleep: () => void = () => undefined;
  let wake: () => void = () => undefined;
  let probing = false;
  let lastError = "";
  const abort = new AbortController();

  const watched = (): string[] => {
    const mine = new Set([...tracked.values()].map((t) => t.principal));
    for (const p of known.keys()) mine.add(p);
    return [...mine].slice(0, MAX_WATCHED);
  };

  const remember = (s: DirectoryStanding) => {
    known.delete(s.principal);
    known.set(s.principal, s);
    const inUse = new Set([...tracked.values()].map((t) => t.principal));
    for (const p of known.keys()) {
      if (known.size <= MAX_WATCHED) break;
      if (!inUse.has(p)) known.delete(p);
    }
  };

  const apply = async (standings: readonly DirectoryStanding[]) => {
    for (const s of standings) remember(s);
    const settings = safeSettings(deps);
    for (const [spis, t] of [...tracked]) {
      const s = known.get(t.principal);
      if (s === undefined) continue;
      const v = standingVerdict(s, settings, t.authTime);
      if (v.ok) continue;
      tracked.delete(spis);
      stats.revoked++;
      deps.log(`revocation: ${t.principal} (IKE SA ${spis}) revoked: ${v.why}`, "notice");
      try {
        await deps.revoke(spis, v.why);
      } catch (e) {
        deps.log(`revocation: IKE SA ${spis} not revoked: ${(e as Error).message}`, "error");
      }
    }
  };

  const failed = (e: Error) => {
    stats.errors++;
    if (e.message === lastError) return;
    lastError = e.message;
    deps.log(`revocation: the ${deps.watch.kind} watch failed: ${e.message}; retrying`, "warning");
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      cancelSleep = deps.clock.setTimer(ms, resolve);
      wake = resolve;
    });

  const loop = async () => {
    let cursor: string | null = null;
    let backoff = BACKOFF_MIN_MS;
    while (!stopped) {
      try {
        const asked = watched();
        const a = await deps.watch.wait(cursor, asked, abort.signal);
        if (stopped) return;
        if (lastError !== "") deps.log(`revocation: the ${deps.watch.kind} watch works again`);
        lastError = "";
        backoff = BACKOFF_MIN_MS;
        if (a.standings !== null && cursor !== null) stats.changes++;
        cursor = a.cursor;
        if (a.standings === null) continue;
        await apply(a.standings);
        // principals admitted while the poll waited were not in its question: ask now
        const missed = watched().filter((p) => !asked.includes(p));
        if (missed.length === 0) continue;
        const m = await deps.watch.wait(null, missed, abort.signal);
        if (m.standings !== null && !stopped) await apply(m.standings);
      } catch (e) {
        if (stopped) return;
        failed(e as Error);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  };

  /** A principal not heard of yet: ask now, beside the long poll. */
  const probe = () => {
    if (probing || stopped) return;
    const fresh = [...new Set([...tracked.values()].map((t) => t.principal))].filter(
      (p) => !known.has(p),
    );
    if (fresh.length === 0) return;
    probing = true;
    deps.watch
      .wait(null, fresh.slice(0, MAX_WATCHED), abort.signal)
      .then((a) => (a.standings === null || stopped ? undefined : apply(a.standings)))
      .catch((e: Error) => (stopped ? undefined : failed(e)))
      .finally(() => {
        probing = false;
        probe();
      });
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      deps.log(`revocation: immediate, watching the directory (${deps.watch.kind})`);
      void loop();
    },
    stop() {
      stopped = true;
      abort.abort();
      cancelSleep();
      wake();
    },
    track(spis, principal, authTime) {
      tracked.set(spis, { principal, authTime });
      probe();
    },
    untrack: (spis) => {
      tracked.delete(spis);
    },
    refusal(principal, authTime) {
      const s = known.get(principal);
      if (s === undefined) return null;
      const v = standingVerdict(s, safeSettings(deps), authTime);
      return v.ok ? null : v.why;
    },
    stats: () => ({ ...stats, watched: watched().length }),
  };
}

function safeSettings(deps: RevocationDeps): FirewallSettings | null {
  try {
    return deps.settings();
  } catch {
    return null;
  }
}
