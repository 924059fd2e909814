/**
 * The SPD index: finds the most specific filter instance for a packet without looking at
 * every filter, in O(log n) with no allocation per lookup.
 *
 * Layout (built once per compile, read-only afterwards):
 *
 *   destination blocks, per family      CIDR block -> node
 *     node: service buckets              (protocol, dstPort), then srcPort; 0 = any -> leaf
 *       leaf: ranks ascending            (a large leaf adds source blocks, the same way)
 *
 * Blocks: an address side is stored under the CIDR blocks that exactly cover it (a subnet is
 * one block, a host one block, a range at most 2 x width blocks). Any two CIDR blocks are
 * nested or disjoint, so the blocks holding an address form one chain, innermost first. The
 * blocks' boundaries (each block's first address and one past its last), sorted, cut the
 * address space into intervals; each interval knows its innermost block and each block its
 * parent. Finding every block that holds an address is one binary search over a typed array
 * and a walk up the chain: the blocks visited are those that really hold the address, not
 * one probe per prefix length in use.
 *
 * A lookup then tries, in each block, the leaves for (protocol or any) x (dstPort or any) x
 * (srcPort or any), skipping any leaf whose best rank cannot beat the best match so far. A
 * leaf's ranks are scanned in order until the first whose source holds the packet's source
 * (numbers compared, from typed arrays indexed by rank); in a leaf split by source blocks
 * every entry matches, so its first rank is its answer.
 *
 * Cost per lookup: O(log B + chain x 8 x (1 + scanned)) for B blocks; IPv4 packets take a
 * path on plain numbers (best4) with no bigint and no object per lookup.
 *
 * Pure: built from instances, no I/O, no mutable module state.
 */
import type { IpAddr } from "./ip.js";
import { familyWidth, type Side } from "./weights.js";

/** What the index needs of a filter instance. */
export interface Indexed {
  /** Unique, 0 <= rank < 2^31; lower wins. */
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

/** Leaves longer than this get a second-level index by source blocks. */
export const LEAF_SCAN_MAX = 8;

/** No match yet: above every rank. */
const NONE = 0x7fffffff;

/** Laminar CIDR blocks of one family (K = number for IPv4, bigint for IPv6). */
interface Blocks<B, V> {
  /** Interval starts, ascending. */
  bounds: B;
  /** Per interval: the innermost block holding it, or -1. */
  inner: Int32Array;
  /** Per block: the smallest block strictly holding it, or -1. */
  parent: Int32Array;
  values: V[];
  /** Per block: the lowest rank under it, read to skip a block without touching it. */
  first: Int32Array;
}

/** Blocks by family, and what every address of both families holds (`any`). */
interface Dimension<V> {
  any: V | undefined;
  anyFirst: number;
  v4: Blocks<Float64Array, V>;
  v6: Blocks<bigint[], V>;
}

interface Leaf {
  /** ranks[0], kept here so that skipping a leaf reads no array. */
  first: number;
  /** Ranks, ascending. */
  ranks: Int32Array;
  /** Set when the leaf is large: its ranks again, by source block (all of them match). */
  bySrc: Dimension<Int32Array> | undefined;
}

interface Node {
  /** The lowest rank under this node. */
  first: number;
  /** (protocol << 16 | dstPort) -> srcPort -> leaf. Small integer keys hash fastest. */
  services: Map<number, Map<number, Leaf>>;
}

export interface SpdIndex<T extends Indexed> {
  /** The matching instance with the lowest rank, or undefined. */
  best(p: ParsedPacket): T | undefined;
  /**
   * The rank of best() for an IPv4 packet given as numbers (addresses as unsigned 32-bit
   * values), or -1: no object is read or made beyond the index's arrays.
   */
  best4(src: number, dst: number, protocol: number, srcPort: number, dstPort: number): number;
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

function compareKeys<K extends number | bigint>(a: K, b: K): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Blocks from (lo, hi, item) entries that are CIDR blocks (so nested or disjoint); entries
 * with the same block share a group. `after(k)` is k + 1 in the key's type.
 */
function buildBlocks<K extends number | bigint, T extends Indexed, V>(
  entries: readonly { lo: K; hi: K; item: T }[],
  after: (k: K) => K,
  makeValue: (group: T[]) => V,
): { bounds: K[]; inner: Int32Array; parent: Int32Array; values: V[]; first: Int32Array } {
  const groups = new Map<string, { lo: K; hi: K; items: T[] }>();
  for (const e of entries) {
    const key = `${e.lo}/${e.hi}`;
    const g = groups.get(key);
    if (g) g.items.push(e.item);
    else groups.set(key, { lo: e.lo, hi: e.hi, items: [e.item] });
  }
  // Outer blocks before the blocks they hold: by first address, then the larger first.
  const blocks = [...groups.values()].sort(
    (a, b) => compareKeys(a.lo, b.lo) || compareKeys(b.hi, a.hi),
  );
  const parent = new Int32Array(blocks.length);
  const stack: number[] = [];
  blocks.forEach((b, i) => {
    while (stack.length > 0 && (blocks[stack[stack.length - 1] as number] as { hi: K }).hi < b.lo) {
      stack.pop();
    }
    parent[i] = stack.length > 0 ? (stack[stack.length - 1] as number) : -1;
    stack.push(i);
  });
  const edges: K[] = [];
  for (const b of blocks) edges.push(b.lo, after(b.hi));
  edges.sort(compareKeys);
  const bounds = edges.filter((x, i) => i === 0 || x !== edges[i - 1]);
  // Sweep the bounds: a block opens at its first address and closes one past its last.
  const inner = new Int32Array(bounds.length);
  stack.length = 0;
  let next = 0;
  bounds.forEach((x, i) => {
    while (stack.length > 0 && (blocks[stack[stack.length - 1] as number] as { hi: K }).hi < x) {
      stack.pop();
    }
    while (next < blocks.length && (blocks[next] as { lo: K }).lo <= x) stack.push(next++);
    inner[i] = stack.length > 0 ? (stack[stack.length - 1] as number) : -1;
  });
  return {
    bounds,
    inner,
    parent,
    values: blocks.map((b) => makeValue(b.items)),
    first: Int32Array.from(blocks, (b) => lowestRank(b.items)),
  };
}

function lowestRank(group: readonly Indexed[]): number {
  let first = NONE;
  for (const x of group) first = Math.min(first, x.rank);
  return first;
}

function buildDimension<T extends Indexed, V>(
  items: readonly T[],
  sideOf: (t: T) => Side,
  makeValue: (group: T[]) => V,
): Dimension<V> {
  const anyGroup: T[] = [];
  const e4: { lo: number; hi: number; item: T }[] = [];
  const e6: { lo: bigint; hi: bigint; item: T }[] = [];
  for (const item of items) {
    const side = sideOf(item);
    if (side.kind === "any") {
      anyGroup.push(item);
      continue;
    }
    const width = familyWidth(side.family);
    for (const b of rangeToCidrs(side.lo, side.hi, width)) {
      const last = b.net + (1n << BigInt(width - b.prefix)) - 1n;
      if (side.family === 4) e4.push({ lo: Number(b.net), hi: Number(last), item });
      else e6.push({ lo: b.net, hi: last, item });
    }
  }
  const v4 = buildBlocks(e4, (k) => k + 1, makeValue);
  return {
    any: anyGroup.length > 0 ? makeValue(anyGroup) : undefined,
    anyFirst: lowestRank(anyGroup),
    v4: { ...v4, bounds: Float64Array.from(v4.bounds) },
    v6: buildBlocks(e6, (k) => k + 1n, makeValue),
  };
}

/** The interval holding x (the last bound <= x), or -1 below the first bound. */
function interval4(bounds: Float64Array, x: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bounds[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function interval6(bounds: readonly bigint[], x: bigint): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bounds[mid] as bigint) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function ranksOf<T extends Indexed>(group: readonly T[]): Int32Array {
  return Int32Array.from(group, (x) => x.rank).sort();
}

function buildLeaf<T extends Indexed>(group: T[]): Leaf {
  const ranks = ranksOf(group);
  const bySrc =
    ranks.length > LEAF_SCAN_MAX ? buildDimension(group, (x) => x.src, ranksOf) : undefined;
  return { first: ranks[0] as number, ranks, bySrc };
}

function buildNode<T extends Indexed>(group: T[]): Node {
  const buckets = new Map<number, Map<number, T[]>>();
  for (const x of group) {
    const key = (x.protocol << 16) | x.dstPort;
    let bySport = buckets.get(key);
    if (!bySport) {
      bySport = new Map();
      buckets.set(key, bySport);
    }
    const b = bySport.get(x.srcPort);
    if (b) b.push(x);
    else bySport.set(x.srcPort, [x]);
  }
  const services = new Map<number, Map<number, Leaf>>();
  for (const [key, bySport] of buckets) {
    const leaves = new Map<number, Leaf>();
    for (const [sport, b] of bySport) leaves.set(sport, buildLeaf(b));
    services.set(key, leaves);
  }
  return { first: lowestRank(group), services };
}

/** Source sides by rank, as numbers: kind 0 = any, 4 or 6 = a range of that family. */
interface Sources {
  kind: Uint8Array;
  lo4: Float64Array;
  hi4: Float64Array;
  lo6: bigint[];
  hi6: bigint[];
}

/**
 * One search: the packet's fields, the best rank so far and, for all(), where every match
 * goes (null: stop at the best). A class so that V8 sees one shape and no closures; the
 * index keeps one for best() and resets it per lookup, so a lookup allocates nothing.
 */
class Search {
  best = NONE;
  family: 4 | 6 = 4;
  s4 = 0;
  s6 = 0n;
  protocol = 0;
  srcPort = 0;
  dstPort = 0;
  constructor(
    private readonly sources: Sources,
    readonly out: number[] | null,
  ) {}

  reset(family: 4 | 6, s4: number, s6: bigint, protocol: number, srcPort: number, dstPort: number) {
    this.best = NONE;
    this.family = family;
    this.s4 = s4;
    this.s6 = s6;
    this.protocol = protocol;
    this.srcPort = srcPort;
    this.dstPort = dstPort;
  }

  node(node: Node): void {
    if (this.out === null && node.first >= this.best) return;
    const { protocol: p, dstPort: d } = this;
    this.service(node, (p << 16) | d);
    if (d !== 0) this.service(node, p << 16);
    if (p !== 0) {
      this.service(node, d);
      if (d !== 0) this.service(node, 0);
    }
  }

  private service(node: Node, key: number): void {
    const leaves = node.services.get(key);
    if (leaves === undefined) return;
    const exact = leaves.get(this.srcPort);
    if (exact !== undefined) this.leaf(exact);
    if (this.srcPort !== 0) {
      const any = leaves.get(0);
      if (any !== undefined) this.leaf(any);
    }
  }

  private leaf(leaf: Leaf): void {
    const out = this.out;
    if (out === null && leaf.first >= this.best) return;
    const bySrc = leaf.bySrc;
    if (bySrc !== undefined) {
      if (bySrc.any !== undefined) this.take(bySrc.any, bySrc.anyFirst);
      if (this.family === 4) {
        const b4 = bySrc.v4;
        const i = interval4(b4.bounds, this.s4);
        for (let b = i < 0 ? -1 : (b4.inner[i] as number); b >= 0; b = b4.parent[b] as number) {
          this.take(b4.values[b] as Int32Array, b4.first[b] as number);
        }
      } else {
        const b6 = bySrc.v6;
        const i = interval6(b6.bounds, this.s6);
        for (let b = i < 0 ? -1 : (b6.inner[i] as number); b >= 0; b = b6.parent[b] as number) {
          this.take(b6.values[b] as Int32Array, b6.first[b] as number);
        }
      }
      return;
    }
    const ranks = leaf.ranks;
    for (let i = 0; i < ranks.length; i++) {
      const r = ranks[i] as number;
      if (out === null && r >= this.best) return;
      if (!this.sourceHolds(r)) continue;
      if (out !== null) out.push(r);
      else {
        this.best = r;
        return;
      }
    }
  }

  /** Ranks that all match (a source block's group), the lowest being `first`. */
  private take(ranks: Int32Array, first: number): void {
    if (this.out !== null) for (const r of ranks) this.out.push(r);
    else if (first < this.best) this.best = first;
  }

  private sourceHolds(r: number): boolean {
    const src = this.sources;
    const kind = src.kind[r];
    if (kind === 0) return true;
    if (this.family === 4) {
      return kind === 4 && (src.lo4[r] as number) <= this.s4 && this.s4 <= (src.hi4[r] as number);
    }
    return kind === 6 && (src.lo6[r] as bigint) <= this.s6 && this.s6 <= (src.hi6[r] as bigint);
  }
}

function sourcesOf(instances: readonly Indexed[]): Sources {
  const n = instances.reduce((m, x) => Math.max(m, x.rank + 1), 0);
  const s: Sources = {
    kind: new Uint8Array(n),
    lo4: new Float64Array(n),
    hi4: new Float64Array(n),
    lo6: [],
    hi6: [],
  };
  for (const x of instances) {
    if (x.src.kind === "any") continue;
    s.kind[x.rank] = x.src.family;
    if (x.src.family === 4) {
      s.lo4[x.rank] = Number(x.src.lo);
      s.hi4[x.rank] = Number(x.src.hi);
    } else {
      s.lo6[x.rank] = x.src.lo;
      s.hi6[x.rank] = x.src.hi;
    }
  }
  return s;
}

export function createSpdIndex<T extends Indexed>(instances: readonly T[]): SpdIndex<T> {
  const byDst = buildDimension(instances, (x) => x.dst, buildNode);
  const sources = sourcesOf(instances);
  const byRank: T[] = [];
  for (const x of instances) byRank[x.rank] = x;

  /** Visits every destination block holding the packet's destination. */
  function run(s: Search, family: 4 | 6, d4: number, d6: bigint): void {
    // A block's node is read only when its lowest rank could beat the best so far.
    const every = s.out !== null;
    if (byDst.any !== undefined) s.node(byDst.any);
    if (family === 4) {
      const b4 = byDst.v4;
      const i = interval4(b4.bounds, d4);
      for (let b = i < 0 ? -1 : (b4.inner[i] as number); b >= 0; b = b4.parent[b] as number) {
        if (every || (b4.first[b] as number) < s.best) s.node(b4.values[b] as Node);
      }
    } else {
      const b6 = byDst.v6;
      const i = interval6(b6.bounds, d6);
      for (let b = i < 0 ? -1 : (b6.inner[i] as number); b >= 0; b = b6.parent[b] as number) {
        if (every || (b6.first[b] as number) < s.best) s.node(b6.values[b] as Node);
      }
    }
  }

  const one = new Search(sources, null);

  /** Runs a search for a parsed packet (either family). */
  function search(s: Search, p: ParsedPacket): number {
    const four = p.src.family === 4;
    s.reset(
      p.src.family,
      four ? Number(p.src.value) : 0,
      p.src.value,
      p.protocol,
      p.srcPort,
      p.dstPort,
    );
    if (p.src.family === p.dst.family) {
      run(s, p.dst.family, four ? Number(p.dst.value) : 0, p.dst.value);
    }
    return s.best;
  }

  return {
    best(p) {
      const r = search(one, p);
      return r === NONE ? undefined : byRank[r];
    },
    best4(src, dst, protocol, srcPort, dstPort) {
      one.reset(4, src, 0n, protocol, srcPort, dstPort);
      run(one, 4, dst, 0n);
      return one.best === NONE ? -1 : one.best;
    },
    all(p) {
      const out: number[] = [];
      search(new Search(sources, out), p);
      return [...new Set(out)].sort((a, b) => a - b).map((r) => byRank[r] as T);
    },
  };
}
