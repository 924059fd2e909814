/**
 * The IPsec service's configuration, `netsh ipsec dynamic set config property=P value=N`
 * (Windows Server 2003 kept it in the registry, so it survives restarts). postern keeps it
 * in `<home>/ipsec/dynamic-config.json`; the agent reads it at start and again when netsh
 * asks it to (control command `config`). A missing file is Windows' defaults.
 *
 * Each property's range is Windows'; what postern does with it (docs/cli.md):
 *   ikelogging        0-1       1: the agent logs every IKE message it sends and receives
 *   strongcrlcheck    0-2       stored and shown; postern checks no CRL (no effect)
 *   ipsecloginterval  60-86400  stored and shown; the agent's drop summary stays 10 s
 *   ipsecexempt       0-3       only 3: IKE alone is exempt (postern's steering, 2003's default)
 *   ipsecdiagnostics  0-7       only 0: there are no per-packet driver events to enable
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PosternError, UsageError } from "../errors.js";
import { atomicWriteFile } from "../platform/home.js";

/** The agent's control reply `config` has this shape (control/protocol.ts IpsecConfigView). */
export interface IpsecConfig {
  ipsecdiagnostics: number;
  ikelogging: number;
  strongcrlcheck: number;
  ipsecloginterval: number;
  ipsecexempt: number;
}
export type IpsecConfigProperty = keyof IpsecConfig;

interface PropertySpec {
  min: number;
  max: number;
  /** Values postern does something with; others are refused with `why`. */
  supported?: readonly number[];
  why?: string;
}

export const CONFIG_PROPERTIES: Record<IpsecConfigProperty, PropertySpec> = {
  ipsecdiagnostics: {
    min: 0,
    max: 7,
    supported: [0],
    why: "postern's data path writes no per-packet IPsec driver events; the agent logs a summary of dropped packets by reason every 10 s whatever this value",
  },
  ikelogging: { min: 0, max: 1 },
  strongcrlcheck: { min: 0, max: 2 },
  ipsecloginterval: { min: 60, max: 86400 },
  ipsecexempt: {
    min: 0,
    max: 3,
    supported: [3],
    why: "postern exempts IKE alone (UDP 500) from IPsec, Windows Server 2003's default (3); Kerberos, RSVP, multicast and broadcast follow the policy's filters",
  },
};

/** Windows Server 2003's defaults. */
export const DEFAULT_IPSEC_CONFIG: IpsecConfig = {
  ipsecdiagnostics: 0,
  ikelogging: 0,
  strongcrlcheck: 1,
  ipsecloginterval: 3600,
  ipsecexempt: 3,
};

/** Properties of 2003's `set config` postern does not take, and why. */
const REFUSED: Record<string, string> = {
  bootmode:
    "postern has no boot-time driver mode: until the agent runs, traffic is not filtered by IPsec (the persistent store is applied when it starts)",
  bootexemptions: "postern has no boot-time driver mode, so no boot exemptions",
};

export function ipsecConfigPath(home: string): string {
  return path.join(home, "ipsec", "dynamic-config.json");
}

/** The property named by `property=` (exact, case-insensitive), or a one-line error. */
export function parseConfigProperty(text: string): IpsecConfigProperty {
  const p = text.toLowerCase();
  if (p in CONFIG_PROPERTIES) return p as IpsecConfigProperty;
  const refused = REFUSED[p];
  if (refused !== undefined) throw new UsageError(`set config: property ${p}: ${refused}`);
  throw new UsageError(
    `set config: property '${text}' is not one of ${Object.keys(CONFIG_PROPERTIES).join("|")}`,
  );
}

/** `value=` for `property`: an integer in Windows' range that postern supports. */
export function parseConfigValue(property: IpsecConfigProperty, text: string): number {
  const spec = CONFIG_PROPERTIES[property];
  const n = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= spec.min && n <= spec.max))
    throw new UsageError(
      `set config: ${property} takes an integer ${spec.min}-${spec.max}, not '${text}'`,
    );
  if (spec.supported !== undefined && !spec.supported.includes(n))
    throw new UsageError(
      `set config: ${property}=${n} is not supported (only ${spec.supported.join(", ")}): ${spec.why}`,
    );
  return n;
}

export function loadIpsecConfig(home: string): IpsecConfig {
  const file = ipsecConfigPath(home);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { ...DEFAULT_IPSEC_CONFIG };
    throw new PosternError("store", `cannot read ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new PosternError("store", `${file}: not valid JSON`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new PosternError("store", `${file}: not a JSON object`);
  const out = { ...DEFAULT_IPSEC_CONFIG };
  for (const [k, spec] of Object.entries(CONFIG_PROPERTIES)) {
    const v = (doc as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < spec.min || v > spec.max)
      throw new PosternError("store", `${file}: ${k}: expected an integer ${spec.min}-${spec.max}`);
    out[k as IpsecConfigProperty] = v;
  }
  return out;
}

export function saveIpsecConfig(home: string, c: IpsecConfig): void {
  atomicWriteFile(ipsecConfigPath(home), `${JSON.stringify(c, null, 2)}\n`, 0o644);
}
