/**
 * The two layers of the firewall settings on an Active Directory member, kept apart as
 * Windows keeps them (local policy in the registry's own keys, Group Policy under
 * SOFTWARE\Policies):
 *   local  `<home>/firewall/settings.json`: what `netsh firewall ...` writes (store.ts);
 *   GPO    `<home>/firewall/gpo.json`: what the applied GPOs configure, merged in the order
 *          they apply (`postern gpupdate` writes it, src/member/ad-gpupdate.ts).
 * What the firewall runs is computed at load: effective = mergeFirewall(local, GPO). A value
 * the GPOs stop configuring therefore returns to the local value at the next gpupdate, and a
 * local edit never bakes a GPO's value into the local layer.
 *
 * A layer (FirewallPolicy) carries only what is configured: every field is optional.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { atomicWriteFile } from "../platform/home.js";
import { FirewallError } from "./errors.js";
import type {
  FirewallSettings,
  IcmpSettingType,
  LoggingSettings,
  PortOpening,
  ProfileName,
  ProfileSettings,
} from "./model.js";
import { profileFile } from "./profile.js";
import { loadSettings, settingsFile } from "./store.js";
import { validateSettings } from "./validate.js";

export interface ProfilePolicy {
  enabled?: boolean;
  exceptions?: boolean;
  portOpenings?: PortOpening[];
  icmp?: ProfileSettings["icmp"];
}

export interface FirewallPolicy {
  profiles: Partial<Record<ProfileName, ProfilePolicy>>;
  logging?: Partial<LoggingSettings>;
  /** SIDs of the "Allow authenticated IPsec bypass" SDDL. */
  bypass?: string[];
}

const PROFILES = ["domain", "standard"] as const;
const portKey = (o: PortOpening) => `${o.protocol}/${o.port}`;

/** Port openings of `under` with those of `over` replacing the same port and protocol. */
function mergePorts(under: PortOpening[], over: PortOpening[]): PortOpening[] {
  const keys = new Set(over.map(portKey));
  return [...under.filter((o) => !keys.has(portKey(o))), ...over];
}

/** Local settings with every value the GPO layer configures taking precedence. */
export function mergeFirewall(local: FirewallSettings, gp: FirewallPolicy): FirewallSettings {
  const out = structuredClone(local);
  for (const profile of PROFILES) {
    const pp = gp.profiles[profile];
    if (!pp) continue;
    const o = out.profiles[profile];
    if (pp.enabled !== undefined) o.enabled = pp.enabled;
    if (pp.exceptions !== undefined) o.exceptions = pp.exceptions;
    if (pp.portOpenings !== undefined) o.portOpenings = mergePorts(o.portOpenings, pp.portOpenings);
    if (pp.icmp) o.icmp = { ...o.icmp, ...pp.icmp };
  }
  if (gp.logging) out.logging = { ...out.logging, ...gp.logging };
  if (gp.bypass !== undefined) out.bypass = gp.bypass.map((sid) => ({ sid }));
  return out;
}

/**
 * Two GPOs' settings as one layer, `over` (applied later) winning each value both configure.
 * The registry extension does the same: a later GPO's value replaces an earlier one's, and
 * values of GloballyOpenPorts\List accumulate by name (port:protocol).
 */
export function overlayPolicy(under: FirewallPolicy, over: FirewallPolicy): FirewallPolicy {
  const out: FirewallPolicy = structuredClone(under);
  for (const profile of PROFILES) {
    const pp = over.profiles[profile];
    if (!pp) continue;
    const o = out.profiles[profile] ?? {};
    out.profiles[profile] = o;
    if (pp.enabled !== undefined) o.enabled = pp.enabled;
    if (pp.exceptions !== undefined) o.exceptions = pp.exceptions;
    if (pp.portOpenings !== undefined)
      o.portOpenings = mergePorts(o.portOpenings ?? [], pp.portOpenings);
    if (pp.icmp) o.icmp = { ...o.icmp, ...pp.icmp };
  }
  if (over.logging) out.logging = { ...out.logging, ...over.logging };
  if (over.bypass !== undefined) out.bypass = [...over.bypass];
  return out;
}

/** One setting a GPO can configure, named as gpresult shows it. */
export interface NamedSetting {
  /** e.g. `domain.enabled`, `standard.portopening.tcp/445`, `domain.icmp.8`, `logging.file`, `bypass`. */
  setting: string;
  value: unknown;
}

/** The settings a layer configures, one per value, in a fixed order. */
export function policySettings(p: FirewallPolicy): NamedSetting[] {
  const out: NamedSetting[] = [];
  for (const profile of PROFILES) {
    const pp = p.profiles[profile];
    if (!pp) continue;
    if (pp.enabled !== undefined) out.push({ setting: `${profile}.enabled`, value: pp.enabled });
    if (pp.exceptions !== undefined)
      out.push({ setting: `${profile}.exceptions`, value: pp.exceptions });
    for (const o of pp.portOpenings ?? [])
      out.push({ setting: `${profile}.portopening.${portKey(o)}`, value: o });
    for (const t of Object.keys(pp.icmp ?? {}).sort((a, b) => Number(a) - Number(b)))
      out.push({ setting: `${profile}.icmp.${t}`, value: pp.icmp?.[t as `${IcmpSettingType}`] });
  }
  for (const k of ["file", "maxSizeKb", "droppedPackets", "connections"] as const)
    if (p.logging?.[k] !== undefined) out.push({ setting: `logging.${k}`, value: p.logging[k] });
  if (p.bypass !== undefined) out.push({ setting: "bypass", value: p.bypass });
  return out;
}

/** The part of full settings a GPO could configure, as a layer (for policySettings). */
export function settingsAsPolicy(s: FirewallSettings): FirewallPolicy {
  const profile = (p: ProfileSettings): ProfilePolicy => ({
    enabled: p.enabled,
    exceptions: p.exceptions,
    portOpenings: p.portOpenings,
    icmp: p.icmp,
  });
  return {
    profiles: { domain: profile(s.profiles.domain), standard: profile(s.profiles.standard) },
    logging: s.logging,
    bypass: s.bypass.map((b) => b.sid),
  };
}

export function gpoLayerFile(home: string): string {
  return path.join(home, "firewall", "gpo.json");
}

/** The GPO layer, or null when no GPO configures a firewall setting. */
export function loadGpoLayer(home: string): FirewallPolicy | null {
  const file = gpoLayerFile(home);
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as FirewallPolicy;
  } catch (e) {
    throw new FirewallError("bad-settings", `${file}: not JSON (${(e as Error).message})`);
  }
}

/** Writes the GPO layer (null: removes it, the local settings apply alone). */
export function saveGpoLayer(home: string, layer: FirewallPolicy | null): void {
  if (layer === null) fs.rmSync(gpoLayerFile(home), { force: true });
  else atomicWriteFile(gpoLayerFile(home), `${JSON.stringify(layer, null, 2)}\n`, 0o644);
}

/** What the firewall runs: the local settings with the GPO layer over them, validated. */
export function loadEffectiveSettings(home: string): FirewallSettings {
  const local = loadSettings(home);
  const layer = loadGpoLayer(home);
  return layer === null
    ? local
    : validateSettings(
        mergeFirewall(local, layer),
        `${gpoLayerFile(home)} over the local settings`,
      );
}

/** The effective settings, or null when neither layer was ever written (nothing to load). */
export function loadEffectiveIfAny(home: string): FirewallSettings | null {
  return fs.existsSync(settingsFile(home)) || fs.existsSync(gpoLayerFile(home))
    ? loadEffectiveSettings(home)
    : null;
}

/**
 * loadEffectiveIfAny for a caller that asks often (the agent, at each IKE SA's bypass
 * decision): the three files (local settings, GPO layer, profile decision) are read again
 * only when one changed. A change is a new inode, size, change or modification time: every
 * writer replaces its file whole (atomicWriteFile: a new inode, never the one it replaces,
 * which is still live when the new one is made). A file changed between the stat and the
 * read is read again at the next call, since its signature then differs from the one kept;
 * a load that throws keeps nothing, so the next call reads again too.
 */
export function watchedEffectiveSettings(home: string): () => FirewallSettings | null {
  const files = [settingsFile(home), gpoLayerFile(home), profileFile(home)];
  let seen: string | null = null;
  let value: FirewallSettings | null = null;
  return () => {
    const now = files.map(signature).join(" ");
    if (now !== seen) {
      value = loadEffectiveIfAny(home);
      seen = now;
    }
    return value;
  };
}

function signature(file: string): string {
  const s = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  return s === undefined ? "-" : `${s.ino}:${s.size}:${s.ctimeNs}:${s.mtimeNs}`;
}
