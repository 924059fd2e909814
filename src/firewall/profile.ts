/**
 * Which profile is current, decided as Windows XP SP2 / Server 2003 SP1 decides it: the
 * domain profile when the host is a member of a domain and a domain controller of that
 * domain answers, the standard profile otherwise (Windows Firewall's "domain profile
 * determination"). The agent gathers the facts (member.ts of the agent, a probe of the
 * domain's KDCs) and records its decision in `<home>/firewall/profile.json`; every reader
 * of the settings (netsh, the agent's applier, explain, the console) sees the decided
 * profile as `currentProfile` (store.ts), so no two places can disagree about it.
 * `netsh firewall set currentprofile domain|standard` (a postern extension) overrides the
 * decision until `set currentprofile auto`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { atomicWriteFile } from "../platform/home.js";
import { FirewallError } from "./errors.js";
import { type FirewallSettings, PROFILES, type ProfileName } from "./model.js";

/** What a probe of the domain's DCs found. */
export type DcProbe = { reachable: true; dc: string } | { reachable: false; why: string };

export interface ProfileFacts {
  /** The domain this host is a member of (machine.json), null when it is not a member. */
  domain: string | null;
  /** The probe of that domain's DCs; null when not probed (no domain). */
  probe: DcProbe | null;
}

export interface ProfileDecision {
  profile: ProfileName;
  /** One line: why this profile (shown by `netsh firewall show currentprofile|state`). */
  reason: string;
}

/** The pure decision (see the header). */
export function decideProfile(f: ProfileFacts): ProfileDecision {
  if (f.domain === null) return { profile: "standard", reason: "not a domain member" };
  if (f.probe?.reachable === true)
    return {
      profile: "domain",
      reason: `member of ${f.domain}, and its domain controller ${f.probe.dc} answered`,
    };
  const why = f.probe === null ? "not probed" : f.probe.why;
  return {
    profile: "standard",
    reason: `member of ${f.domain}, but no domain controller of it answered (${why})`,
  };
}

/** The agent's last decision, as stored. */
export interface StoredDecision extends ProfileDecision {
  /** When it was decided (ISO 8601). */
  since: string;
}

export function profileFile(home: string): string {
  return path.join(home, "firewall", "profile.json");
}

/** The agent's last decision, or null when no agent has decided on this home. */
export function loadDecision(home: string): StoredDecision | null {
  const file = profileFile(home);
  if (!fs.existsSync(file)) return null;
  let d: Partial<StoredDecision>;
  try {
    d = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<StoredDecision>;
  } catch (e) {
    throw new FirewallError("bad-settings", `${file}: not JSON (${(e as Error).message})`);
  }
  if (
    d === null ||
    !PROFILES.includes(d.profile as ProfileName) ||
    typeof d.reason !== "string" ||
    typeof d.since !== "string"
  )
    throw new FirewallError("bad-settings", `${file}: expected {profile, reason, since}`);
  return { profile: d.profile as ProfileName, reason: d.reason, since: d.since };
}

export function saveDecision(home: string, d: StoredDecision): void {
  atomicWriteFile(profileFile(home), `${JSON.stringify(d, null, 2)}\n`, 0o644);
}

/** Which profile is current and who chose it (`show currentprofile`, `show state`). */
export interface ProfileStatus {
  profile: ProfileName;
  /** manual: `set currentprofile`; automatic: the agent; stored: no agent decided yet. */
  mode: "manual" | "automatic" | "stored";
  reason: string;
  since?: string;
}

export function profileStatus(home: string, s: FirewallSettings): ProfileStatus {
  if (s.profileOverride !== undefined)
    return {
      profile: s.profileOverride,
      mode: "manual",
      reason: "set by netsh firewall set currentprofile (profile=auto gives the choice back)",
    };
  const d = loadDecision(home);
  if (d !== null)
    return { profile: d.profile, mode: "automatic", reason: d.reason, since: d.since };
  return {
    profile: s.currentProfile,
    mode: "stored",
    reason: "no agent has decided on this host yet (the stored setting)",
  };
}
