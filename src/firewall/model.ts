/**
 * Windows Firewall settings (Windows XP SP2 / Windows Server 2003 SP1), as postern stores
 * them in `<home>/firewall/settings.json`:
 * - two profiles, domain and standard, each with its operational mode, "don't allow
 *   exceptions", port openings, the predefined services (File and Printer Sharing, ...),
 *   ICMP settings, notifications and multicast/broadcast response; `currentProfile` says which one the
 *   compiler uses (Windows picks it from domain connectivity; postern stores it and the
 *   agent will set it);
 * - logging (file, size limit, dropped packets, successful connections), shared by both;
 * - the "Allow authenticated IPsec bypass" list: SIDs of computers and groups (the Group
 *   Policy SDDL `O:DAG:DAD:(A;;RCGW;;;SID)...`).
 */

export type ProfileName = "domain" | "standard";
export const PROFILES: readonly ProfileName[] = ["domain", "standard"];

export type PortProtocol = "tcp" | "udp" | "all";
export type ScopeKind = "all" | "subnet" | "custom";

export interface PortOpening {
  protocol: PortProtocol;
  /** 1-65535. */
  port: number;
  /** A range port-lastPort (a service's, e.g. REMOTEADMIN's RPC ports); absent: one port. */
  lastPort?: number;
  name: string;
  enabled: boolean;
  scope: ScopeKind;
  /**
   * For scope custom: addresses (`10.0.0.5`), subnets (`10.0.0.0/24`, `10.0.0.0/255.0.0.0`),
   * ranges (`10.0.0.1-10.0.0.9`) and the keyword `LocalSubnet`, IPv4 or IPv6, canonical text.
   */
  addresses: string[];
}

/**
 * The ICMP settings netsh numbers (`set icmpsetting type=`), with what each allows. Inbound
 * ones accept unsolicited requests; outbound ones let this host send the error message.
 */
export const ICMP_SETTINGS = {
  2: { name: "Allow outbound packet too big", dir: "out", v4: [], v6: [2] },
  3: { name: "Allow outbound destination unreachable", dir: "out", v4: [3], v6: [1] },
  4: { name: "Allow outbound source quench", dir: "out", v4: [4], v6: [] },
  5: { name: "Allow redirect", dir: "in", v4: [5], v6: [137] },
  8: { name: "Allow inbound echo request", dir: "in", v4: [8], v6: [128] },
  9: { name: "Allow inbound router request", dir: "in", v4: [10], v6: [133] },
  11: { name: "Allow outbound time exceeded", dir: "out", v4: [11], v6: [3] },
  12: { name: "Allow outbound parameter problem", dir: "out", v4: [12], v6: [4] },
  13: { name: "Allow inbound timestamp request", dir: "in", v4: [13], v6: [] },
  17: { name: "Allow inbound mask request", dir: "in", v4: [17], v6: [] },
} as const satisfies Record<
  number,
  { name: string; dir: "in" | "out"; v4: readonly number[]; v6: readonly number[] }
>;
export type IcmpSettingType = keyof typeof ICMP_SETTINGS;
export const ICMP_TYPES = Object.keys(ICMP_SETTINGS).map(Number) as IcmpSettingType[];

/**
 * The predefined exceptions of `netsh firewall set service` and the ports Windows XP SP2 /
 * 2003 SP1 opens for each (Windows' documentation of each exception). REMOTEADMIN also lets
 * the RPC endpoint mapper's dynamic ports through svchost.exe and lsass.exe on Windows
 * (program exceptions, 1025-5000 there); postern opens them as ports: 49152-65535, Samba's
 * default `rpc server dynamic port range`, where Linux's RPC servers listen (docs/firewall.md).
 */
export const SERVICES = {
  fileandprint: {
    name: "File and Printer Sharing",
    ports: [
      { protocol: "udp", port: 137 },
      { protocol: "udp", port: 138 },
      { protocol: "tcp", port: 139 },
      { protocol: "tcp", port: 445 },
    ],
  },
  remoteadmin: {
    name: "Remote Administration",
    ports: [
      { protocol: "tcp", port: 135 },
      { protocol: "tcp", port: 445 },
      { protocol: "tcp", port: 49152, last: 65535 },
    ],
  },
  remotedesktop: { name: "Remote Desktop", ports: [{ protocol: "tcp", port: 3389 }] },
  upnp: {
    name: "UPnP Framework",
    ports: [
      { protocol: "tcp", port: 2869 },
      { protocol: "udp", port: 1900 },
    ],
  },
} as const satisfies Record<
  string,
  { name: string; ports: readonly { protocol: "tcp" | "udp"; port: number; last?: number }[] }
>;
export type ServiceType = keyof typeof SERVICES;
export type ServicePort = { protocol: "tcp" | "udp"; port: number; last?: number };

/** "445" or "49152-65535": a port opening's ports as nft and netsh write them. */
export const portText = (o: { port: number; lastPort?: number }): string =>
  o.lastPort === undefined ? String(o.port) : `${o.port}-${o.lastPort}`;
export const SERVICE_TYPES = Object.keys(SERVICES) as ServiceType[];

/** `add allowedprogram`: a binary whose listening ports are opened (firewall/programs.ts). */
export interface AllowedProgram {
  /** Absolute path of the binary (what /proc/PID/exe points to). */
  program: string;
  name: string;
  enabled: boolean;
  scope: ScopeKind;
  addresses: string[];
}

/** One predefined service's exception in a profile; absent = disabled, scope ALL. */
export interface ServiceSetting {
  enabled: boolean;
  scope: ScopeKind;
  addresses: string[];
}

export interface ProfileSettings {
  /** Operational mode: the firewall filters (true) or lets everything in (false). */
  enabled: boolean;
  /** false = "Don't allow exceptions": port openings are ignored. */
  exceptions: boolean;
  portOpenings: PortOpening[];
  /** ICMP settings by netsh type number ("8": true); missing = disabled (Windows default). */
  icmp: Partial<Record<`${IcmpSettingType}`, boolean>>;
  /** `add allowedprogram`: programs whose listening ports are open. */
  allowedPrograms: AllowedProgram[];
  /** `set service`: the predefined exceptions configured in this profile. */
  services: Partial<Record<ServiceType, ServiceSetting>>;
  /** `set notifications`: Windows' pop-up when a program is blocked (recorded only). */
  notifications: boolean;
  /** `set multicastbroadcastresponse`: unicast answers to our multicast/broadcast. */
  multicastBroadcastResponse: boolean;
}

/** The port openings a profile's enabled services stand for (compiled like port openings). */
export function serviceOpenings(p: ProfileSettings): PortOpening[] {
  const out: PortOpening[] = [];
  for (const t of SERVICE_TYPES) {
    const s = p.services[t];
    if (!s?.enabled) continue;
    for (const port of SERVICES[t].ports as readonly ServicePort[])
      out.push({
        protocol: port.protocol,
        port: port.port,
        ...(port.last === undefined ? {} : { lastPort: port.last }),
        name: SERVICES[t].name,
        enabled: true,
        scope: s.scope,
        addresses: s.addresses,
      });
  }
  return out;
}

/** The ports of each program, as found at the last look (firewall/programs.ts). */
export type ProgramPortMap = ReadonlyMap<string, { tcp: number[]; udp: number[] }>;

/** The port openings the enabled allowed programs stand for, from their listening ports. */
export function programOpenings(p: ProfileSettings, ports: ProgramPortMap): PortOpening[] {
  const out: PortOpening[] = [];
  for (const a of p.allowedPrograms) {
    const found = ports.get(a.program);
    if (!a.enabled || found === undefined) continue;
    const { name, enabled, scope, addresses } = a;
    for (const proto of ["tcp", "udp"] as const)
      for (const port of found[proto])
        out.push({ protocol: proto, port, name, enabled, scope, addresses });
  }
  return out;
}

/** Everything exceptions open: port openings, services' ports, allowed programs' ports. */
export function allOpenings(
  p: ProfileSettings,
  programs: ProgramPortMap = new Map(),
): PortOpening[] {
  return [...p.portOpenings, ...serviceOpenings(p), ...programOpenings(p, programs)];
}

export interface LoggingSettings {
  /** Absolute path, or null for `<home>/firewall/pfirewall.log`. */
  file: string | null;
  /** Size limit in KB (1-32767), then the file is renamed to `.old` (Windows' rotation). */
  maxSizeKb: number;
  droppedPackets: boolean;
  connections: boolean;
}

export interface BypassEntry {
  /** `S-1-5-21-...`. */
  sid: string;
  /** The name it was given by or resolved to, when known (display only). */
  name?: string;
}

export interface FirewallSettings {
  version: 1;
  /**
   * The profile compiled. Stored here; on load the agent's decision (profile.ts,
   * `<home>/firewall/profile.json`) replaces it unless `profileOverride` is set.
   */
  currentProfile: ProfileName;
  /** `netsh firewall set currentprofile domain|standard`: the agent's choice is off. */
  profileOverride?: ProfileName;
  profiles: Record<ProfileName, ProfileSettings>;
  logging: LoggingSettings;
  bypass: BypassEntry[];
  /**
   * What a peer that authenticated (its packets came out of an SA, on the TUN) but meets
   * no exception gets: absent or "drop", silence as on Windows; "reject", a departure from
   * Windows (issue 16): a TCP RST, else ICMP administratively prohibited (3/13, ICMPv6 1/1).
   * Unauthenticated traffic is always dropped silently.
   */
  refusedResponse?: "drop" | "reject";
}

export function defaultProfile(): ProfileSettings {
  return {
    enabled: true,
    exceptions: true,
    portOpenings: [],
    allowedPrograms: [],
    icmp: {},
    services: {},
    notifications: true,
    multicastBroadcastResponse: true,
  };
}

/**
 * Windows' defaults: on, exceptions allowed, nothing open, no service, no ICMP, notifications
 * and multicast/broadcast response on, logging off, 4096 KB.
 */
export function defaultSettings(): FirewallSettings {
  return {
    version: 1,
    currentProfile: "standard",
    profiles: { domain: defaultProfile(), standard: defaultProfile() },
    logging: { file: null, maxSizeKb: 4096, droppedPackets: false, connections: false },
    bypass: [],
  };
}

/** The TUN device where the agent delivers decrypted packets (DESIGN.md, data path 4). */
export const TUN_DEVICE = "postern0";

/**
 * The bypass device: the agent delivers here, and only here, the decrypted packets of SAs
 * whose peer the authenticated bypass admitted (its identity and groups, from the SA), so
 * the firewall's bypass is bound to the SA that carried a packet, not to its source address.
 */
export const BYPASS_DEVICE = "postern-bp";

/** NFLOG groups the ruleset logs to: drops and new accepted connections. */
export const LOG_GROUP_DROP = 7801;
export const LOG_GROUP_OPEN = 7802;
