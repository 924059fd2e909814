/**
 * Drops with identity: pfirewall.log says which address was dropped, in Windows' W3C format
 * (kept as Windows writes it). When the dropped packet's source has a live IKE SA, this
 * log says who it was and what it lacked, one JSON object a line, in a file beside it
 * (`pfirewall.identity.jsonl`):
 *
 *   {"time":"2026-12-06T15:40:12.345Z","action":"DROP","protocol":"TCP",
 *    "src":"198.18.0.31","dst":"198.18.0.20","sport":40000,"dport":80,"path":"RECEIVE",
 *    "principal":"CLIENT2$@BIGFIRM.COM","sa":"0x..._0x...","admitted":false,
 *    "lacks":["trusted"],"why":"CLIENT2$@BIGFIRM.COM (3 SIDs in its PAC) holds no SID ..."}
 *
 * 1. a DROP line of pfirewall.log (logger.ts) hands its fields here;
 * 2. the peer's live SA is looked up by source address in the agent's bypass decisions
 *    (`lookup`, cached by the caller); none: nothing is written (the drop is anonymous);
 * 3. `lacks` names the bypass list's entries: a peer with a live SA that was dropped holds
 *    none of them (had it held one, its SA would have been admitted and its packets would
 *    have arrived on the bypass device).
 * The lookup is by address: behind a NAT two peers share one, and the not-admitted SA is
 * the one named (an admitted SA's packets are never dropped by the firewall).
 */
import type { LogPath } from "./logformat.js";
import type { PacketFields } from "./packet.js";

export const IDENTITY_LOG_NAME = "pfirewall.identity.jsonl";

/** One live SA's bypass decision, as the agent's `bypass` control command gives it. */
export interface PeerSa {
  address: string;
  principal: string | null;
  authorizedBy: string | null;
  why: string;
  spis: string;
}

export interface IdentityLine {
  time: string;
  action: "DROP";
  protocol: string;
  src: string;
  dst: string;
  sport: number | null;
  dport: number | null;
  path: LogPath;
  principal: string | null;
  sa: string;
  admitted: boolean;
  lacks: string[];
  why: string;
}

const PROTO: Record<number, string> = { 1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6" };

/** The JSON line for a drop from `peer`'s address, or null when no SA is live there. */
export function identityLine(
  now: Date,
  f: PacketFields,
  path: LogPath,
  peers: readonly PeerSa[],
  bypassNames: readonly string[],
): IdentityLine | null {
  const mine = peers.filter((p) => p.address === f.src);
  const sa = mine.find((p) => p.authorizedBy === null) ?? mine[0];
  if (sa === undefined) return null;
  return {
    time: now.toISOString(),
    action: "DROP",
    protocol: PROTO[f.protocol] ?? String(f.protocol),
    src: f.src,
    dst: f.dst,
    sport: f.sport ?? null,
    dport: f.dport ?? null,
    path,
    principal: sa.principal,
    sa: sa.spis,
    admitted: sa.authorizedBy !== null,
    lacks: sa.authorizedBy === null ? [...bypassNames] : [],
    why: sa.why,
  };
}
