/**
 * Outbound steering: only packets of protected flows reach the TUN device, and none of
 * them leaves in clear, whatever happens to the agent (fail closed).
 *   1. chain `spd_out` of table `inet postern` (type route, hook output) sets the protect
 *      mark on packets matching an outbound SA's selectors, and clamps the TCP MSS so
 *      sealed packets fit the link;
 *   2. `ip rule fwmark PROTECT lookup TABLE` + `default dev postern0` in TABLE reroute them;
 *   3. the agent's own UDP socket carries SO_MARK = BYPASS, which the chain returns on
 *      first, so ESP and IKE never loop back into the TUN.
 * Fail closed (the agent killed, crashed, its TUN gone: the mark and the rule stay):
 *   4. TABLE also holds `prohibit default metric 4294967295`: once the TUN and its route
 *      are gone, marked packets meet this route instead of falling through to the main
 *      table (the sender gets EACCES);
 *   5. chain `protect_out` (hook postrouting) drops any packet with the protect mark that
 *      would leave by another device than the TUN (IPv6, which has no ip rule yet, too).
 * A clean stop (`removeSteering`) is the administrator turning IPsec off: both go.
 * The chains belong to the steering part of the table (platform/nftables.ts, the owner);
 * `steeringRuleset` is that part's one-transaction script, `applySteering` runs it.
 */
import type { TrafficSelector } from "../esp/sa.js";
import { type ChainText, tableScript } from "../platform/nftables.js";
import type { NetConfig } from "../platform/routing.js";

export interface SteeringConfig {
  tun: string;
  /**
   * The bypass device: a second TUN, inbound only, where the agent delivers packets of SAs
   * the firewall's bypass admitted (firewall/model.ts BYPASS_DEVICE); absent: none.
   */
  bypassTun?: string;
  mtu: number;
  protectMark: number;
  bypassMark: number;
  table: number;
  /** Priority of the ip rule. */
  rulePriority: number;
  /** The agent's UDP port, never steered even without the socket mark. */
  listenPort: number;
}

export const DEFAULT_STEERING: Omit<SteeringConfig, "listenPort"> = {
  tun: "postern0",
  mtu: 1400,
  protectMark: 0x7050,
  bypassMark: 0x7051,
  table: 7050,
  rulePriority: 7050,
};

/** The metric of the fail-closed route: behind every real route of the table. */
export const FAIL_CLOSED_METRIC = 4294967295;

const PROTO_NAMES: Record<number, string> = {
  1: "icmp",
  6: "tcp",
  17: "udp",
  58: "ipv6-icmp",
  132: "sctp",
};

function range(r: [number, number]): string | null {
  if (r[0] === 0 && r[1] === 65535) return null;
  return r[0] === r[1] ? `${r[0]}` : `${r[0]}-${r[1]}`;
}

/** One nft match expression for an outbound selector (source = local side). */
export function selectorMatch(ts: TrafficSelector): string {
  const fam = ts.local.includes(":") ? "ip6" : "ip";
  const parts = [`${fam} saddr ${ts.local}`, `${fam} daddr ${ts.remote}`];
  if (ts.protocol !== 0) parts.push(`meta l4proto ${PROTO_NAMES[ts.protocol] ?? ts.protocol}`);
  const lp = range(ts.localPorts);
  const rp = range(ts.remotePorts);
  if (lp !== null) parts.push(`th sport ${lp}`);
  if (rp !== null) parts.push(`th dport ${rp}`);
  return parts.join(" ");
}

/** The steering part's chains: spd_out (mark) and protect_out (fail closed). */
export function steeringChains(
  cfg: SteeringConfig,
  selectors: readonly TrafficSelector[],
  /** Hosts exempt from steering (the agent's `soft` cleartext fallback). */
  bypassHosts: readonly string[] = [],
): ChainText[] {
  const hex = (n: number) => `0x${n.toString(16)}`;
  // MSS = MTU - IPv4 header - TCP header: sealed packets then fit a 1500-byte link.
  const mss = cfg.mtu - 40;
  return [
    {
      name: "spd_out",
      hook: "type route hook output priority mangle; policy accept;",
      rules: [
        `meta mark ${hex(cfg.bypassMark)} return`,
        `udp sport ${cfg.listenPort} return`,
        "udp sport 500 udp dport 500 return", // IKE on its own port (the agent's dgram socket)
        ...bypassHosts.map((h) => `${h.includes(":") ? "ip6" : "ip"} daddr ${h} return`),
        ...selectors.map((ts) => `${selectorMatch(ts)} meta mark set ${hex(cfg.protectMark)}`),
        `meta mark ${hex(cfg.protectMark)} tcp flags & (syn | rst) == syn tcp option maxseg size set ${mss}`,
      ],
    },
    {
      name: "protect_out",
      hook: "type filter hook postrouting priority filter; policy accept;",
      rules: [`meta mark ${hex(cfg.protectMark)} oifname != "${cfg.tun}" counter drop`],
    },
  ];
}

/** The nft script replacing the steering chains of table inet postern atomically. */
export function steeringRuleset(
  cfg: SteeringConfig,
  selectors: TrafficSelector[],
  /** Hosts exempt from steering (the agent's `soft` cleartext fallback). */
  bypassHosts: readonly string[] = [],
): string {
  return tableScript({ steering: steeringChains(cfg, selectors, bypassHosts) });
}

/** Packets the TUN queues for the outbound worker (docs/datapath.md "MTU and queues"). */
export const TUN_TXQUEUELEN = 4096;

/** Brings the TUN up and installs the rule, the route table and the nft chain. */
export function applySteering(
  net: NetConfig,
  cfg: SteeringConfig,
  selectors: TrafficSelector[],
): void {
  // A queue of 500 (the default) overflows while the outbound worker waits for a CPU: each
  // overflow is a TCP loss. 4,096 packets (~6 MB) rides out a time slice on a busy host.
  net.ip([
    "link",
    "set",
    cfg.tun,
    "mtu",
    String(cfg.mtu),
    "txqueuelen",
    String(TUN_TXQUEUELEN),
    "up",
  ]);
  // Opened packets arrive on the TUN from addresses routed elsewhere: strict reverse-path
  // filtering would drop them. The effective value is max(all, dev): 0 on the TUN, and
  // loose (2) instead of strict (1) for "all".
  // The bypass device only receives (nothing is routed to it): up, the same sysctls.
  if (cfg.bypassTun !== undefined)
    net.ip(["link", "set", cfg.bypassTun, "mtu", String(cfg.mtu), "up"]);
  for (const dev of cfg.bypassTun === undefined ? [cfg.tun] : [cfg.tun, cfg.bypassTun]) {
    net.writeSysctl(`net.ipv4.conf.${dev}.rp_filter`, "0");
    // IPv6 is not steered yet: keep the kernel's own router solicitations off the TUN.
    if (net.readSysctl(`net.ipv6.conf.${dev}.disable_ipv6`) === "0")
      net.writeSysctl(`net.ipv6.conf.${dev}.disable_ipv6`, "1");
  }
  if (net.readSysctl("net.ipv4.conf.all.rp_filter") === "1")
    net.writeSysctl("net.ipv4.conf.all.rp_filter", "2");
  net.ipQuiet(["rule", "del", "priority", String(cfg.rulePriority)]);
  net.ip([
    "rule",
    "add",
    "priority",
    String(cfg.rulePriority),
    "fwmark",
    `0x${cfg.protectMark.toString(16)}`,
    "lookup",
    String(cfg.table),
  ]);
  net.ip(["route", "replace", "default", "dev", cfg.tun, "table", String(cfg.table)]);
  net.ip(failClosedRoute(cfg));
  net.nft(steeringRuleset(cfg, selectors));
}

/** `ip route replace prohibit default ... table TABLE`: where marked packets go without TUN. */
export function failClosedRoute(cfg: SteeringConfig): string[] {
  return [
    "route",
    "replace",
    "prohibit",
    "default",
    "table",
    String(cfg.table),
    "metric",
    String(FAIL_CLOSED_METRIC),
  ];
}

/** Undoes applySteering (the TUN itself goes when its fd closes). */
export function removeSteering(net: NetConfig, cfg: SteeringConfig): void {
  net.nftQuiet(tableScript({ steering: null }));
  net.ipQuiet(["rule", "del", "priority", String(cfg.rulePriority)]);
  net.ipQuiet(["route", "flush", "table", String(cfg.table)]);
}
