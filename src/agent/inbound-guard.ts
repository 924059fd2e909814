/**
 * The agent's inbound guard: cleartext packets from a flow the policy protects are dropped
 * unless its filter action says `inpass` (accept unsecured inbound, answer secured) or
 * the peer fell back to cleartext (`soft`). Opened ESP arrives on the TUN, IKE/ESP on
 * UDP 500/4500 and AH as IP protocol 51 for the raw socket, so all pass. One nftables table, replaced atomically:
 *
 *   table inet postern_agent_in {
 *     chain spd_in {
 *       type filter hook input priority filter; policy accept;
 *       iifname "postern0" return
 *       udp dport { 500, 4500 } return
 *       meta l4proto ah return                                  # AH: the raw socket's
 *       ip saddr 192.0.2.9 return                               # soft fallback peers
 *       ip saddr 192.0.2.2/32 ip daddr 192.0.2.1/32 counter drop  # one per protected selector
 *     }
 *   }
 * (The firewall subsystem owns the final input chain; this is the agent's stand-alone one.)
 */
import type { TrafficSelector } from "../esp/sa.js";
import type { NetConfig } from "../platform/routing.js";

export const GUARD_TABLE = "postern_agent_in";

function match(ts: TrafficSelector): string {
  const fam = ts.local.includes(":") ? "ip6" : "ip";
  const parts = [`${fam} saddr ${ts.remote}`, `${fam} daddr ${ts.local}`];
  if (ts.protocol !== 0) parts.push(`meta l4proto ${ts.protocol}`);
  const range = (r: [number, number]) => (r[0] === r[1] ? `${r[0]}` : `${r[0]}-${r[1]}`);
  if (ts.remotePorts[0] !== 0 || ts.remotePorts[1] !== 65535)
    parts.push(`th sport ${range(ts.remotePorts)}`);
  if (ts.localPorts[0] !== 0 || ts.localPorts[1] !== 65535)
    parts.push(`th dport ${range(ts.localPorts)}`);
  return parts.join(" ");
}

/** The nft script for the guard: `selectors` as seen outbound (local = this host). */
export function guardRuleset(
  tun: string,
  selectors: readonly TrafficSelector[],
  cleartextPeers: readonly string[],
): string {
  return [
    `table inet ${GUARD_TABLE}`,
    `delete table inet ${GUARD_TABLE}`,
    `table inet ${GUARD_TABLE} {`,
    "  chain spd_in {",
    "    type filter hook input priority filter; policy accept;",
    `    iifname "${tun}" return`,
    "    udp dport { 500, 4500 } return",
    "    meta l4proto ah return",
    ...cleartextPeers.map((h) => `    ${h.includes(":") ? "ip6" : "ip"} saddr ${h} return`),
    ...selectors.map((ts) => `    ${match(ts)} counter drop`),
    "  }",
    "}",
    "",
  ].join("\n");
}

export function applyGuard(
  net: NetConfig,
  tun: string,
  selectors: readonly TrafficSelector[],
  cleartextPeers: readonly string[],
): void {
  net.nft(guardRuleset(tun, selectors, cleartextPeers));
}

export function removeGuard(net: NetConfig): void {
  net.nftQuiet(`delete table inet ${GUARD_TABLE}\n`);
}
