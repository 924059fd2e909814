/**
 * The bypass decision the agent makes when an SA comes up: a peer authenticated over IPsec
 * bypasses the firewall when its own SID or one of its groups' SIDs (from the ticket's PAC)
 * is on the bypass list. Authenticated peers not on the list still meet the exceptions.
 */
import type { FirewallSettings } from "./model.js";

/** The bypass-list SID that authorizes this peer, or null. */
export function bypassAuthorization(
  settings: FirewallSettings,
  peerSids: readonly string[],
): string | null {
  const mine = new Set(peerSids.map((s) => s.toUpperCase()));
  return settings.bypass.find((b) => mine.has(b.sid.toUpperCase()))?.sid ?? null;
}
