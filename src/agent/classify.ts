/**
 * ACQUIRE's question for a packet with no SA: which peer it needs, from the SPD.
 *   1. parse the IP header (malformed: counted by the acquirer)
 *   2. SPD lookup: block -> discard, permit -> bypass, negotiate -> 3
 *   3. the peer the rule derives (policy-plan.ts peerForPacket), and how to start IKE
 */
import { parseIpPacket } from "../datapath/ippacket.js";
import type { PeerConfig } from "../ike/types.js";
import { formatIp } from "../policy/ip.js";
import type { AcquireVerdict } from "./acquire.js";
import { type PolicyPlan, peerForPacket, type Providers } from "./policy-plan.js";

export interface ClassifierDeps {
  plan: () => PolicyPlan;
  providers: () => Providers;
  local: string;
  /** Starts IKE with `peer` (added to the engine's peers first when new). */
  start: (peer: PeerConfig) => void;
}

const big = (b: Uint8Array) => b.reduce((v, x) => (v << 8n) | BigInt(x), 0n);

export function createClassifier(d: ClassifierDeps): (packet: Uint8Array) => AcquireVerdict {
  return (packet) => {
    const ip = parseIpPacket(packet);
    if (ip === null) return { kind: "malformed" };
    const family = ip.version === 4 ? 4 : 6;
    const pkt = {
      src: formatIp({ family, value: big(ip.src) }),
      dst: formatIp({ family, value: big(ip.dst) }),
      protocol: ip.protocol,
      srcPort: Math.max(ip.srcPort, 0),
      dstPort: Math.max(ip.dstPort, 0),
    };
    const plan = d.plan();
    const decision = plan.spd.lookup(pkt);
    if (decision.action === "block") return { kind: "discard" };
    if (decision.action !== "negotiate") return { kind: "bypass" };
    let peer: PeerConfig;
    try {
      peer = peerForPacket(plan, decision, pkt, d.local, d.providers());
    } catch {
      return { kind: "malformed" };
    }
    const soft = plan.ruleOf(decision)?.action.soft ?? false;
    return { kind: "negotiate", peer: peer.name, soft, start: () => d.start(peer) };
  };
}
