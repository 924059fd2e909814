/**
 * Windows Firewall settings of Windows XP SP2 / Server 2003 SP1 as a GPO's Registry.pol holds
 * them (WindowsFirewall.adm), mapped to and from postern's firewall model:
 *
 *   SOFTWARE\Policies\Microsoft\WindowsFirewall\{DomainProfile|StandardProfile}
 *     EnableFirewall, DoNotAllowExceptions                       REG_DWORD 0/1
 *     GloballyOpenPorts  Enabled                                 REG_DWORD 1
 *     GloballyOpenPorts\List  "445:TCP" = "445:TCP:scope:enabled|disabled:name"  REG_SZ
 *     IcmpSettings  AllowInboundEchoRequest ...                  REG_DWORD 0/1
 *     Logging  LogFilePath (REG_SZ), LogFileSize, LogDroppedPackets, LogSuccessfulConnections
 *   SOFTWARE\Policies\Microsoft\Windows\IPSec\ICFv4  BypassFirewall   REG_SZ SDDL
 *
 * A GPO sets only what it configures: every field of FirewallPolicy is optional, and
 * mergeFirewall (firewall/gpo-layer.ts) lets each configured value win over the local one,
 * leaving the rest local (Windows' rule: domain policy over local where both set a value). Logging is one set in
 * postern's model; the domain profile's logging is read first, then the standard one's.
 * Values named `**...` (Registry.pol deletion instructions) configure nothing.
 */
import type { FirewallPolicy } from "../firewall/gpo-layer.js";
import type {
  IcmpSettingType,
  LoggingSettings,
  PortOpening,
  ProfileName,
} from "../firewall/model.js";
import { formatBypassSddl, parseBypassSddl } from "../firewall/sddl.js";
import {
  dwordData,
  type PolRecord,
  REG,
  RegistryPolError,
  recordValue,
  szData,
} from "./registrypol.js";

export const FIREWALL_KEY = "SOFTWARE\\Policies\\Microsoft\\WindowsFirewall";
export const BYPASS_KEY = "SOFTWARE\\Policies\\Microsoft\\Windows\\IPSec\\ICFv4";
const PROFILE_KEY: Record<ProfileName, string> = {
  domain: "DomainProfile",
  standard: "StandardProfile",
};

export const ICMP_VALUE: Record<IcmpSettingType, string> = {
  2: "AllowOutboundPacketTooBig",
  3: "AllowOutboundDestinationUnreachable",
  4: "AllowOutboundSourceQuench",
  5: "AllowRedirect",
  8: "AllowInboundEchoRequest",
  9: "AllowInboundRouterRequest",
  11: "AllowOutboundTimeExceeded",
  12: "AllowOutboundParameterProblem",
  13: "AllowInboundTimestampRequest",
  17: "AllowInboundMaskRequest",
};

/** `445:TCP:localsubnet:enabled:File sharing` -> a port opening. */
export function parsePortEntry(text: string): PortOpening {
  const [port, proto, scope, status, ...name] = text.split(":");
  const n = Number(port);
  const p = proto?.toLowerCase();
  if (
    !Number.isInteger(n) ||
    n < 1 ||
    n > 65535 ||
    (p !== "tcp" && p !== "udp") ||
    scope === undefined
  )
    throw new RegistryPolError(
      `GloballyOpenPorts entry '${text}' is not port:TCP|UDP:scope:status:name`,
    );
  if (status !== "enabled" && status !== "disabled")
    throw new RegistryPolError(
      `GloballyOpenPorts entry '${text}': status must be enabled or disabled`,
    );
  const s = scope.trim();
  const base = {
    protocol: p,
    port: n,
    name: name.join(":"),
    enabled: status === "enabled",
  } as const;
  if (s === "*") return { ...base, scope: "all", addresses: [] };
  if (s.toLowerCase() === "localsubnet") return { ...base, scope: "subnet", addresses: [] };
  return {
    ...base,
    scope: "custom",
    addresses: s.split(",").map((a) => (a.toLowerCase() === "localsubnet" ? "LocalSubnet" : a)),
  };
}

export function formatPortEntry(o: PortOpening): string {
  const scope =
    o.scope === "all" ? "*" : o.scope === "subnet" ? "localsubnet" : o.addresses.join(",");
  return `${o.port}:${o.protocol.toUpperCase()}:${scope}:${o.enabled ? "enabled" : "disabled"}:${o.name}`;
}

// The layer's type and merge live with the firewall, which loads them (firewall/gpo-layer.ts).
export { type FirewallPolicy, mergeFirewall, type ProfilePolicy } from "../firewall/gpo-layer.js";

const lower = (s: string) => s.toLowerCase();

/** The firewall settings a GPO's Registry.pol configures. */
export function firewallPolicyFromPol(records: readonly PolRecord[]): FirewallPolicy {
  const out: FirewallPolicy = { profiles: {} };
  const logging: Record<ProfileName, Partial<LoggingSettings>> = { domain: {}, standard: {} };
  for (const r of records) {
    if (r.value.startsWith("**")) continue;
    const key = lower(r.key);
    const v = recordValue(r);
    if (key === lower(BYPASS_KEY) && lower(r.value) === "bypassfirewall") {
      if (typeof v !== "string") throw new RegistryPolError("BypassFirewall is not a REG_SZ");
      out.bypass = parseBypassSddl(v);
      continue;
    }
    for (const profile of ["domain", "standard"] as const) {
      const root = lower(`${FIREWALL_KEY}\\${PROFILE_KEY[profile]}`);
      if (key !== root && !key.startsWith(`${root}\\`)) continue;
      const sub = key.slice(root.length);
      const pp = out.profiles[profile] ?? {};
      out.profiles[profile] = pp;
      const flag = (what: string) => {
        if (typeof v !== "number")
          throw new RegistryPolError(`${r.key}\\${r.value} (${what}) is not a REG_DWORD`);
        return v !== 0;
      };
      const name = lower(r.value);
      if (sub === "" && name === "enablefirewall") pp.enabled = flag("EnableFirewall");
      else if (sub === "" && name === "donotallowexceptions")
        pp.exceptions = !flag("DoNotAllowExceptions");
      else if (sub === "\\globallyopenports\\list") {
        if (typeof v !== "string")
          throw new RegistryPolError(`${r.key}\\${r.value} is not a REG_SZ`);
        pp.portOpenings = [...(pp.portOpenings ?? []), parsePortEntry(v)];
      } else if (sub === "\\globallyopenports" && name === "enabled") {
        if (!flag("GloballyOpenPorts Enabled")) pp.portOpenings = [];
        else pp.portOpenings ??= [];
      } else if (sub === "\\icmpsettings") {
        const t = (Object.keys(ICMP_VALUE) as `${IcmpSettingType}`[]).find(
          (k) => lower(ICMP_VALUE[Number(k) as IcmpSettingType]) === name,
        );
        if (t) pp.icmp = { ...pp.icmp, [t]: flag(r.value) };
      } else if (sub === "\\logging") {
        const l = logging[profile];
        if (name === "logdroppedpackets") l.droppedPackets = flag(r.value);
        else if (name === "logsuccessfulconnections") l.connections = flag(r.value);
        else if (name === "logfilesize" && typeof v === "number")
          l.maxSizeKb = Math.min(32767, Math.max(1, v));
        else if (name === "logfilepath" && typeof v === "string")
          // Windows paths (%windir%\pfirewall.log) mean "the default file" here
          l.file = v.startsWith("/") ? v : null;
      }
    }
  }
  const log = { ...logging.standard, ...logging.domain };
  if (Object.keys(log).length > 0) out.logging = log;
  return out;
}

/** The Registry.pol records that configure `p` (what `netsh firewall ... store=domain` writes). */
export function polFromFirewallPolicy(p: FirewallPolicy): PolRecord[] {
  const out: PolRecord[] = [];
  const dw = (key: string, value: string, v: boolean | number) =>
    out.push({
      key,
      value,
      type: REG.DWORD,
      data: dwordData(typeof v === "boolean" ? (v ? 1 : 0) : v),
    });
  for (const profile of ["domain", "standard"] as const) {
    const pp = p.profiles[profile];
    if (!pp) continue;
    const root = `${FIREWALL_KEY}\\${PROFILE_KEY[profile]}`;
    if (pp.enabled !== undefined) dw(root, "EnableFirewall", pp.enabled);
    if (pp.exceptions !== undefined) dw(root, "DoNotAllowExceptions", !pp.exceptions);
    if (pp.portOpenings !== undefined) {
      dw(`${root}\\GloballyOpenPorts`, "Enabled", true);
      for (const o of pp.portOpenings)
        out.push({
          key: `${root}\\GloballyOpenPorts\\List`,
          value: `${o.port}:${o.protocol.toUpperCase()}`,
          type: REG.SZ,
          data: szData(formatPortEntry(o)),
        });
    }
    for (const [t, on] of Object.entries(pp.icmp ?? {}))
      dw(`${root}\\IcmpSettings`, ICMP_VALUE[Number(t) as IcmpSettingType], on === true);
    if (p.logging) {
      const l = p.logging;
      if (l.file !== undefined && l.file !== null)
        out.push({
          key: `${root}\\Logging`,
          value: "LogFilePath",
          type: REG.SZ,
          data: szData(l.file),
        });
      if (l.maxSizeKb !== undefined) dw(`${root}\\Logging`, "LogFileSize", l.maxSizeKb);
      if (l.droppedPackets !== undefined)
        dw(`${root}\\Logging`, "LogDroppedPackets", l.droppedPackets);
      if (l.connections !== undefined)
        dw(`${root}\\Logging`, "LogSuccessfulConnections", l.connections);
    }
  }
  if (p.bypass !== undefined)
    out.push({
      key: BYPASS_KEY,
      value: "BypassFirewall",
      type: REG.SZ,
      data: szData(formatBypassSddl(p.bypass)),
    });
  return out;
}
