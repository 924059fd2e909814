/**
 * The firewall compiler: settings -> one nftables script, a pure function.
 *
 * The script replaces table `inet postern` in one `nft -f` transaction:
 *   table inet postern {}          (creates it if missing, so the delete cannot fail)
 *   delete table inet postern
 *   table inet postern { ... }     (the new ruleset)
 * Either all of it is loaded or none of it. The table and set bypass4 carry a comment with
 * a hash of the ruleset, so the applier can tell that what is loaded is what it would load
 * (`nft -j list sets` shows set comments; nft 1.0.6's JSON omits table comments).
 *
 * Chain `input` (policy drop when the current profile is on):
 *   1. iif lo accept
 *   2. jump ipsec_in        (agent: cleartext that IPsec policy requires protected -> drop)
 *   3. ct state invalid drop; ct state established,related accept; IKE (UDP 500),
 *      ESP in UDP (4500) and AH (IP protocol 51, the agent's raw socket) to the agent: IPsec sits below the firewall, as on Windows, where
 *      IKE and ESP were never filtered by Windows Firewall; what they carry is filtered
 *      after decryption (rule 4 onwards)
 *   4. iifname postern0 + source in @bypass4/@bypass6 accept: only packets the agent
 *      decrypted arrive on the TUN device, so a cleartext packet spoofing a bypass address
 *      on another interface does not match
 *   5. ICMPv6 neighbour discovery accept (IPv6 needs it); enabled inbound ICMP settings
 *   6. port openings (when exceptions are allowed), by scope
 *   7. log the drop (when logging dropped packets), then the policy drops
 * Chain `output` (policy accept): locally generated ICMP errors the settings do not allow
 * are dropped; new outbound connections are logged when logging connections.
 * Chain `spd_out` (route hook, empty): the agent's marks for "negotiate" traffic.
 */
import { hash } from "../crypto/primitives.js";
import {
  type FirewallSettings,
  ICMP_SETTINGS,
  ICMP_TYPES,
  LOG_GROUP_DROP,
  LOG_GROUP_OPEN,
  type PortOpening,
  type ProfileSettings,
  TUN_DEVICE,
} from "./model.js";
import { type AddrInterval, intervalText, scopeIntervals } from "./scope.js";

export const TABLE = "postern";

/** IKE and ESP-in-UDP (RFC 3948): the agent's ports, open whenever the firewall is on. */
export const IKE_PORTS = [500, 4500] as const;

export interface CompileInput {
  settings: FirewallSettings;
  /** This host's connected subnets (`10.0.0.0/24`), for scope SUBNET and LocalSubnet. */
  localSubnets: readonly string[];
  /** The TUN device of decrypted packets; default postern0. */
  tunDevice?: string;
}

/** Whether any opening needs this host's subnets (scope SUBNET or LocalSubnet). */
export function needsLocalSubnets(settings: FirewallSettings): boolean {
  const p = settings.profiles[settings.currentProfile];
  return p.portOpenings.some(
    (o) => o.scope === "subnet" || o.addresses.some((a) => a.toLowerCase() === "localsubnet"),
  );
}

export interface CompiledRuleset {
  /** The full `nft -f` script (replace of the table). */
  script: string;
  /** The ruleset's hash, as stored in the table comment. */
  digest: string;
}

const ND_TYPES = "nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert";

export function compileRuleset(input: CompileInput): CompiledRuleset {
  const { settings } = input;
  const profile = settings.profiles[settings.currentProfile];
  const tun = input.tunDevice ?? TUN_DEVICE;
  const on = profile.enabled;
  const log = settings.logging;
  const openLog = on && log.connections ? `log prefix "RECEIVE" group ${LOG_GROUP_OPEN} ` : "";
  const input_ = [
    `type filter hook input priority filter; policy ${on ? "drop" : "accept"};`,
    `iif "lo" accept`,
    "jump ipsec_in",
  ];
  if (on) {
    input_.push("ct state invalid drop", "ct state established,related accept");
    input_.push(`udp dport { ${IKE_PORTS.join(", ")} } accept`, "meta l4proto ah accept");
    input_.push(`iifname "${tun}" ip saddr @bypass4 ${openLog}accept`);
    input_.push(`iifname "${tun}" ip6 saddr @bypass6 ${openLog}accept`);
    input_.push(`icmpv6 type { ${ND_TYPES} } accept`);
    input_.push(...icmpInRules(profile, openLog));
    if (profile.exceptions) {
      input_.push(...openingRules(profile.portOpenings, input.localSubnets, openLog));
    }
    if (log.droppedPackets) input_.push(`log prefix "RECEIVE" group ${LOG_GROUP_DROP}`);
  }
  const output = [`type filter hook output priority filter; policy accept;`, `oif "lo" accept`];
  if (on) output.push(...icmpOutRules(profile, log.droppedPackets));
  if (on && log.connections) {
    output.push(`ct state new log prefix "SEND" group ${LOG_GROUP_OPEN}`);
  }
  const chains = [
    "  chain ipsec_in {",
    "  }",
    "  chain spd_out {",
    "    type route hook output priority mangle; policy accept;",
    "  }",
    chain("input", input_),
    chain("output", output),
  ].join("\n");
  const digest = hash("sha256", Buffer.from(chains, "utf8")).toString("hex").slice(0, 32);
  const mark = `comment "postern firewall ${digest}";`;
  const script = [
    `table inet ${TABLE} {}`,
    `delete table inet ${TABLE}`,
    `table inet ${TABLE} {`,
    `  comment "postern firewall ${digest}"`,
    `  set bypass4 { type ipv4_addr; flags timeout; ${mark} }`,
    `  set bypass6 { type ipv6_addr; flags timeout; ${mark} }`,
    chains,
    "}",
    "",
  ].join("\n");
  return { script, digest };
}

function chain(name: string, lines: readonly string[]): string {
  return [`  chain ${name} {`, ...lines.map((l) => `    ${l}`), "  }"].join("\n");
}

function icmpInRules(p: ProfileSettings, suffix: string): string[] {
  const v4: number[] = [];
  const v6: number[] = [];
  for (const t of ICMP_TYPES) {
    const s = ICMP_SETTINGS[t];
    if (s.dir === "in" && p.icmp[`${t}`]) {
      v4.push(...s.v4);
      v6.push(...s.v6);
    }
  }
  const out: string[] = [];
  if (v4.length) out.push(`icmp type { ${v4.join(", ")} } ${suffix}accept`);
  if (v6.length) out.push(`icmpv6 type { ${v6.join(", ")} } ${suffix}accept`);
  return out;
}

function icmpOutRules(p: ProfileSettings, logDrops: boolean): string[] {
  const v4: number[] = [];
  const v6: number[] = [];
  for (const t of ICMP_TYPES) {
    const s = ICMP_SETTINGS[t];
    if (s.dir === "out" && !p.icmp[`${t}`]) {
      v4.push(...s.v4);
      v6.push(...s.v6);
    }
  }
  const logs = logDrops ? `log prefix "SEND" group ${LOG_GROUP_DROP} ` : "";
  const out: string[] = [];
  if (v4.length) out.push(`icmp type { ${v4.join(", ")} } ${logs}drop`);
  if (v6.length) out.push(`icmpv6 type { ${v6.join(", ")} } ${logs}drop`);
  return out;
}

function protos(p: PortOpening): ("tcp" | "udp")[] {
  return p.protocol === "all" ? ["tcp", "udp"] : [p.protocol];
}

/** Scope-ALL openings become one set per protocol; scoped ones one rule per family. */
function openingRules(
  openings: readonly PortOpening[],
  localSubnets: readonly string[],
  suffix: string,
): string[] {
  const open = openings.filter((o) => o.enabled);
  const anyPorts = { tcp: new Set<number>(), udp: new Set<number>() };
  const out: string[] = [];
  for (const o of open) {
    const ivs = scopeIntervals(o.scope, o.addresses, localSubnets);
    for (const proto of protos(o)) {
      if (ivs === null) {
        anyPorts[proto].add(o.port);
        continue;
      }
      for (const fam of [4, 6] as const) {
        const mine = ivs.filter((iv) => iv.family === fam);
        if (mine.length) out.push(`${saddr(fam, mine)} ${proto} dport ${o.port} ${suffix}accept`);
      }
    }
  }
  const head: string[] = [];
  for (const proto of ["tcp", "udp"] as const) {
    const ports = [...anyPorts[proto]].sort((a, b) => a - b);
    if (ports.length) head.push(`${proto} dport { ${ports.join(", ")} } ${suffix}accept`);
  }
  return [...head, ...out];
}

function saddr(family: 4 | 6, ivs: readonly AddrInterval[]): string {
  return `${family === 4 ? "ip" : "ip6"} saddr { ${ivs.map(intervalText).join(", ")} }`;
}
