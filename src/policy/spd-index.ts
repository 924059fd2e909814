/**
 * The SPD index: finds the most specific filter instance for a packet without looking at
 * every filter.
 *
 * Layout (built once per compile, read-only afterwards):
 *
 *   destination prefix table          key (family, prefix length, network) -> node
 *     node: protocol/port buckets     key "protocol|dstPort" (0 = any)     -> leaf
 *       leaf: instances by rank       (a large leaf adds a source prefix table)
 *
 * An address side is stored under the CIDR blocks that exactly cover it (a subnet is one
 * block, a host one block, a range at most 2 x width blocks), so the blocks holding a packet's
 * destination are found with one map look-up per distinct prefix length in use. A lookup
 * gathers the leaves for (protocol, dstPort), (protocol, any), (any, dstPort), (any, any)
 * under each such block, orders them by their best rank, and scans each only until the
 * first match or until its ranks cannot beat the best match found so far (early exit).
 *
 * Cost per lookup: O(L x 4 x (1 + scanned)) for L distinct prefix lengths (at most 33 or
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

interface PrefixTable<V> {
  any: V | undefined;
  /** Distinct prefix lengths in use, longest first, per family. */
  lens: Record<IpFamily, number[]>;
  map: Map<string, V>;
}

interface Leaf<T> {
  list: T[];
  bySrc: PrefixTable<T[]> | undefined;
}

type Node<T> = Map<string, Leaf<T>>;

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

function blockKey(family: IpFamily, prefix: number, net: bigint): string {
  return `${family}/${prefix}/${net.toString(36)}`;
}

function buildPrefixTable<T, V>(
  items: readonly T[],
  sideOf: (t: T) => Side,
  makeValue: (group: T[]) => V,
): PrefixTable<V> {
  const anyGroup: T[] = [];
  const groups = new Map<string, T[]>();
  const lens: Record<IpFamily, Set<number>> = { 4: new Set(), 6: new Set() };
  for (const item of items) {
    const side = sideOf(item);
    if (side.kind === "any") {
      anyGroup.push(item);
      continue;
    }
    for (const b of rangeToCidrs(side.lo, side.hi, familyWidth(side.family))) {
      const key = blockKey(side.family, b.prefix, b.net);
      const g = groups.get(key);
      if (g) g.push(item);
      else groups.set(key, [item]);
      lens[side.family].add(b.prefix);
    }
  }
  const map = new Map<string, V>();
  for (const [key, g] of groups) map.set(key, makeValue(g));
  const desc = (s: Set<number>) => [...s].sort((a, b) => b - a);
  return {
    any: anyGroup.length > 0 ? makeValue(anyGroup) : undefined,
    lens: { 4: desc(lens[4]), 6: desc(lens[6]) },
    map,
  };
}

/** Masks by prefix length, per family (constants, computed once). */
const MASKS: Readonly<Record<IpFamily, readonly bigint[]>> = {
  4: Array.from({ length: 33 }, (_, i) => prefixMask(i, 4)),
  6: Array.from({ length: 129 }, (_, i) => prefixMask(i, 6)),
};

/** Pushes every value of the table whose block holds address a. */
function prefixLookup<V>(t: PrefixTable<V>, a: IpAddr, out: V[]): void {
  if (t.any !== undefined) out.push(t.any);
  const masks = MASKS[a.family];
  for (const prefix of t.lens[a.family]) {
    const v = t.map.get(blockKey(a.family, prefix, a.value & (masks[prefix] as bigint)));
    if (v !== undefined) out.push(v);
  }
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
  const buckets = new Map<string, T[]>();
  for (const x of group) {
    const key = `${x.protocol}|${x.dstPort}`;
    const b = buckets.get(key);
    if (b) b.push(x);
    else buckets.set(key, [x]);
  }
  const node: Node<T> = new Map();
  for (const [key, b] of buckets) node.set(key, buildLeaf(b));
  return node;
}

function bucketKeys(p: ParsedPacket): string[] {
  const keys = [`${p.protocol}|${p.dstPort}`];
  if (p.dstPort !== 0) keys.push(`${p.protocol}|0`);
  if (p.protocol !== 0) keys.push(`0|${p.dstPort}`);
  if (p.protocol !== 0 && p.dstPort !== 0) keys.push("0|0");
  return keys;
}

export function createSpdIndex<T extends Indexed>(instances: readonly T[]): SpdIndex<T> {
  const byDst = buildPrefixTable(instances, (x) => x.dst, buildNode);

  /** The rank-ordered candidate lists that may hold a match for p. */
  function candidates(p: ParsedPacket): T[][] {
    const nodes: Node<T>[] = [];
    prefixLookup(byDst, p.dst, nodes);
    const lists: T[][] = [];
    const keys = bucketKeys(p);
    for (const node of nodes) {
      for (const key of keys) {
        const leaf = node.get(key);
        if (!leaf) continue;
        if (leaf.bySrc) prefixLookup(leaf.bySrc, p.src, lists);
        else lists.push(leaf.list);
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
