/**
 * The agent's metrics (docs/metrics.md), read at scrape time from the same answers the
 * control socket gives `netsh ipsec dynamic show` and `postern agent stats`.
 */
import type { BypassEntry, StatsReply } from "../control/protocol.js";
import type { ControlHandler } from "../control/socket.js";
import {
  byLabel,
  countBy,
  createMetrics,
  pairs,
  type MetricSpec,
  type MetricsSource,
  type Sample,
} from "./registry.js";

interface AgentSnapshot {
  stats: StatsReply;
  bypass: BypassEntry[];
  /** The firewall's and the guard's drop counters, by "CHAIN REASON" (firewall/drop-counters.ts). */
  firewall: Record<string, number>;
}

const DIRECTION = { outbound: "out", inbound: "in" } as const;

const PACKETS: [string, string, string][] = [
  ["esp_packets_out", "out", "esp"],
  ["esp_packets_in", "in", "esp"],
  ["ah_packets_out", "out", "ah"],
  ["ah_packets_in", "in", "ah"],
];

export const AGENT_METRICS: MetricSpec<AgentSnapshot>[] = [
  {
    name: "postern_ike_sas",
    help: "IKE SAs (main mode SAs) by state and by the authentication method the peer used",
    type: "gauge",
    labelNames: ["state", "auth"],
    read: (s) =>
      countBy(s.stats.ike?.sas ?? [], (sa) => ({
        state: sa.state,
        auth: sa.identity?.method ?? sa.auth,
      })),
  },
  {
    name: "postern_child_sas",
    help: "Child SAs (quick mode SAs) installed in the data path, by protocol and direction",
    type: "gauge",
    labelNames: ["protocol", "direction"],
    read: (s) => countBy(s.stats.sas, (sa) => ({ protocol: sa.protocol, direction: sa.direction })),
  },
  {
    name: "postern_ike_drops_total",
    help: "IKE messages dropped or exchanges failed, by reason (src/ike/drops.ts)",
    type: "counter",
    labelNames: ["reason"],
    read: (s) => byLabel("reason", s.stats.ike?.drops),
  },
  {
    name: "postern_ipsec_packets_total",
    help: "ESP and AH packets sent (out) and received and verified (in)",
    type: "counter",
    labelNames: ["direction", "protocol"],
    read: (s) =>
      PACKETS.map(
        ([k, direction, protocol]) =>
          [{ direction, protocol }, s.stats.info[k as keyof typeof s.stats.info] ?? 0] as const,
      ),
  },
  {
    name: "postern_ipsec_bytes_total",
    help: "Cleartext bytes carried by SAs, sealed (out) and opened (in)",
    type: "counter",
    labelNames: ["direction"],
    read: (s) => [
      [{ direction: "out" }, s.stats.info.sa_bytes_out ?? 0],
      [{ direction: "in" }, s.stats.info.sa_bytes_in ?? 0],
    ],
  },
  {
    name: "postern_sa_bytes_total",
    help: "Cleartext bytes per live child SA (the series goes when the SA is deleted)",
    type: "counter",
    labelNames: ["spi", "direction", "protocol", "peer"],
    read: (s) =>
      s.stats.sas.map(
        (sa) =>
          [
            { spi: sa.spi, direction: sa.direction, protocol: sa.protocol, peer: sa.peer },
            sa.bytes,
          ] as const,
      ),
  },
  {
    name: "postern_datapath_drops_total",
    help: "Packets the data path dropped, by direction and reason (replay: anti-replay window)",
    type: "counter",
    labelNames: ["direction", "reason"],
    read: (s) =>
      (["outbound", "inbound"] as const).flatMap((role) =>
        byLabel("reason", s.stats.drops[role], { direction: DIRECTION[role] }),
      ),
  },
  {
    name: "postern_acquire_total",
    help: "Packets and negotiations of the ACQUIRE path (first packet of a protected flow), by event",
    type: "counter",
    labelNames: ["event"],
    read: (s) => byLabel("event", s.stats.acquire),
  },
  {
    name: "postern_bypass_decisions_total",
    help: "Authenticated-bypass decisions on established IKE SAs, by result (admitted or the refusal's reason)",
    type: "counter",
    labelNames: ["reason"],
    read: (s) => byLabel("reason", s.stats.bypass),
  },
  {
    name: "postern_bypass_peers",
    help: "Peers with a live IKE SA, admitted to the firewall's bypass or not",
    type: "gauge",
    labelNames: ["admitted"],
    read: (s): Sample[] => [
      [{ admitted: "yes" }, s.bypass.filter((b) => b.authorizedBy !== null).length],
      [{ admitted: "no" }, s.bypass.filter((b) => b.authorizedBy === null).length],
    ],
  },
  {
    name: "postern_firewall_drops_total",
    help: "Packets dropped by nftables: the firewall's chains (input, output) and the IPsec guard (ipsec_in), by chain and reason",
    type: "counter",
    labelNames: ["chain", "reason"],
    read: (s) => pairs("chain", "reason", s.firewall),
  },
  {
    name: "postern_policy_loads_total",
    help: "Policy loads (start, gpupdate, refresh interval), by result",
    type: "counter",
    labelNames: ["result"],
    read: (s) => byLabel("result", s.stats.policy),
  },
];

/** `firewallDrops`: the kernel's drop counters now (absent: none exposed). */
export function agentMetrics(
  control: ControlHandler,
  firewallDrops?: () => Promise<Record<string, number>>,
): MetricsSource {
  return createMetrics(
    async () => ({
      stats: await control.stats(),
      bypass: (await control.bypass()).peers,
      firewall: firewallDrops ? await firewallDrops() : {},
    }),
    AGENT_METRICS,
  );
}
