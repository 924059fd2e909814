/**
 * The policy evaluator: which rule, filter and action govern a packet.
 *
 * 1. choose the policy: the assigned one, or one named by GUID or name;
 * 2. expand its active rules' filters into ranked instances (expand.ts): `me`, DNS names
 *    (resolved by the caller at apply time), server types, mirrors;
 * 3. index them (spd-index.ts);
 * 4. lookup(packet): the most specific matching instance decides (weights.ts); no match, or
 *    no policy, is action "none". explain(packet) adds every matching filter and why the
 *    winner won.
 *
 * The default response rule builds no filter: it only answers peers that ask to negotiate,
 * so it never governs a packet this host sends (docs/policy-evaluation.md).
 *
 * Pure: the store, host addresses, DNS answers and server addresses are passed in; lookup
 * never throws (a malformed packet is action "none" with its reason).
 */
import { PosternError } from "../errors.js";
import {
  type Direction,
  EMPTY_SERVERS,
  expandPolicy,
  type FilterInstance,
  formatSpec,
  type ServerAddresses,
} from "./expand.js";
import { formatIp, parseIp, parseIp4, parseIp6Words } from "./ip.js";
import type { FilterActionKind, Policy, PolicyStore } from "./model.js";
import { createSpdIndex, instanceMatches, type ParsedPacket } from "./spd-index.js";
import {
  ACTION_PRECEDENCE,
  bitLength,
  describeWeight,
  familyWidth,
  type Side,
  type WeightParts,
} from "./weights.js";

export type { Direction, ServerAddresses } from "./expand.js";

/** A packet as the evaluator sees it; ports are 0 (or absent) for protocols without ports. */
export interface Packet {
  src: string;
  dst: string;
  /** IP protocol number: TCP 6, UDP 17, ICMP 1; 0 = the "any" protocol. */
  protocol: number;
  srcPort?: number;
  dstPort?: number;
}

export type Action = FilterActionKind | "none";

/** One filter instance, as shown to a person or a script. */
export interface FilterMatch {
  rule: string;
  ruleId: number;
  filterlist: string;
  /** 1-based position of the filter in its list. */
  filterIndex: number;
  description: string;
  /** Whether this instance is the filter as written or its mirror. */
  direction: Direction;
  /** The filter's mirrored flag. */
  mirrored: boolean;
  /** The filter as stored. */
  written: { src: string; dst: string; protocol: number; srcPort: number; dstPort: number };
  /** The address sides of this instance ("any", "198.18.0.20", "10.0.0.0/24"). */
  src: string;
  dst: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  weight: number;
  weightParts: WeightParts;
  /** How the weight adds up. */
  weightText: string;
  action: FilterActionKind;
  filteraction: string;
}

export interface Decision {
  action: Action;
  policy: string | null;
  rule: string | null;
  filterlist: string | null;
  filteraction: string | null;
  filter: FilterMatch | null;
  weight: number | null;
  reason: string;
}

export interface Explanation extends Decision {
  /** Every matching filter instance, most specific first (the winner first). */
  matches: FilterMatch[];
  /** Compile notes: unresolved names, ignored rules. */
  notes: string[];
}

export interface HostInfo {
  /** This host's addresses: what `me` stands for. */
  addresses: readonly string[];
}

export interface CompiledSpd {
  /** The policy in force, or null when none is assigned. */
  policy: Policy | null;
  /** Number of filter instances after expansion (mirrors, `me`, names). */
  size: number;
  notes: string[];
  lookup(packet: Packet): Decision;
  explain(packet: Packet): Explanation;
  /** Every filter instance as compiled, most specific first (for `ipsec dynamic show qmfilter`). */
  filters(): FilterMatch[];
}

/** The policy named by GUID or (case-insensitive) name, or the assigned one for null. */
export function selectPolicy(store: PolicyStore, guidOrName: string | null): Policy | null {
  if (guidOrName === null) return store.policies.find((p) => p.assigned) ?? null;
  const want = guidOrName.replace(/^\{|\}$/g, "").toLowerCase();
  const found =
    store.policies.find((p) => p.guid.toLowerCase() === want) ??
    store.policies.find((p) => p.name.toLowerCase() === guidOrName.toLowerCase());
  if (!found) {
    throw new PosternError("policy-not-found", `no policy named "${guidOrName}" in the store`);
  }
  return found;
}

/** "any", a host "198.18.0.20", a block "10.0.0.0/24", or a range "10.0.0.1-10.0.0.9". */
export function formatSide(side: Side): string {
  if (side.kind === "any") return "any";
  const lo = formatIp({ family: side.family, value: side.lo });
  if (side.lo === side.hi) return lo;
  const span = side.hi - side.lo;
  const bits = bitLength(span);
  if (span + 1n === 1n << BigInt(bits) && (side.lo & span) === 0n) {
    return `${lo}/${familyWidth(side.family) - bits}`;
  }
  return `${lo}-${formatIp({ family: side.family, value: side.hi })}`;
}

function toMatch(x: FilterInstance): FilterMatch {
  const f = x.filter;
  return {
    rule: x.rule.name,
    ruleId: x.rule.id,
    filterlist: x.filterList.name,
    filterIndex: x.filterIndex + 1,
    description: f.description,
    direction: x.direction,
    mirrored: f.mirrored,
    written: {
      src: formatSpec(f.src),
      dst: formatSpec(f.dst),
      protocol: f.protocol,
      srcPort: f.srcPort,
      dstPort: f.dstPort,
    },
    src: formatSide(x.src),
    dst: formatSide(x.dst),
    protocol: x.protocol,
    srcPort: x.srcPort,
    dstPort: x.dstPort,
    weight: x.weight,
    weightParts: x.parts,
    weightText: describeWeight(x.parts),
    action: x.action,
    filteraction: x.filterAction.name,
  };
}

function noDecision(policy: Policy | null, reason: string): Decision {
  return {
    action: "none",
    policy: policy?.name ?? null,
    rule: null,
    filterlist: null,
    filteraction: null,
    filter: null,
    weight: null,
    reason,
  };
}

/** Parses a packet; a string naming what is wrong when it cannot be one. */
export function parsePacket(p: Packet): ParsedPacket | string {
  const src = parseIp(p.src);
  const dst = parseIp(p.dst);
  if (!src) return `packet source "${p.src}" is not an IP address`;
  if (!dst) return `packet destination "${p.dst}" is not an IP address`;
  if (src.family !== dst.family) return "packet source and destination are of different families";
  const srcPort = p.srcPort ?? 0;
  const dstPort = p.dstPort ?? 0;
  const bad =
    outOfRange("protocol", p.protocol, 255) ??
    outOfRange("source port", srcPort, 65535) ??
    outOfRange("destination port", dstPort, 65535);
  return bad ?? { src, dst, protocol: p.protocol, srcPort, dstPort };
}

function inRange(n: number, max: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= max;
}

function outOfRange(what: string, n: number, max: number): string | undefined {
  return inRange(n, max) ? undefined : `packet ${what} ${n} is not 0-${max}`;
}

/** Why the winner beat the runner-up. */
export function whyWon(matches: readonly FilterMatch[]): string {
  const [win, next] = matches;
  if (!win) return "no filter matches";
  const at = `weight ${win.weight} (${win.weightText})`;
  if (!next) return `the only matching filter: ${at}`;
  const other = `rule "${next.rule}" filter ${next.filterIndex}${next.direction === "mirrored" ? " mirrored" : ""}`;
  if (win.weight > next.weight) {
    return `most specific: ${at} beats ${next.weight} of ${other}`;
  }
  if (ACTION_PRECEDENCE[win.action] < ACTION_PRECEDENCE[next.action]) {
    return `ties on weight ${win.weight} with ${other}; ${win.action} takes precedence over ${next.action} (block, permit, negotiate)`;
  }
  return `ties on weight ${win.weight} and action with ${other}; the earlier rule, then filter, then the filter as written before its mirror wins`;
}

/**
 * Compiles the assigned policy (guidOrName null) or the named one into an SPD.
 * `resolve` answers DNS names resolved at apply time; `servers` the host's server addresses.
 */
export function compilePolicy(
  store: PolicyStore,
  guidOrName: string | null,
  host: HostInfo,
  resolve: (name: string) => readonly string[],
  servers: ServerAddresses = EMPTY_SERVERS,
): CompiledSpd {
  const policy = selectPolicy(store, guidOrName);
  if (!policy) {
    const none = noDecision(null, "no IPsec policy is assigned on this host");
    return {
      policy: null,
      size: 0,
      notes: [],
      lookup: () => none,
      explain: () => ({ ...none, matches: [], notes: [] }),
      filters: () => [],
    };
  }
  const { instances, notes } = expandPolicy(store, policy, {
    hostAddresses: host.addresses,
    resolve,
    servers,
  });
  const index = createSpdIndex(instances);
  // A decision is built the first time its instance wins, then reused: compiling a large
  // policy formats nothing, and a repeated lookup allocates no decision.
  const decisions: (Decision | undefined)[] = new Array(instances.length);
  const byRank: FilterInstance[] = [];
  for (const x of instances) byRank[x.rank] = x;
  const decisionOf = (x: FilterInstance): Decision => {
    const known = decisions[x.rank];
    if (known) return known;
    const filter = toMatch(x);
    const built: Decision = {
      action: x.action,
      policy: policy.name,
      rule: x.rule.name,
      filterlist: x.filterList.name,
      filteraction: x.filterAction.name,
      filter,
      weight: x.weight,
      reason: `most specific matching filter: weight ${x.weight}`,
    };
    decisions[x.rank] = built;
    return built;
  };
  const unmatched = noDecision(
    policy,
    `no filter of policy "${policy.name}" matches: IPsec leaves this packet alone (the default response rule only answers peers that ask to negotiate)`,
  );
  // An IPv6 packet's two addresses as words (source, then destination), reused per lookup.
  const words = new Uint32Array(8);
  function lookup(packet: Packet): Decision {
    // Plain literals and valid numbers, the common case: numbers straight into the index,
    // no object made. Anything else takes the complete parse below, with its reason.
    const { protocol } = packet;
    const srcPort = packet.srcPort ?? 0;
    const dstPort = packet.dstPort ?? 0;
    if (inRange(protocol, 255) && inRange(srcPort, 65535) && inRange(dstPort, 65535)) {
      const s4 = parseIp4(packet.src);
      const d4 = parseIp4(packet.dst);
      let rank = -2; // -2: not a plain literal, parsed completely below
      if (s4 >= 0 && d4 >= 0) rank = index.best4(s4, d4, protocol, srcPort, dstPort);
      else if (
        s4 < 0 &&
        d4 < 0 &&
        parseIp6Words(packet.src, words, 0) &&
        parseIp6Words(packet.dst, words, 4)
      ) {
        rank = index.best6(words, protocol, srcPort, dstPort);
      }
      if (rank === -1) return unmatched;
      if (rank >= 0) return decisions[rank] ?? decisionOf(byRank[rank] as FilterInstance);
    }
    const p = parsePacket(packet);
    if (typeof p === "string") return noDecision(policy, p);
    const rank = index.best(p);
    return rank < 0 ? unmatched : decisionOf(byRank[rank] as FilterInstance);
  }
  function explain(packet: Packet): Explanation {
    const p = parsePacket(packet);
    if (typeof p === "string") return { ...noDecision(policy, p), matches: [], notes };
    // Every match, not only the best: a scan of the instances by rank, for a person
    // asking why; the index answers lookup().
    const found = byRank.filter((x) => instanceMatches(x, p));
    const first = found[0];
    if (!first) return { ...unmatched, matches: [], notes };
    const decision = decisionOf(first);
    const matches = found.map((x) => decisionOf(x).filter as FilterMatch);
    return { ...decision, reason: whyWon(matches), matches, notes };
  }
  const filters = () =>
    [...instances].sort((a, b) => a.rank - b.rank).map((x) => decisionOf(x).filter as FilterMatch);
  return { policy, size: instances.length, notes, lookup, explain, filters };
}
