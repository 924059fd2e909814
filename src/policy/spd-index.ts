/**
 * The SPD index: finds the most specific filter instance for a packet without looking at
 * every filter.
 *
 * Layout (built once per compile, read-only afterwards):
 *
 *   destination prefix table          key (family, prefix length, network)  -> node
 *     node: service buckets           (protocol, dstPort), then srcPort; 0=any -> leaf
 *       leaf: instances by rank       (a large leaf adds a source prefix table)
 *
 * An address side is stored under the CIDR blocks that exactly cover it (a subnet is one
 * block, a host one block, a range at most 2 x width blocks), so the blocks holding a packet's
 * destination are found with one map look-up per distinct prefix length in use. A lookup
 * gathers the leaves for each of (protocol or any) x (srcPort or any) x (dstPort or any)
 * under each such block, orders them by their best rank, and scans each only until the
 * first match or until its ranks cannot beat the best match found so far (early exit).
 *
 * Cost per lookup: O(L x 8 x (1 + scanned)) for L distinct prefix lengths (at most 33 or
 * 129), independent of the number of filters as long as leaves stay small; a leaf larger
 * than LEAF_SCAN_MAX is split again by source prefix, the same way.
 *
 * Pure: built from instances, no I/O, no mutable module state.
 */
import { type IpAddr, prefixMask } from "./ip.js";
import type { IpFamily } from "./model.js";
import { familyWidth, type Side } from "./weights.js";

/** What the index needs of a filter instance. */
export interface Indexed {
  rank: number;
  src: Side;
  dst: Side;
  protocol: number;
  srcPort: number;
  dstPort: number;
}

export interface ParsedPacket {
  src: IpAddr;
  dst: IpAddr;
  protocol: number;
  srcPort: number;
  dstPort: number;
}

/** Leaves longer than this get a second-level index by source prefix. */
export const LEAF_SCAN_MAX = 24;

/** One prefix length in use: the blocks of that length, by network address. */
interface Level<K, V> {
  prefix: number;
  mask: K;
  map: Map<K, V>;
}

/**
 * Blocks by prefix length, longest first. IPv4 networks are plain numbers (fast map keys
 * and masks); IPv6 networks are bigints (a Map compares bigints by value).
 */
interface PrefixTable<V> {
  any: V | undefined;
  v4: Level<number, V>[];
  v6: Level<bigint, V>[];
}

/** A packet address ready for probing: an IPv4 value also as a number. */
interface Probe {
  family: IpFamily;
  value: bigint;
  v4: number;
}

interface Leaf<T> {
  list: T[];
  bySrc: PrefixTable<T[]> | undefined;
}

/**
 * Leaves by (protocol, destination port), then by source port; 0 = any. Keys stay small
 * integers (protocol << 16 | port), which maps hash fastest.
 */
type Node<T> = Map<number, Map<number, Leaf<T>>>;

export interface SpdIndex<T extends Indexed> {
  /** The matching instance with the lowest rank, or undefined. */
  best(p: ParsedPacket): T | undefined;
  /** Every matching instance, by rank. */
  all(p: ParsedPacket): T[];
}

export function sideContains(side: Side, a: IpAddr): boolean {
  return (
    side.kind === "any" || (side.family === a.family && a.value >= side.lo && a.value <= side.hi)
  );
}

export function instanceMatches(x: Indexed, p: ParsedPacket): boolean {
  return (
    (x.protocol === 0 || x.protocol === p.protocol) &&
    (x.srcPort === 0 || x.srcPort === p.srcPort) &&
    (x.dstPort === 0 || x.dstPort === p.dstPort) &&
    sideContains(x.src, p.src) &&
    sideContains(x.dst, p.dst)
  );
}

/** The CIDR blocks that exactly cover [lo, hi] (largest aligned block first at each step). */
export function rangeToCidrs(
  lo: bigint,
  hi: bigint,
  width: number,
): { net: bigint; prefix: number }[] {
  const out: { net: bigint; prefix: number }[] = [];
  let cur = lo;
  while (cur <= hi) {
    let k = 0;
    while (
      k < width &&
      ((cur >> BigInt(k)) & 1n) === 0n &&
      cur + (1n << BigInt(k + 1)) - 1n <= hi
    ) {
      k++;
    }
    out.push({ net: cur, prefix: width - k });
    cur += 1n << BigInt(k);
  }
  return out;
}

function mask4(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function addToLevel<K, T>(levels: Map<number, Map<K, T[]>>, prefix: number, net: K, item: T) {
  let level = levels.get(prefix);
  if (!level) {
    level = new Map();
    levels.set(prefix, level);
  }
  const g = level.get(net);
  if (g) g.push(item);
  else level.set(net, [item]);
}

function toLevels<K, T, V>(
  groups: Map<number, Map<K, T[]>>,
  maskOf: (prefix: number) => K,
  makeValue: (group: T[]) => V,
): Level<K, V>[] {
  return [...groups.entries()]
    .sort(([a], [b]) => b - a)
    .map(([prefix, g]) => {
      const map = new Map<K, V>();
      for (const [net, group] of g) map.set(net, makeValue(group));
      return { prefix, mask: maskOf(prefix), map };
    });
}

function buildPrefixTable<T, V>(
  items: readonly T[],
  sideOf: (t: T) => Side,
  makeValue: (group: T[]) => V,
): PrefixTable<V> {
  const anyGroup: T[] = [];
  const groups4 = new Map<number, Map<number, T[]>>();
  const groups6 = new Map<number, Map<bigint, T[]>>();
  for (const item of items) {
    const side = sideOf(item);
    if (side.kind === "any") {
      anyGroup.push(item);
      continue;
    }
    for (const b of rangeToCidrs(side.lo, side.hi, familyWidth(side.family))) {
      if (side.family === 4) addToLevel(groups4, b.prefix, Number(b.net), item);
      else addToLevel(groups6, b.prefix, b.net, item);
    }
  }
  return {
    any: anyGroup.length > 0 ? makeValue(anyGroup) : undefined,
    v4: toLevels(groups4, mask4, makeValue),
    v6: toLevels(groups6, (prefix) => prefixMask(prefix, 6), makeValue),
  };
}

/** Pushes every value of the table whose block holds the address. */
function prefixLookup<V>(t: PrefixTable<V>, a: Probe, out: V[]): void {
  if (t.any !== undefined) out.push(t.any);
  if (a.family === 4) {
    for (const level of t.v4) {
      const v = level.map.get((a.v4 & level.mask) >>> 0);
      if (v !== undefined) out.push(v);
    }
  } else {
    for (const level of t.v6) {
      const v = level.map.get(a.value & level.mask);
      if (v !== undefined) out.push(v);
    }
  }
}

function probe(a: IpAddr): Probe {
  return { family: a.family, value: a.value, v4: a.family === 4 ? Number(a.value) : 0 };
}

function byRank<T extends Indexed>(group: T[]): T[] {
  return [...group].sort((a, b) => a.rank - b.rank);
}

function buildLeaf<T extends Indexed>(group: T[]): Leaf<T> {
  const list = byRank(group);
  const bySrc =
    list.length > LEAF_SCAN_MAX ? buildPrefixTable(list, (x) => x.src, byRank) : undefined;
  return { list, bySrc };
}

function buildNode<T extends Indexed>(group: T[]): Node<T> {
  const buckets = new Map<number, Map<number, T[]>>();
  for (const x of group) {
    const key = serviceKey(x.protocol, x.dstPort);
    let bySport = buckets.get(key);
    if (!bySport) {
      bySport = new Map();
      buckets.set(key, bySport);
    }
    const b = bySport.get(x.srcPort);
    if (b) b.push(x);
    else bySport.set(x.srcPort, [x]);
  }
  const node: Node<T> = new Map();
  for (const [key, bySport] of buckets) {
    const leaves = new Map<number, Leaf<T>>();
    for (const [sport, b] of bySport) leaves.set(sport, buildLeaf(b));
    node.set(key, leaves);
  }
  return node;
}

function serviceKey(protocol: number, dstPort: number): number {
  return (protocol << 16) | dstPort;
}

/** The (protocol, dstPort) keys that can hold a match: each exact or any. */
function serviceKeys(p: ParsedPacket): number[] {
  const keys: number[] = [];
  for (const protocol of p.protocol === 0 ? [0] : [p.protocol, 0]) {
    for (const dstPort of p.dstPort === 0 ? [0] : [p.dstPort, 0]) {
      keys.push(serviceKey(protocol, dstPort));
    }
  }
  return keys;
}

export function createSpdIndex<T extends Indexed>(instances: readonly T[]): SpdIndex<T> {
  const byDst = buildPrefixTable(instances, (x) => x.dst, buildNode);

  /** The rank-ordered candidate lists that may hold a match for p. */
  function candidates(p: ParsedPacket): T[][] {
    const nodes: Node<T>[] = [];
    prefixLookup(byDst, probe(p.dst), nodes);
    const src = probe(p.src);
    const lists: T[][] = [];
    const keys = serviceKeys(p);
    const sports = p.srcPort === 0 ? [0] : [p.srcPort, 0];
    for (const node of nodes) {
      for (const key of keys) {
        const leaves = node.get(key);
        if (!leaves) continue;
        for (const sport of sports) {
          const leaf = leaves.get(sport);
          if (!leaf) continue;
          if (leaf.bySrc) prefixLookup(leaf.bySrc, src, lists);
          else lists.push(leaf.list);
        }
      }
    }
    return lists;
  }

  return {
    best(p) {
      const lists = candidates(p);
      lists.sort((a, b) => (a[0] as T).rank - (b[0] as T).rank);
      let best: T | undefined;
      for (const list of lists) {
        if (best && (list[0] as T).rank >= best.rank) break;
        for (const x of list) {
          if (best && x.rank >= best.rank) break;
          if (instanceMatches(x, p)) {
            best = x;
            break;
          }
        }
      }
      return best;
    },
    all(p) {
      const seen = new Set<T>();
      for (const list of candidates(p)) {
        for (const x of list) if (instanceMatches(x, p)) seen.add(x);
      }
      return [...seen].sort((a, b) => a.rank - b.rank);
    },
  };
}
