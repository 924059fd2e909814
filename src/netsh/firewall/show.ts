/**
 * `netsh firewall show state|opmode|config|currentprofile|portopening|service|icmpsetting|
 * notifications|multicastbroadcastresponse|logging|bypass`, in the layout Windows prints,
 * or one JSON document with --json. `state` and `currentprofile` also say who chose the
 * current profile and why (firewall/profile.ts).
 */
import type { CliEnv } from "../../cmdline/env.js";
import { UsageError } from "../../errors.js";
import {
  type FirewallSettings,
  ICMP_SETTINGS,
  ICMP_TYPES,
  PROFILES,
  type ProfileName,
  type ProgramPortMap,
  portText,
  SERVICE_TYPES,
  SERVICES,
  type ServicePort,
} from "../../firewall/model.js";
import { discoverProgramPorts } from "../../firewall/programs.js";
import { netnsOf, type RulesStatus } from "../../firewall/effect.js";
import { formatBypassSddl } from "../../firewall/sddl.js";
import { defaultLogFile } from "../../firewall/store.js";
import { type ProfileStatus, profileStatus } from "../../firewall/profile.js";

const RULE = "-------------------------------------------------------------------";
const em = (b: boolean): string => (b ? "Enable" : "Disable");
const cap = (p: ProfileName): string => (p === "domain" ? "Domain" : "Standard");
const row = (k: string, v: string): string => `${k.padEnd(34)}= ${v}`;

function opmode(s: FirewallSettings, p: ProfileName): string[] {
  const pr = s.profiles[p];
  return [row("Operational mode", em(pr.enabled)), row("Exception mode", em(pr.exceptions))];
}

function ports(s: FirewallSettings, p: ProfileName): string[] {
  const list = s.profiles[p].portOpenings;
  const out = [
    `Port configuration for ${cap(p)} profile:`,
    "Port   Protocol  Mode     Name / Scope",
    RULE,
  ];
  for (const o of list) {
    const scope = scopeText(o);
    out.push(
      `${String(o.port).padEnd(7)}${o.protocol.toUpperCase().padEnd(10)}${em(o.enabled).padEnd(9)}${o.name} / ${scope}`,
    );
  }
  if (list.length === 0) out.push("(none)");
  return out;
}

/** The ports the profile's programs listen on now, in this process's namespace. */
const portsNow = (s: FirewallSettings, p: ProfileName, netns?: string): ProgramPortMap =>
  discoverProgramPorts(
    s.profiles[p].allowedPrograms.map((a) => a.program),
    netns,
  );

const scopeText = (o: { scope: string; addresses: string[] }): string =>
  o.scope === "custom" ? o.addresses.join(",") : o.scope === "subnet" ? "LocalSubnet" : "*";

/** Windows: Mode, Name / Program; postern adds the ports the program listens on now. */
function programs(s: FirewallSettings, p: ProfileName, ports: ProgramPortMap): string[] {
  const list = s.profiles[p].allowedPrograms;
  const out = [
    `Allowed programs configuration for ${cap(p)} profile:`,
    "Mode     Name / Program",
    RULE,
  ];
  for (const a of list) {
    out.push(`${em(a.enabled).padEnd(9)}${a.name} / ${a.program} / ${scopeText(a)}`);
    const found = ports.get(a.program);
    const listed = [
      ...(found?.tcp ?? []).map((x) => `TCP ${x}`),
      ...(found?.udp ?? []).map((x) => `UDP ${x}`),
    ];
    out.push(
      `         listening now: ${listed.length ? listed.join(", ") : "(not running, or no port)"}`,
    );
  }
  if (list.length === 0) out.push("(none)");
  return out;
}

/** Windows: Mode, Customized (a scope other than ALL), Name; each service's ports below. */
function services(s: FirewallSettings, p: ProfileName): string[] {
  const out = [`Service configuration for ${cap(p)} profile:`, "Mode     Customized  Name", RULE];
  for (const t of SERVICE_TYPES) {
    const v = s.profiles[p].services[t];
    const custom = v !== undefined && v.scope !== "all";
    out.push(
      `${em(v?.enabled === true).padEnd(9)}${(custom ? "Yes" : "No").padEnd(12)}${SERVICES[t].name}`,
    );
    for (const port of SERVICES[t].ports as readonly ServicePort[])
      out.push(
        `  ${portText({ port: port.port, lastPort: port.last }).padEnd(5)} ${port.protocol.toUpperCase().padEnd(4)}/ ${v ? scopeText(v) : "*"}`,
      );
  }
  return out;
}

function flag(s: FirewallSettings, p: ProfileName, what: "notifications" | "mbr"): string[] {
  const pr = s.profiles[p];
  return what === "notifications"
    ? [
        `Notification configuration for ${cap(p)} profile:`,
        RULE,
        row("Notification mode", em(pr.notifications)),
      ]
    : [
        `Multicast/broadcast response configuration for ${cap(p)} profile:`,
        RULE,
        row("Multicast/broadcast response mode", em(pr.multicastBroadcastResponse)),
      ];
}

function icmp(s: FirewallSettings, p: ProfileName): string[] {
  const out = [`ICMP configuration for ${cap(p)} profile:`, "Mode     Type  Description", RULE];
  for (const t of ICMP_TYPES) {
    out.push(
      `${em(s.profiles[p].icmp[`${t}`] === true).padEnd(9)}${String(t).padEnd(6)}${ICMP_SETTINGS[t].name}`,
    );
  }
  return out;
}

function logging(s: FirewallSettings, home: string): string[] {
  return [
    "Log configuration:",
    RULE,
    row("File location", s.logging.file ?? defaultLogFile(home)),
    row("Max file size", `${s.logging.maxSizeKb} KB`),
    row("Dropped packets", em(s.logging.droppedPackets)),
    row("Connections", em(s.logging.connections)),
  ];
}

function bypass(s: FirewallSettings): string[] {
  const out = ["Authenticated IPsec bypass (postern extension):", RULE];
  out.push(
    row(
      "SDDL",
      s.bypass.length ? formatBypassSddl(s.bypass.map((b) => b.sid)) : "(not configured)",
    ),
  );
  for (const b of s.bypass) out.push(`  ${b.sid}${b.name ? `  ${b.name}` : ""}`);
  return out;
}

export const SHOW_OBJECTS = [
  "state",
  "opmode",
  "config",
  "currentprofile",
  "portopening",
  "allowedprogram",
  "service",
  "icmpsetting",
  "notifications",
  "multicastbroadcastresponse",
  "logging",
  "bypass",
] as const;

/** Who chose the current profile: `manual: ...`, `automatic (since T): ...`. */
function choice(c: ProfileStatus): string {
  return `${c.mode}${c.since ? ` (since ${c.since})` : ""}: ${c.reason}`;
}

export function showText(
  what: string,
  s: FirewallSettings,
  home: string,
  profile: ProfileName = s.currentProfile,
  netns?: string,
): string[] {
  const cur = profile;
  switch (what) {
    case "state":
      return [
        "Firewall status:",
        RULE,
        row("Profile", cap(cur)),
        ...opmode(s, cur),
        row("Current profile chosen", choice(profileStatus(home, s))),
      ];
    case "opmode":
      return ["Firewall status:", RULE, row("Profile", cap(cur)), ...opmode(s, cur)];
    case "currentprofile":
      return [`${cap(s.currentProfile)} profile is current.`, choice(profileStatus(home, s))];
    case "portopening":
      return ports(s, cur);
    case "allowedprogram":
      return programs(s, cur, portsNow(s, cur, netns));
    case "service":
      return services(s, cur);
    case "notifications":
      return flag(s, cur, "notifications");
    case "multicastbroadcastresponse":
      return flag(s, cur, "mbr");
    case "icmpsetting":
      return icmp(s, cur);
    case "logging":
      return logging(s, home);
    case "bypass":
      return bypass(s);
    case "config": {
      const out: string[] = [];
      for (const p of PROFILES) {
        out.push(
          `${cap(p)} profile configuration${p === cur ? " (current)" : ""}:`,
          RULE,
          ...opmode(s, p),
          "",
        );
        out.push(...ports(s, p), "", ...programs(s, p, portsNow(s, p, netns)), "");
        out.push(...services(s, p), "", ...icmp(s, p), "");
        out.push(...flag(s, p, "notifications"), "", ...flag(s, p, "mbr"), "");
      }
      return [...out, ...logging(s, home), "", ...bypass(s)];
    }
    default:
      throw new UsageError(`show: expected one of ${SHOW_OBJECTS.join("|")}, got '${what}'`);
  }
}

export function showJson(
  what: string,
  s: FirewallSettings,
  home: string,
  profile: ProfileName = s.currentProfile,
  netns?: string,
): unknown {
  const cur = s.profiles[profile];
  const bypassDoc = {
    sddl: s.bypass.length ? formatBypassSddl(s.bypass.map((b) => b.sid)) : null,
    entries: s.bypass,
  };
  switch (what) {
    case "state":
      return {
        profile,
        enabled: cur.enabled,
        exceptions: cur.exceptions,
        currentProfile: profileStatus(home, s),
      };
    case "opmode":
      return { profile, enabled: cur.enabled, exceptions: cur.exceptions };
    case "currentprofile":
      return profileStatus(home, s);
    case "portopening":
      return { profile, portOpenings: cur.portOpenings };
    case "allowedprogram": {
      const now = portsNow(s, profile, netns);
      return {
        profile,
        allowedPrograms: cur.allowedPrograms.map((a) => ({
          ...a,
          listening: now.get(a.program) ?? { tcp: [], udp: [] },
        })),
      };
    }
    case "service":
      return {
        profile,
        services: SERVICE_TYPES.map((t) => ({
          type: t.toUpperCase(),
          name: SERVICES[t].name,
          enabled: cur.services[t]?.enabled === true,
          scope: cur.services[t]?.scope ?? "all",
          addresses: cur.services[t]?.addresses ?? [],
          ports: SERVICES[t].ports,
        })),
      };
    case "notifications":
      return { profile, notifications: cur.notifications };
    case "multicastbroadcastresponse":
      return { profile, multicastBroadcastResponse: cur.multicastBroadcastResponse };
    case "icmpsetting":
      return {
        profile,
        icmp: ICMP_TYPES.map((t) => ({
          type: t,
          name: ICMP_SETTINGS[t].name,
          enabled: cur.icmp[`${t}`] === true,
        })),
      };
    case "logging":
      return { ...s.logging, file: s.logging.file ?? defaultLogFile(home) };
    case "bypass":
      return bypassDoc;
    case "config":
      return {
        ...s,
        logging: { ...s.logging, file: s.logging.file ?? defaultLogFile(home) },
        bypass: bypassDoc,
      };
    default:
      throw new UsageError(`show: expected one of ${SHOW_OBJECTS.join("|")}, got '${what}'`);
  }
}

const STATUS_TEXT: Record<RulesStatus, string> = {
  current: "Yes (table inet postern matches these settings)",
  stale: "Out of date (run as root: postern firewall apply)",
  none: "No (run as root: postern firewall apply)",
  unknown: "Unknown (not root)",
};

/** Prints one show object; `state` also says whether the loaded rules match. */
/** A peer in the loaded bypass set, with what the agent decided (when it runs). */
export interface LiveBypassPeer {
  address: string;
  expiresSec: number | null;
  principal?: string | null;
  why?: string;
}

function liveLines(live: readonly LiveBypassPeer[] | null): string[] {
  if (live === null) return [];
  const out = [
    "",
    "Authenticated IPsec bypass peers (live, bypass set of table inet postern):",
    RULE,
  ];
  if (live.length === 0) out.push("(none)");
  for (const p of live) {
    const exp = p.expiresSec === null ? "no timeout" : `expires in ${p.expiresSec} s`;
    out.push(`${p.address.padEnd(16)} ${exp}${p.why ? `  ${p.why}` : ""}`);
  }
  return out;
}

export function show(
  what: string,
  s: FirewallSettings,
  env: CliEnv,
  opts: { status?: RulesStatus; profile?: ProfileName; live?: LiveBypassPeer[] | null } = {},
): void {
  const { status, profile } = opts;
  const live = opts.live ?? null;
  if (env.json) {
    const doc = showJson(what, s, env.home, profile, netnsOf(env)) as object;
    const extra = {
      ...(status ? { rulesLoaded: status } : {}),
      ...(live !== null ? { bypassPeers: live } : {}),
    };
    env.out(JSON.stringify({ ...doc, ...extra }, null, 2));
    return;
  }
  const lines = showText(what, s, env.home, profile, netnsOf(env));
  if (status) lines.push(row("Rules loaded", STATUS_TEXT[status]));
  lines.push(...liveLines(live));
  env.out(lines.join("\n"));
}
