/**
 * What the agent derives from the assigned policy of the local store:
 *   1. the SPD (compilePolicy): for a packet, negotiate -> protect, permit -> bypass,
 *      block -> discard, with the rule and filter action that decided;
 *   2. the steering selectors: every negotiate or block filter instance as seen from this
 *      host (source side covers one of our addresses or is "any") goes to the TUN;
 *   3. responder peers: one PeerConfig per negotiate instance (peerFromPolicy), the remote
 *      address a single host or "%any", selectors the filter's sides;
 *      then, when the policy's default response rule is active, one more responder for any
 *      peer (`DEFAULT_RESPONSE_PEER`, last so a rule's own peer wins): it answers a peer
 *      that asks to negotiate with the default rule's methods and protects the flow the
 *      peer asks for, narrowed to the pair of hosts (Windows' default response rule);
 *   4. tunnel routes (agent/tunnel-routes.ts): the remote side of each negotiate tunnel
 *      filter as written (the mirrored copy's remote side is ours), with its source;
 *   5. initiator peers on ACQUIRE (`peerForPacket`): host-to-host selectors in transport
 *      mode, the filter's sides towards the tunnel endpoint in tunnel mode.
 * Every peer forces UDP encapsulation (the data path carries ESP in UDP 4500 only), except
 * for AH-only actions (AH over the raw socket).
 * Pure: the store, our addresses and the auth providers are passed in.
 */
import type { TrafficSelector as DpSelector } from "../esp/sa.js";
import { TsType } from "../ike/constants.js";
import type { TrafficSelector as IkeTs } from "../ike/payloads/ts.js";
import { type PeerFromPolicyInput, peerFromPolicy } from "../ike/policy.js";
import type { PeerConfig } from "../ike/types.js";
import { type CompiledSpd, compilePolicy, type Decision, type Packet } from "../policy/evaluate.js";
import { EMPTY_SERVERS, expandPolicy, type FilterInstance } from "../policy/expand.js";
import { formatIp, parseIp } from "../policy/ip.js";
import type { FilterAction, Policy, PolicyStore, Rule } from "../policy/model.js";
import type { Side } from "../policy/weights.js";
import { rangeToPrefixes } from "./sa-convert.js";
import { type TunnelRoute, tunnelRoutesOf } from "./tunnel-routes.js";

export type Providers = PeerFromPolicyInput["providers"];

export interface PolicyPlan {
  policy: Policy | null;
  spd: CompiledSpd;
  steering: DpSelector[];
  /** Negotiate selectors (transport rules) whose action has no `inpass`: cleartext inbound is dropped. */
  guard: DpSelector[];
  responders: PeerConfig[];
  /** Routes for the remote networks of tunnel rules, one per prefix. */
  tunnelRoutes: TunnelRoute[];
  notes: string[];
  /** The rule and filter action a negotiate decision came from. */
  ruleOf(d: Decision): { rule: Rule; action: FilterAction } | null;
}

const ANY4: Side = { kind: "range", family: 4, lo: 0n, hi: 0xffffffffn };

function sidePrefixes(s: Side): string[] {
  const r = s.kind === "any" ? ANY4 : s;
  if (r.kind !== "range") return [];
  return rangeToPrefixes(r.lo, r.hi, r.family === 4 ? 4 : 6);
}

function bytesOf(v: bigint, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

/** An IKE traffic selector for a policy side, a protocol and a port (0 = any). */
export function ikeTs(s: Side, protocol: number, port: number): IkeTs {
  const r = s.kind === "any" ? ANY4 : s;
  const v6 = r.kind === "range" && r.family === 6;
  const n = v6 ? 16 : 4;
  return {
    tsType: v6 ? TsType.IPV6_ADDR_RANGE : TsType.IPV4_ADDR_RANGE,
    ipProtocol: protocol,
    startPort: port,
    endPort: port === 0 ? 0xffff : port,
    startAddr: bytesOf(r.kind === "range" ? r.lo : 0n, n),
    endAddr: bytesOf(r.kind === "range" ? r.hi : 0n, n),
  };
}

const hostSide = (a: string): Side => {
  const ip = parseIp(a);
  if (!ip) return { kind: "any" };
  return { kind: "range", family: ip.family, lo: ip.value, hi: ip.value };
};

function coversUs(s: Side, ours: readonly string[]): boolean {
  if (s.kind === "any") return true;
  return ours.some((a) => {
    const ip = parseIp(a);
    return ip !== null && ip.family === s.family && ip.value >= s.lo && ip.value <= s.hi;
  });
}

function singleHost(s: Side): string | null {
  if (s.kind !== "range" || s.lo !== s.hi) return null;
  return formatIp({ family: s.family, value: s.lo });
}

function steeringOf(x: FilterInstance): DpSelector[] {
  const out: DpSelector[] = [];
  for (const local of sidePrefixes(x.src)) {
    for (const remote of sidePrefixes(x.dst)) {
      out.push({
        local,
        remote,
        protocol: x.protocol,
        localPorts: x.srcPort === 0 ? [0, 65535] : [x.srcPort, x.srcPort],
        remotePorts: x.dstPort === 0 ? [0, 65535] : [x.dstPort, x.dstPort],
      });
    }
  }
  return out;
}

export function planFromStore(
  store: PolicyStore,
  ours: readonly string[],
  localAddress: string,
  providers: Providers,
  log: (line: string) => void,
  /** DNS names of the filters, resolved through the domain's DNS (absent: match nothing). */
  names: ReadonlyMap<string, string[]> = new Map(),
): PolicyPlan {
  const resolve = (name: string) => names.get(name) ?? [];
  const spd = compilePolicy(store, null, { addresses: ours }, resolve);
  const policy = spd.policy;
  const plan: PolicyPlan = {
    policy,
    spd,
    steering: [],
    guard: [],
    responders: [],
    tunnelRoutes: [],
    notes: [...spd.notes],
    ruleOf: (d) => {
      const rule = policy?.rules.find((r) => r.id === d.filter?.ruleId);
      const action = store.filterActions.find((a) => a.guid === rule?.filterAction);
      return rule && action ? { rule, action } : null;
    },
  };
  if (!policy) return plan;
  const { instances } = expandPolicy(store, policy, {
    hostAddresses: ours,
    resolve,
    servers: EMPTY_SERVERS,
  });
  for (const x of instances) {
    // Transport filters apply to this host's own traffic; a tunnel rule's source side is
    // the network behind the tunnel endpoint (our inner addresses, not `ours`).
    if (x.action === "permit" || (x.rule.tunnel === null && !coversUs(x.src, ours))) continue;
    plan.steering.push(...steeringOf(x));
    if (x.action !== "negotiate") continue;
    if (!x.filterAction.inpass && x.rule.tunnel === null) plan.guard.push(...steeringOf(x));
    if (x.rule.tunnel !== null && x.direction === "as-written" && !coversUs(x.dst, ours))
      for (const r of tunnelRoutesOf(sidePrefixes(x.dst), sidePrefixes(x.src), ours, localAddress))
        if (!plan.tunnelRoutes.some((t) => t.prefix === r.prefix)) plan.tunnelRoutes.push(r);
    const remote = x.rule.tunnel ?? singleHost(x.dst) ?? "%any";
    try {
      plan.responders.push({
        ...peerFromPolicy({
          name: `rule${x.rule.id}/f${x.filterIndex + 1}${x.direction === "mirrored" ? "m" : ""}`,
          policy,
          rule: x.rule,
          action: x.filterAction,
          localAddress,
          remoteAddress: remote,
          localTs: [ikeTs(x.src, x.protocol, x.srcPort)],
          remoteTs: [ikeTs(x.dst, x.protocol, x.dstPort)],
          providers,
        }),
        forceEncap: !ahOnly(x.filterAction),
      });
    } catch (e) {
      const line = `rule ${x.rule.id} (${x.rule.name}): ${(e as Error).message}`;
      plan.notes.push(line);
      log(line);
    }
  }
  // A default rule that cannot serve (Kerberos off a domain) is a note: the agent logs it.
  const def = defaultResponder(policy, localAddress, providers);
  if (typeof def !== "string") plan.responders.push(def);
  else if (def !== "") plan.notes.push(def);
  return plan;
}

/** The engine's name for the default response rule's responder (its child SAs steer flows). */
export const DEFAULT_RESPONSE_PEER = "default-response";

/** The peer a packet's ACQUIRE starts IKE with (peerForPacket): `rule<id>><remote>`. */
function initiatorName(ruleId: number, remoteAddress: string): string {
  return `rule${ruleId}>${remoteAddress}`;
}

/**
 * The ACQUIRE peer a child SA serves, whichever side began its IKE SA: a responder's child
 * SA carries its filter's peer name (`rule<id>/f<n>`), an initiator's `rule<id>><remote>`.
 */
export function acquirePeerOf(c: { peerName: string; remote: { address: string } }): string {
  const rule = /^rule(\d+)[/>]/.exec(c.peerName);
  return rule ? initiatorName(Number(rule[1]), c.remote.address) : c.peerName;
}

/**
 * The default response rule as a responder: any peer, this host's address on our side and
 * the peer's own address on its side (`remoteTsIsPeer`), transport mode, the rule's quick
 * mode methods and authentication. "" when the rule is off; a note when it cannot serve.
 */
function defaultResponder(
  policy: Policy,
  localAddress: string,
  providers: Providers,
): PeerConfig | string {
  const d = policy.defaultRule;
  if (!policy.activateDefaultRule || !d.active) return "";
  const action = {
    name: "<Default Response Rule>",
    action: "negotiate" as const,
    qmSecMethods: d.qmSecMethods,
    qmPfs: d.qmPfs,
  };
  try {
    return {
      ...peerFromPolicy({
        name: DEFAULT_RESPONSE_PEER,
        policy,
        rule: { id: 0, name: "<Default Response Rule>", tunnel: null, auth: d.auth },
        action,
        localAddress,
        remoteAddress: "%any",
        localTs: [ikeTs(hostSide(localAddress), 0, 0)],
        remoteTs: [ikeTs({ kind: "any" }, 0, 0)],
        providers,
      }),
      remoteTsIsPeer: true,
      forceEncap: !ahOnly(action),
    };
  } catch (e) {
    return `default response rule: not answering peers: ${(e as Error).message}`;
  }
}

/**
 * An action whose every security method is AH alone: its SAs go over the raw AH socket,
 * so its IKE SA is not forced into UDP 4500 (AH cannot be encapsulated, RFC 3948).
 */
export function ahOnly(action: Pick<FilterAction, "qmSecMethods">): boolean {
  return (
    action.qmSecMethods.length > 0 &&
    action.qmSecMethods.every((m) => m.ah !== undefined && m.esp === undefined)
  );
}

/** The initiator's PeerConfig for a packet the SPD says to protect. */
export function peerForPacket(
  plan: PolicyPlan,
  d: Decision,
  packet: Packet,
  localAddress: string,
  providers: Providers,
): PeerConfig {
  const found = plan.ruleOf(d);
  const f = d.filter;
  if (!found || !f || !plan.policy) throw new Error("no negotiate rule behind this decision");
  const { rule, action } = found;
  const tunnel = rule.tunnel;
  const remoteAddress = tunnel ?? packet.dst;
  const localSide = tunnel ? parseSide(f.src) : hostSide(packet.src);
  const remoteSide = tunnel ? parseSide(f.dst) : hostSide(packet.dst);
  return {
    ...peerFromPolicy({
      name: initiatorName(rule.id, remoteAddress),
      policy: plan.policy,
      rule,
      action,
      localAddress,
      remoteAddress,
      localTs: [ikeTs(localSide, f.protocol, f.srcPort)],
      remoteTs: [ikeTs(remoteSide, f.protocol, f.dstPort)],
      providers,
    }),
    forceEncap: !ahOnly(action),
  };
}

/** A side as FilterMatch formats it: "any", "a.b.c.d", "a.b.c.d/n" or "lo-hi". */
function parseSide(text: string): Side {
  if (text === "any") return { kind: "any" };
  const [a, b] = text.includes("-") ? text.split("-") : [text, undefined];
  const [addr, prefix] = (a ?? "").split("/");
  const ip = parseIp(addr ?? "");
  if (!ip) return { kind: "any" };
  const width = ip.family === 4 ? 32 : 128;
  if (b !== undefined) {
    const hi = parseIp(b);
    return { kind: "range", family: ip.family, lo: ip.value, hi: hi?.value ?? ip.value };
  }
  const host = (1n << BigInt(width - Number(prefix ?? width))) - 1n;
  return { kind: "range", family: ip.family, lo: ip.value & ~host, hi: ip.value | host };
}
