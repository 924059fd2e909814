/**
 * Tickets and peer names fetched before the first packet (issue 18 item 2): when the
 * assigned policy names a peer host outright (a negotiate rule with Kerberos whose filter
 * has this host on one side and one address on the other: the article's "me -> server1
 * TCP 80"), the agent asks for the peer's name (PTR) and a ticket for host/<name> as the
 * policy loads, so the first SA to it waits for neither. Subnets, ranges, "any" and DNS
 * names are left to the first packet, as are peers of tunnel rules (their IKE peer is the
 * tunnel endpoint, not the filter's address).
 */
import type { PolicyStore } from "../policy/model.js";

/** The peer addresses the assigned policy names outright, at most `max`, ours excluded. */
export function knownKerberosPeers(
  store: PolicyStore,
  ours: readonly string[],
  max = 64,
): string[] {
  const policy = store.policies.find((p) => p.assigned);
  if (!policy) return [];
  const peers = new Set<string>();
  for (const rule of policy.rules) {
    if (!rule.active || rule.tunnel !== null || !rule.auth.some((a) => a.kind === "kerberos"))
      continue;
    const action = store.filterActions.find((a) => a.guid === rule.filterAction);
    if (action?.action !== "negotiate") continue;
    const list = store.filterLists.find((l) => l.guid === rule.filterList);
    for (const f of list?.filters ?? []) {
      for (const [me, peer] of [
        [f.src, f.dst],
        [f.dst, f.src],
      ] as const) {
        if (me.kind !== "me" || peer.kind !== "subnet") continue;
        const host = peer.family === 4 ? peer.prefix === 32 : peer.prefix === 128;
        if (host && !ours.includes(peer.address)) peers.add(peer.address);
      }
    }
  }
  return [...peers].slice(0, max);
}
