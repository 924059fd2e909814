/**
 * The agent decides the firewall's current profile as Windows' firewall service does
 * (firewall/profile.ts: domain when a DC of our domain answers, else standard):
 *   start   before the firewall is first loaded, so the first ruleset is the right one;
 *   checks  every `intervalMs`; a failed probe while in the domain profile is tried once
 *           more before switching (one lost SYN does not flip the firewall);
 *   switch  one log line, the decision saved (profile.json), the firewall reloaded: one
 *           nft transaction (kernel.reloadFirewall), the bypass elements kept.
 * `netsh firewall set currentprofile domain|standard` turns the choice off (no probe then);
 * `set currentprofile auto` gives it back at the next check.
 */
import {
  type DcProbe,
  decideProfile,
  loadDecision,
  type ProfileDecision,
  saveDecision,
} from "../firewall/profile.js";
import { loadSettings } from "../firewall/store.js";

export interface ProfileWatchDeps {
  home: string;
  /** The domain this host is a member of; null when it has not joined one. */
  domain: string | null;
  /** Asks the domain's DCs (member/dc-probe.ts); only called with a domain. */
  probe: () => Promise<DcProbe>;
  /** The firewall's chains again from the settings (kernel.reloadFirewall); a line or null. */
  reload: () => Promise<string | null>;
  log: (line: string) => void;
  now: () => number;
  /** Between checks, ms; 0: decided at start only. */
  intervalMs: number;
}

export interface ProfileWatch {
  /** Decides now; at start the caller loads the firewall itself, later a switch reloads it. */
  check(atStart?: boolean): Promise<ProfileDecision | null>;
  start(): void;
  stop(): void;
}

export function createProfileWatch(d: ProfileWatchDeps): ProfileWatch {
  let timer: NodeJS.Timeout | null = null;
  let busy = false;

  const decide = async (wasDomain: boolean): Promise<ProfileDecision> => {
    if (d.domain === null) return decideProfile({ domain: null, probe: null });
    let probe = await d.probe();
    if (!probe.reachable && wasDomain) probe = await d.probe();
    return decideProfile({ domain: d.domain, probe });
  };

  const check = async (atStart = false): Promise<ProfileDecision | null> => {
    let override: string | undefined;
    let before: string;
    try {
      const s = loadSettings(d.home);
      override = s.profileOverride;
      before = s.currentProfile;
    } catch (e) {
      d.log(`firewall profile not decided: ${(e as Error).message}`);
      return null;
    }
    if (override !== undefined) {
      if (atStart)
        d.log(`firewall profile: ${override} (set by netsh firewall set currentprofile)`);
      return null;
    }
    const prev = loadDecision(d.home);
    const next = await decide(before === "domain");
    const switched = next.profile !== before;
    if (switched || prev === null || atStart || prev.reason !== next.reason) {
      const kept = !switched && !atStart && prev !== null && prev.profile === next.profile;
      saveDecision(d.home, {
        ...next,
        since: kept ? prev.since : new Date(d.now()).toISOString(),
      });
    }
    if (atStart) d.log(`firewall profile: ${next.profile} (${next.reason})`);
    else if (switched) {
      d.log(`firewall profile: ${before} -> ${next.profile} (${next.reason})`);
      const line = await d.reload();
      if (line !== null) d.log(line);
    }
    return next;
  };

  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await check();
    } catch (e) {
      d.log(`firewall profile check failed: ${(e as Error).message}`);
    } finally {
      busy = false;
    }
  };

  return {
    check,
    start() {
      if (d.intervalMs <= 0 || timer !== null) return;
      timer = setInterval(() => void tick(), d.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
  };
}
