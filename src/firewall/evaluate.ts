/**
 * The in-memory firewall: the same decisions as the compiled ruleset, for one packet, with
 * no kernel. The shared case suite runs against this and against real nftables; when they
 * disagree, one of them is wrong. Order as in compile.ts.
 */
import { parseIp } from "../policy/ip.js";
import {
  allOpenings,
  BYPASS_DEVICE,
  type FirewallSettings,
  ICMP_SETTINGS,
  ICMP_TYPES,
} from "./model.js";
import { IKE_PORTS } from "./compile.js";
import { inIntervals, scopeIntervals } from "./scope.js";

export interface InboundPacket {
  family: 4 | 6;
  protocol: "tcp" | "udp" | "icmp" | "ah";
  src: string;
  /** Destination port (tcp/udp). */
  dport?: number;
  /** The ICMP or ICMPv6 type on the wire. */
  icmpType?: number;
  /** Input interface name (`lo`, `eth0`, `postern0`, `postern-bp`). */
  iface: string;
  /** Part of a connection this host started (conntrack established/related). */
  established?: boolean;
}

export interface EvalContext {
  localSubnets: readonly string[];
  /** The device of packets of SAs the bypass admitted; default postern-bp. */
  bypassDevice?: string;
}

export type Reason =
  | "firewall-off"
  | "loopback"
  | "established"
  | "ipsec"
  | "bypass"
  | "icmp-setting"
  | "neighbour-discovery"
  | "port-opening"
  | "default-drop";

export interface Decision {
  verdict: "accept" | "drop";
  reason: Reason;
}

const ND = [135, 136, 134];

export function evaluateInbound(
  settings: FirewallSettings,
  pkt: InboundPacket,
  ctx: EvalContext,
): Decision {
  const profile = settings.profiles[settings.currentProfile];
  const accept = (reason: Reason): Decision => ({ verdict: "accept", reason });
  if (pkt.iface === "lo") return accept("loopback");
  if (!profile.enabled) return accept("firewall-off");
  if (pkt.established) return accept("established");
  if (pkt.protocol === "udp" && IKE_PORTS.some((p) => p === pkt.dport)) return accept("ipsec");
  if (pkt.protocol === "ah") return accept("ipsec");
  const src = parseIp(pkt.src);
  if (!src) return { verdict: "drop", reason: "default-drop" };
  // Only the agent writes to the bypass device, and only packets of admitted SAs.
  if (pkt.iface === (ctx.bypassDevice ?? BYPASS_DEVICE)) return accept("bypass");
  if (pkt.protocol === "icmp" && pkt.icmpType !== undefined) {
    if (pkt.family === 6 && ND.includes(pkt.icmpType)) return accept("neighbour-discovery");
    for (const t of ICMP_TYPES) {
      const s = ICMP_SETTINGS[t];
      const types: readonly number[] = pkt.family === 4 ? s.v4 : s.v6;
      if (s.dir === "in" && profile.icmp[`${t}`] && types.includes(pkt.icmpType)) {
        return accept("icmp-setting");
      }
    }
  }
  if (profile.exceptions && pkt.protocol !== "icmp") {
    for (const o of allOpenings(profile)) {
      const d = pkt.dport ?? 0;
      if (!o.enabled || d < o.port || d > (o.lastPort ?? o.port)) continue;
      if (o.protocol !== "all" && o.protocol !== pkt.protocol) continue;
      const ivs = scopeIntervals(o.scope, o.addresses, ctx.localSubnets);
      if (ivs === null || inIntervals(src, ivs)) return accept("port-opening");
    }
  }
  return { verdict: "drop", reason: "default-drop" };
}

/** Whether this host may send an ICMP error of this wire type (the outbound settings). */
export function evaluateOutboundIcmp(
  settings: FirewallSettings,
  family: 4 | 6,
  icmpType: number,
): Decision {
  const profile = settings.profiles[settings.currentProfile];
  if (!profile.enabled) return { verdict: "accept", reason: "firewall-off" };
  for (const t of ICMP_TYPES) {
    const s = ICMP_SETTINGS[t];
    const types: readonly number[] = family === 4 ? s.v4 : s.v6;
    if (s.dir === "out" && types.includes(icmpType) && !profile.icmp[`${t}`]) {
      return { verdict: "drop", reason: "default-drop" };
    }
  }
  return { verdict: "accept", reason: "icmp-setting" };
}
