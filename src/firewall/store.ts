/**
 * Firewall settings on disk: `<home>/firewall/settings.json`, written with atomic replace.
 * A command validates everything before it saves, so bad input leaves the file unchanged.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { atomicWriteFile } from "../platform/home.js";
import { FirewallError } from "./errors.js";
import { defaultSettings, type FirewallSettings } from "./model.js";
import { loadDecision } from "./profile.js";
import { validateSettings } from "./validate.js";

export function settingsFile(home: string): string {
  return path.join(home, "firewall", "settings.json");
}

/** The default log file when `logging.file` is null. */
export function defaultLogFile(home: string): string {
  return path.join(home, "firewall", "pfirewall.log");
}

/**
 * The settings, with `currentProfile` the agent's decision (profile.ts) unless
 * `set currentprofile` overrode it; the stored value when no agent has decided yet.
 */
export function loadSettings(home: string): FirewallSettings {
  const s = loadStored(home);
  if (s.profileOverride !== undefined) return { ...s, currentProfile: s.profileOverride };
  const decided = loadDecision(home);
  return decided === null ? s : { ...s, currentProfile: decided.profile };
}

function loadStored(home: string): FirewallSettings {
  const file = settingsFile(home);
  if (!fs.existsSync(file)) return defaultSettings();
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new FirewallError("bad-settings", `${file}: not JSON (${(e as Error).message})`);
  }
  return validateSettings(parsed, file);
}

export function saveSettings(home: string, settings: FirewallSettings): void {
  validateSettings(settings, "settings");
  atomicWriteFile(settingsFile(home), `${JSON.stringify(settings, null, 2)}\n`, 0o644);
}
