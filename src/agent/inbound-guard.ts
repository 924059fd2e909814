/**
 * The agent's inbound guard: cleartext packets from a flow the policy protects are dropped
 * unless its filter action says `inpass` (accept unsecured inbound, answer secured) or
 * the peer fell back to cleartext (`soft`). Opened ESP arrives on the TUN, IKE/ESP on
 * UDP 500/4500 and AH as IP protocol 51 for the raw socket, so all pass. The guard is the
 * `guard` part of table `inet postern` (platform/nftables.ts owns the table): one base
 * chain at priority filter - 1, before the firewall's `input`, replaced atomically:
 *
 *   table inet postern {
 *     chain ipsec_in {
 *       type filter hook input priority -1; policy accept;
 *       iifname { "postern0", "postern-bp" } return             # opened by the agent
 *       udp dport { 500, 4500 } return
 *       meta l4proto ah return                                  # AH: the raw socket's
 *       ip saddr 192.0.2.9 return                               # soft fallback peers
 *       ip saddr 192.0.2.2/32 ip daddr 192.0.2.1/32 counter drop  # one per protected selector
 *     }
 *   }
 * The chain outlives the agent (kill -9, crash): inbound stays closed. A clean stop
 * (`removeGuard`) removes it.
 */
import type { TrafficSelector } from "../esp/sa.js";
import { type ChainText, TABLE, tableScript } from "../platform/nftables.js";
import type { NetConfig } from "../platform/routing.js";

/** Where the guard lives: table inet postern, chain ipsec_in (was table postern_agent_in). */
export const GUARD_TABLE = TABLE;
export const GUARD_CHAIN = "ipsec_in";

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

/** The guard part's chain: `selectors` as seen outbound (local = this host). */
export function guardChains(
  tun: string | readonly string[],
  selectors: readonly TrafficSelector[],
  cleartextPeers: readonly string[],
): ChainText[] {
  return [
    {
      name: GUARD_CHAIN,
      hook: "type filter hook input priority -1; policy accept;",
      rules: [
        `iifname { ${(typeof tun === "string" ? [tun] : tun).map((t) => `"${t}"`).join(", ")} } return`,
        "udp dport { 500, 4500 } return",
        "meta l4proto ah return",
        ...cleartextPeers.map((h) => `${h.includes(":") ? "ip6" : "ip"} saddr ${h} return`),
        ...selectors.map((ts) => `${match(ts)} counter drop`),
      ],
    },
  ];
}

/** The nft script replacing the guard chain of table inet postern atomically. */
export function guardRuleset(
  tun: string,
  selectors: readonly TrafficSelector[],
  cleartextPeers: readonly string[],
): string {
  return tableScript({ guard: guardChains(tun, selectors, cleartextPeers) });
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
  net.nftQuiet(tableScript({ guard: null }));
}
