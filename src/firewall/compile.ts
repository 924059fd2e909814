/**
 * The firewall compiler: settings -> the firewall's chains of table `inet postern`, a pure
 * function. The table belongs to platform/nftables.ts, which loads these chains in one
 * `nft -f` transaction that replaces chains `input` and `output` and nothing else: the
 * agent's steering and guard chains and the bypass sets' elements stay as they are.
 * The first rule of `input` carries `comment "postern firewall <digest>"`, a hash of the
 * chains, so the applier can tell that what is loaded is what it would load.
 *
 * Chain `input` (policy drop when the current profile is on):
 *   1. iif lo accept
 *   2. ct state invalid drop; ct state established,related accept; IKE (UDP 500),
 *      ESP in UDP (4500) and AH (IP protocol 51, the agent's raw socket) to the agent:
 *      IPsec sits below the firewall, as on Windows, where IKE and ESP were never filtered
 *      by Windows Firewall; what they carry is filtered after decryption (rule 3 onwards).
 *      (Cleartext that IPsec policy requires protected is dropped before this chain, by
 *      the agent's guard chain `ipsec_in` at priority filter - 1.)
 *   3. iifname postern-bp accept: the agent writes to this device only the packets it
 *      opened with an SA whose peer the authenticated bypass admitted (the SA's identity and
 *      groups), so the decision is the SA's, not the source address's: two hosts behind one
 *      NAT share an address but not an SA; nothing else can put a packet on that device
 *   4. ICMPv6 neighbour discovery accept (IPv6 needs it); enabled inbound ICMP settings
 *   5. port openings and the enabled services' ports (when exceptions are allowed), by scope
 *   6. log the drop (when logging dropped packets); with `refusedResponse: reject` (a
 *      departure from Windows, issue 16) packets from the TUN, which came out of an SA (an
 *      authenticated peer the bypass did not admit), are rejected: TCP with a RST, the rest
 *      with ICMP administratively prohibited; everything else, cleartext included, is then
 *      dropped in silence by a rule with a counter, so what the policy drops is counted
 *      (drop-counters.ts, postern_firewall_drops_total)
 * Chain `output` (policy accept): locally generated ICMP errors the settings do not allow
 * are dropped (except the rejects' administratively prohibited, when on); new outbound
 * connections are logged when logging connections.
 * Every drop rule carries a counter and the comment `postern drop <reason>`.
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
  BYPASS_DEVICE,
  TUN_DEVICE,
  allOpenings,
  portText,
  type ProgramPortMap,
} from "./model.js";
import { type AddrInterval, intervalText, mergeIntervals, scopeIntervals } from "./scope.js";
import { type ChainText, RESPONSE_SET, TABLE, tableScript } from "../platform/nftables.js";

export { TABLE };

/** IKE and ESP-in-UDP (RFC 3948): the agent's ports, open whenever the firewall is on. */
export const IKE_PORTS = [500, 4500] as const;

export interface CompileInput {
  settings: FirewallSettings;
  /** This host's connected subnets (`10.0.0.0/24`), for scope SUBNET and LocalSubnet. */
  localSubnets: readonly string[];
  /** Listening ports of the allowed programs (programs.ts); none when absent. */
  programPorts?: ProgramPortMap;
  /** The device of packets of SAs the bypass admitted; default postern-bp. */
  bypassDevice?: string;
  /** The device of the other SAs' packets (refusedResponse); default postern0. */
  tunDevice?: string;
}

/** Whether any opening needs this host's subnets (scope SUBNET or LocalSubnet). */
export function needsLocalSubnets(settings: FirewallSettings): boolean {
  const p = settings.profiles[settings.currentProfile];
  return [...allOpenings(p), ...p.allowedPrograms].some(
    (o) => o.scope === "subnet" || o.addresses.some((a) => a.toLowerCase() === "localsubnet"),
  );
}

export interface CompiledRuleset {
  /** The full `nft -f` script (replace of the firewall's chains in one transaction). */
  script: string;
  /** The ruleset's hash, as stored in the comment of the first rule of `input`. */
  digest: string;
  /** The chains, for a write of several parts at once (platform/nftables.ts TablePlan). */
  chains: ChainText[];
}

/** The comment marking the firewall's chains: `postern firewall <digest>`. */
export const DIGEST_COMMENT = "postern firewall";

const ND_TYPES = "nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert";

/**
 * `set multicastbroadcastresponse mode=ENABLE`: Windows accepts a unicast answer to a
 * multicast or broadcast query this host sent, from any address, for 3 seconds. Conntrack
 * cannot: the answer comes from an address the query was not sent to, so it is `new`. The
 * output chain records each UDP query to a broadcast or multicast address (fib: the kernel's
 * own classification, both families) in the set mbr_resp as (protocol, source port), for
 * 3 s from the latest query; the input chain accepts what arrives on such a port.
 * DISABLE: neither rule, the answers meet the exceptions and the default drop.
 */
const RESPONSE_OUT = `fib daddr type { broadcast, multicast } update @${RESPONSE_SET} { meta l4proto . udp sport }`;
const RESPONSE_IN = `meta l4proto . th dport @${RESPONSE_SET} accept`;

/** The comment of a drop rule: `postern drop REASON` (the metric's reason label). */
export const DROP_COMMENT = "postern drop";

/** A counted drop of what `match` selects (`match` may end in a log statement). */
function dropRule(match: string, reason: string): string {
  return `${match === "" ? "" : `${match} `}counter drop comment "${DROP_COMMENT} ${reason}"`;
}

export function compileRuleset(input: CompileInput): CompiledRuleset {
  const { settings } = input;
  const profile = settings.profiles[settings.currentProfile];
  const bypassDev = input.bypassDevice ?? BYPASS_DEVICE;
  const on = profile.enabled;
  const log = settings.logging;
  const openLog = on && log.connections ? `log prefix "RECEIVE" group ${LOG_GROUP_OPEN} ` : "";
  const rules: string[] = [];
  const reject = settings.refusedResponse === "reject";
  if (on) {
    rules.push(dropRule("ct state invalid", "invalid"), "ct state established,related accept");
    rules.push(`udp dport { ${IKE_PORTS.join(", ")} } accept`, "meta l4proto ah accept");
    rules.push(`iifname "${bypassDev}" ${openLog}accept`);
    rules.push(`icmpv6 type { ${ND_TYPES} } accept`);
    if (profile.multicastBroadcastResponse) rules.push(RESPONSE_IN);
    rules.push(...icmpInRules(profile, openLog));
    if (profile.exceptions) {
      rules.push(
        ...openingRules(allOpenings(profile, input.programPorts), input.localSubnets, openLog),
      );
    }
    if (log.droppedPackets) rules.push(`log prefix "RECEIVE" group ${LOG_GROUP_DROP}`);
    if (reject) rules.push(...rejectRules(input.tunDevice ?? TUN_DEVICE));
    rules.push(dropRule("", "policy"));
  }
  const output = [`oif "lo" accept`];
  if (on && profile.multicastBroadcastResponse) output.push(RESPONSE_OUT);
  if (on && reject) output.push(...REJECT_OUT);
  if (on) output.push(...icmpOutRules(profile, log.droppedPackets));
  if (on && log.connections) {
    output.push(`ct state new log prefix "SEND" group ${LOG_GROUP_OPEN}`);
  }
  const inHook = `type filter hook input priority filter; policy ${on ? "drop" : "accept"};`;
  const outHook = "type filter hook output priority filter; policy accept;";
  const digest = hash("sha256", Buffer.from([inHook, ...rules, outHook, ...output].join("\n")))
    .toString("hex")
    .slice(0, 32);
  const chains: ChainText[] = [
    {
      name: "input",
      hook: inHook,
      rules: [`iif "lo" accept comment "${DIGEST_COMMENT} ${digest}"`, ...rules],
    },
    { name: "output", hook: outHook, rules: output },
  ];
  return { script: tableScript({ firewall: chains }), digest, chains };
}

/** The refused path's answers: only for packets that came out of an SA (the TUN). */
function rejectRules(tun: string): string[] {
  return [
    `iifname "${tun}" meta l4proto tcp reject with tcp reset`,
    `iifname "${tun}" reject with icmpx type admin-prohibited`,
  ];
}

/** The rejects' ICMP errors leave even when the settings drop outbound ICMP errors. */
const REJECT_OUT = [
  "icmp type destination-unreachable icmp code admin-prohibited accept",
  "icmpv6 type destination-unreachable icmpv6 code admin-prohibited accept",
];

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
  if (v4.length) out.push(dropRule(`icmp type { ${v4.join(", ")} } ${logs}`.trimEnd(), "icmp"));
  if (v6.length) out.push(dropRule(`icmpv6 type { ${v6.join(", ")} } ${logs}`.trimEnd(), "icmp"));
  return out;
}

function protos(p: PortOpening): ("tcp" | "udp")[] {
  return p.protocol === "all" ? ["tcp", "udp"] : [p.protocol];
}

/**
 * Scoped openings of one protocol and family beyond this many become one rule over a set of
 * (source . port) pairs instead of a rule each (see scopedSetRules).
 */
export const SCOPED_RULES_MAX = 16;

/**
 * Scope-ALL openings become one set per protocol; scoped ones one rule per family, or, past
 * SCOPED_RULES_MAX of a protocol and family, one rule over a set of pairs.
 */
function openingRules(
  openings: readonly PortOpening[],
  localSubnets: readonly string[],
  suffix: string,
): string[] {
  const open = openings.filter((o) => o.enabled);
  const anyPorts = { tcp: new Map<string, number>(), udp: new Map<string, number>() };
  const scoped = open.map((o) => scopeIntervals(o.scope, o.addresses, localSubnets));
  const count = new Map<string, number>();
  open.forEach((o, i) => {
    for (const fam of [4, 6] as const) {
      if (!scoped[i]?.some((iv) => iv.family === fam)) continue;
      for (const proto of protos(o)) {
        const key = `${proto}${fam}`;
        count.set(key, (count.get(key) ?? 0) + 1);
      }
    }
  });
  const big = new Map<string, ScopedPorts>();
  const out: string[] = [];
  open.forEach((o, i) => {
    const ivs = scoped[i] as AddrInterval[] | null;
    for (const proto of protos(o)) {
      if (ivs === null) {
        anyPorts[proto].set(portText(o), o.port);
        continue;
      }
      for (const fam of [4, 6] as const) {
        const mine = ivs.filter((iv) => iv.family === fam);
        if (!mine.length) continue;
        const key = `${proto}${fam}`;
        if ((count.get(key) ?? 0) <= SCOPED_RULES_MAX) {
          out.push(`${saddr(fam, mine)} ${proto} dport ${portText(o)} ${suffix}accept`);
          continue;
        }
        let byPort = big.get(key);
        if (!byPort) {
          byPort = { proto, fam, ports: new Map() };
          big.set(key, byPort);
        }
        const text = portText(o);
        const entry = byPort.ports.get(text);
        if (entry) {
          entry.ivs.push(...mine);
          entry.merged = false;
        } else {
          byPort.ports.set(text, { lo: o.port, hi: o.lastPort ?? o.port, ivs: mine, merged: true });
        }
      }
    }
  });
  for (const group of big.values()) out.push(...scopedSetRules(group, suffix));
  const head: string[] = [];
  for (const proto of ["tcp", "udp"] as const) {
    const ports = [...anyPorts[proto]].sort((a, b) => a[1] - b[1]).map(([text]) => text);
    if (ports.length) head.push(`${proto} dport { ${ports.join(", ")} } ${suffix}accept`);
  }
  return [...head, ...out];
}

/** The scoped openings of one protocol and family, by port text ("80", "8000-8010"). */
interface ScopedPorts {
  proto: "tcp" | "udp";
  fam: 4 | 6;
  /** merged: ivs are already sorted and merged (one opening's scope). */
  ports: Map<string, { lo: number; hi: number; ivs: AddrInterval[]; merged: boolean }>;
}

/**
 * One rule `ip saddr . tcp dport { 10.0.0.0/24 . 80, ... } accept` for many scoped openings:
 * one lookup in the kernel's set instead of a rule per opening, and a script that compiles
 * and loads 10,000 openings in well under a second. The kernel refuses overlapping elements
 * in such a set, so the sources of openings with the same port (range) are merged first, and
 * a port range that partly overlaps another keeps a rule of its own (with its merged
 * sources). Either way what is accepted is the union of the openings, as with a rule each.
 */
function scopedSetRules(group: ScopedPorts, suffix: string): string[] {
  const ranges = [...group.ports].sort((a, b) => a[1].lo - b[1].lo || a[1].hi - b[1].hi);
  const elements: string[] = [];
  const alone: string[] = [];
  let reach = -1;
  for (const [text, { lo, hi, ivs, merged: once }] of ranges) {
    const merged = once ? ivs : mergeIntervals(ivs);
    // Sorted by first port: a range that starts at or before the furthest end seen so far
    // overlaps an earlier one, and gets its own rule (the earlier one stays in the set).
    if (lo <= reach) alone.push(`${saddr(group.fam, merged)} ${group.proto} dport ${text}`);
    else for (const iv of merged) elements.push(`${intervalText(iv)} . ${text}`);
    reach = Math.max(reach, hi);
  }
  const family = group.fam === 4 ? "ip" : "ip6";
  const rules = alone.map((r) => `${r} ${suffix}accept`);
  if (elements.length) {
    rules.unshift(
      `${family} saddr . ${group.proto} dport { ${elements.join(", ")} } ${suffix}accept`,
    );
  }
  return rules;
}

function saddr(family: 4 | 6, ivs: readonly AddrInterval[]): string {
  return `${family === 4 ? "ip" : "ip6"} saddr { ${ivs.map(intervalText).join(", ")} }`;
}
