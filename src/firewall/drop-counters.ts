/**
 * What the firewall and the IPsec guard dropped, from the kernel's counters of their drop
 * rules in table inet postern (`nft -j list table inet postern`), for the agent's
 * postern_firewall_drops_total. Each drop rule of the firewall carries a counter and the
 * comment `postern drop REASON` (compile.ts); the guard's (agent/inbound-guard.ts) are the
 * counted drops of chain ipsec_in: cleartext of a flow the IPsec policy protects.
 *
 * The counts are the kernel's: they survive an agent restart and start again at 0 when a
 * chain is replaced (a firewall change, a policy reload), which Prometheus' rate() reads
 * as a counter reset.
 */
import type { NftRunner } from "../platform/commands.js";
import { DROP_COMMENT, TABLE } from "./compile.js";

/** Packets dropped, by "CHAIN REASON" (e.g. "input policy", "ipsec_in ipsec-required"). */
export type DropCounts = Record<string, number>;

interface NftRule {
  chain?: string;
  comment?: string;
  expr?: Record<string, unknown>[];
}

/** The drop counters in `nft -j list table` output (unparseable text: none). */
export function parseDropCounters(json: string): DropCounts {
  const out: DropCounts = {};
  let doc: { nftables?: { rule?: NftRule }[] };
  try {
    doc = JSON.parse(json);
  } catch {
    return out;
  }
  for (const item of doc.nftables ?? []) {
    const r = item.rule;
    if (!r?.chain || !r.expr?.some((e) => "drop" in e)) continue;
    const counter = r.expr.find((e) => "counter" in e)?.counter as { packets?: number } | undefined;
    if (!counter) continue;
    const reason = r.comment?.startsWith(`${DROP_COMMENT} `)
      ? r.comment.slice(DROP_COMMENT.length + 1)
      : r.chain === "ipsec_in"
        ? "ipsec-required"
        : "other";
    const key = `${r.chain} ${reason}`;
    out[key] = (out[key] ?? 0) + (counter.packets ?? 0);
  }
  return out;
}

/** The counters now; none when the table is not loaded (no firewall, no guard yet). */
export async function readDropCounters(runner: Pick<NftRunner, "nft">): Promise<DropCounts> {
  try {
    return parseDropCounters(await runner.nft(["-j", "list", "table", "inet", TABLE]));
  } catch {
    return {};
  }
}
