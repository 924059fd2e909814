/**
 * The agent's kernel objects behind one interface, and the ONE adapter that reaches them:
 *   - policy routing + the steering chain (datapath/steering.ts): protected flows to the TUN
 *   - routes to tunnel rules' remote networks (agent/tunnel-routes.ts)
 *   - the inbound guard (agent/inbound-guard.ts): cleartext of protected flows dropped
 *   - the firewall table and its bypass set (firewall/*): loaded at start, peers added and
 *     removed as their IKE SAs come and go
 * The core (core.ts) only sees `AgentKernel`; tests give it `createFakeKernel`, which keeps
 * the same state in memory and answers what the firewall would do with a packet through
 * the in-memory evaluator (firewall/evaluate.ts). Those modules are being merged into one
 * nftables owner: this file is the one place their calls change.
 */
import {
  applySteering,
  DEFAULT_STEERING,
  removeSteering,
  type SteeringConfig,
  steeringChains,
} from "../datapath/steering.js";
import type { TrafficSelector } from "../esp/sa.js";
import { createApplier } from "../firewall/apply.js";
import {
  type BypassPeer,
  type BypassSet,
  clearBypassPeers,
  createBypassSet,
} from "../firewall/bypass.js";
import { type Decision, evaluateInbound, type InboundPacket } from "../firewall/evaluate.js";
import { BYPASS_DEVICE, type FirewallSettings } from "../firewall/model.js";
import { createNftRunner } from "../firewall/nft.js";
import { watchedEffectiveSettings } from "../firewall/gpo-layer.js";
import { createNftTable } from "../platform/nftables.js";
import type { NetConfig } from "../platform/routing.js";
import { guardChains, removeGuard } from "./inbound-guard.js";
import { removeTunnelRoutes, syncTunnelRoutes, type TunnelRoute } from "./tunnel-routes.js";

export type { SteeringConfig };

/** What the plan asks of the kernel: steered selectors, guarded selectors, clear peers. */
export interface KernelRules {
  steering: readonly TrafficSelector[];
  guard: readonly TrafficSelector[];
  /** Peers a `soft` action fell back to cleartext with: neither steered nor guarded. */
  clearPeers: readonly string[];
  /** Routes to tunnel rules' remote networks through the TUN. */
  routes: readonly TunnelRoute[];
}

export interface AgentKernel {
  /** TUN up, policy routing, steering and guard. */
  install(rules: KernelRules): Promise<void>;
  /** Steering and guard again, in one nft transaction (policy reload, soft fallback). */
  update(rules: KernelRules): Promise<void>;
  /** Undoes install; the firewall table stays loaded (fail closed). */
  remove(): void;
  /** The host's firewall settings, null when it has none. */
  firewallSettings(): FirewallSettings | null;
  /**
   * Empties the bypass sets (stale peers of an agent that died went with its SAs) and loads
   * the firewall's chains from the settings; a line to log, null without settings.
   */
  loadFirewall(): Promise<string | null>;
  /** The same on a policy reload; never throws (the reason is the line). */
  reloadFirewall(): Promise<string | null>;
  /** The firewall's authenticated-bypass set. */
  bypass: BypassSet;
}

/** The steering of this host: the defaults (TUN postern0, marks, table), some overridden. */
export function hostSteering(o: {
  listenPort: number;
  tun?: string;
  mtu?: number;
  /** With the bypass device (IKE: SAs have identities; manual keys: none). */
  bypassDevice?: boolean;
}): SteeringConfig {
  return {
    ...DEFAULT_STEERING,
    ...(o.bypassDevice === true ? { bypassTun: BYPASS_DEVICE } : {}),
    tun: o.tun ?? DEFAULT_STEERING.tun,
    mtu: o.mtu ?? DEFAULT_STEERING.mtu,
    listenPort: o.listenPort,
  };
}

/** The devices the agent delivers opened packets on: the TUN and the bypass device. */
const devicesOf = (s: SteeringConfig): string[] =>
  s.bypassTun === undefined ? [s.tun] : [s.tun, s.bypassTun];

export interface HostKernelDeps {
  home: string;
  net: NetConfig;
  steering: SteeringConfig;
  /** Where the tunnel routes' changes are told. */
  log?: (line: string) => void;
}

/** The real kernel: `ip`, sysctls and `nft` through NetConfig and the firewall's runner. */
export function createHostKernel(d: HostKernelDeps): AgentKernel {
  const runner = createNftRunner({});
  const table = createNftTable(runner);
  // local settings with the GPO layer over them (firewall/gpo-layer.ts), read again only
  // when a file changed: each IKE SA's bypass decision asks for them
  const settings = watchedEffectiveSettings(d.home);
  // Steering and guard chains of table inet postern in one transaction; no guarded
  // selector (manual keys, tunnel-only policies): no guard chain at all.
  const steer = (r: KernelRules) =>
    table.write({
      steering: steeringChains(d.steering, r.steering, r.clearPeers),
      guard:
        r.guard.length === 0 ? null : guardChains(devicesOf(d.steering), r.guard, r.clearPeers),
    });
  const route = (r: KernelRules) => {
    for (const l of syncTunnelRoutes(d.net, d.steering.tun, r.routes)) d.log?.(l);
  };
  return {
    async install(r) {
      applySteering(d.net, d.steering, [...r.steering]);
      route(r);
      await steer(r);
    },
    async update(r) {
      route(r);
      await steer(r);
    },
    remove() {
      removeTunnelRoutes(d.net);
      removeSteering(d.net, d.steering);
      removeGuard(d.net);
    },
    firewallSettings: settings,
    async loadFirewall() {
      await clearBypassPeers(runner);
      const s = settings();
      if (s === null) return null;
      const r = await createApplier({ runner }).apply(s);
      return r.changed
        ? `firewall rules loaded (table inet postern ${r.digest})`
        : "firewall rules already current";
    },
    async reloadFirewall() {
      const s = settings();
      if (s === null) return null;
      try {
        const r = await createApplier({ runner }).apply(s);
        return r.changed ? `firewall rules reloaded (${r.keptPeers} bypass peers kept)` : null;
      } catch (e) {
        return `firewall rules not reloaded: ${(e as Error).message}`;
      }
    },
    bypass: createBypassSet(runner),
  };
}

export interface FakeKernel extends AgentKernel {
  /** The rules in force (null before install and after remove). */
  readonly rules: KernelRules | null;
  /** Addresses in the bypass set now. */
  bypassed(): string[];
  /** What the firewall does with an inbound packet (accept without settings). */
  admits(pkt: InboundPacket): Decision;
}

/** In-memory kernel for in-process tests: same state, the firewall's evaluator as nft. */
export function createFakeKernel(settings: () => FirewallSettings | null): FakeKernel {
  let rules: KernelRules | null = null;
  const peers = new Map<string, number>();
  return {
    get rules() {
      return rules;
    },
    async install(r) {
      rules = r;
    },
    async update(r) {
      rules = r;
    },
    remove() {
      rules = null;
    },
    firewallSettings: settings,
    loadFirewall: async () => (settings() === null ? null : "firewall rules loaded (fake)"),
    reloadFirewall: async () => null,
    bypass: {
      async addBypassPeer(address, timeoutSec) {
        peers.set(address, timeoutSec);
      },
      async removeBypassPeer(address) {
        peers.delete(address);
      },
      async listBypassPeers(): Promise<BypassPeer[]> {
        return [...peers].map(([address, t]) => ({ address, expiresSec: t === 0 ? null : t }));
      },
    },
    bypassed: () => [...peers.keys()],
    admits(pkt) {
      const s = settings();
      if (s === null) return { verdict: "accept", reason: "firewall-off" };
      return evaluateInbound(s, pkt, { localSubnets: [] });
    },
  };
}
