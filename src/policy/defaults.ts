/**
 * Defaults for every field, as Windows Server 2003's `netsh ipsec static` has them, and
 * GUIDs. Security methods default to the modern set of secmethods.ts (2003's own defaults
 * were 3DES/SHA1 offers; see docs/ipsec-policy.md).
 *
 * | object       | field               | default                      |
 * |--------------|---------------------|------------------------------|
 * | policy       | mmpfs               | no                           |
 * | policy       | qmpermm             | 0 (unlimited; 1 if mmpfs)    |
 * | policy       | mmlifetime          | 480 minutes                  |
 * | policy       | activatedefaultrule | yes                          |
 * | policy       | pollinginterval     | 180 minutes                  |
 * | policy       | assign              | no                           |
 * | filter       | protocol            | ANY                          |
 * | filter       | mirrored            | yes                          |
 * | filter       | srcmask, dstmask    | 255.255.255.255 (host)       |
 * | filter       | srcport, dstport    | 0 (any)                      |
 * | filteraction | qmpfs, inpass, soft | no                           |
 * | filteraction | action              | negotiate                    |
 * | rule         | tunnel              | none (transport mode)        |
 * | rule         | conntype            | all                          |
 * | rule         | activate            | yes                          |
 * | rule, defaultrule | auth           | kerberos                     |
 */
import type { AuthMethod, DefaultRule, Guid } from "./model.js";
import { defaultQmSecMethods } from "./secmethods.js";

export const POLICY_DEFAULTS = {
  mmPfs: false,
  qmPerMm: 0,
  mmLifetimeMin: 480,
  activateDefaultRule: true,
  pollingIntervalMin: 180,
  assigned: false,
} as const;

/** Spec bounds for the numeric policy fields (minutes / counts). */
export const POLICY_LIMITS = {
  qmPerMm: [0, 2147483647],
  mmLifetimeMin: [1, 71582788],
  pollingIntervalMin: [1, 71582788],
} as const;

export const FILTER_DEFAULTS = {
  protocol: 0,
  mirrored: true,
  srcPort: 0,
  dstPort: 0,
} as const;

export const FILTER_ACTION_DEFAULTS = {
  qmPfs: false,
  inpass: false,
  soft: false,
  action: "negotiate",
} as const;

export const RULE_DEFAULTS = {
  tunnel: null,
  connType: "all",
  active: true,
} as const;

export function defaultAuth(): AuthMethod[] {
  return [{ kind: "kerberos" }];
}

export function defaultDefaultRule(): DefaultRule {
  return { active: true, qmPfs: false, qmSecMethods: defaultQmSecMethods(), auth: defaultAuth() };
}

/** A random (version 4) GUID, lower case, no braces: 8-4-4-4-12. */
export function newGuid(random: (n: number) => Uint8Array): Guid {
  const b = Uint8Array.from(random(16));
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const GUID_RE = /^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i;

/** A GUID as the user typed it (`{...}`, any case) in stored form, or null. */
export function parseGuid(text: string): Guid | null {
  const m = GUID_RE.exec(text.trim());
  return m ? (m[1] as string).toLowerCase() : null;
}

export function isGuid(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text);
}

/** As Windows prints a GUID: `{72385230-70FA-11D1-864C-14A300000000}`. */
export function formatGuid(g: Guid): string {
  return `{${g.toUpperCase()}}`;
}
