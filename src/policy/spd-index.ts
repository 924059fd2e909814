/**
 * The SPD index: the matching filter instance with the lowest rank (the most specific one),
 * found without looking at every filter, with no object, array or bigint made per lookup.
 *
 * Layout, built once per compile into flat typed arrays (read-only afterwards), so that a
 * lookup reads a few cache lines instead of following objects and Maps:
 *
 *   destination  per family, the CIDR blocks covering the instances' destinations. Any two
 *                CIDR blocks are nested or disjoint, so the blocks holding an address form
 *                one chain. The blocks' boundaries (each block's first address and one past
 *                its last), sorted, cut the address space into intervals; each interval
 *                knows its innermost block and each block its parent. One binary search and
 *                a walk up the chain visit exactly the blocks that hold the destination.
 *   node         one per block, and one per family for destination `any`, the root of that
 *                family's chains: its lowest rank, its parent, and which of the 8 service
 *                kinds (protocol, destination port, source port, each exact or any) its
 *                instances use, so a lookup only probes kinds that exist.
 *   service      one open-addressing hash table in an Int32Array:
 *                (node, protocol, dstPort, srcPort) -> (lowest rank, leaf).
 *   leaf         the instances of one (node, service), as the best rank for a source address:
 *                a step function, boundaries ascending from 0 and, per interval, the lowest
 *                rank whose source holds it (painted at build, lowest rank first). A leaf
 *                lookup is one binary search, whatever the number of instances.
 *
 * A lookup walks the destination chain innermost first (the more specific blocks hold the
 * lower ranks), `any` last; it skips a node, or a service, whose lowest rank cannot beat the
 * best found. Cost: O(log B + chain x kinds x log L), not the number of filters. Sources need
 * no CIDR split (a step function takes any range); destinations do (rangeToCidrs).
 *
 * Pure: built from instances, no I/O, no mutable state after the build.
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

export interface SpdIndex {
  /** The rank of the matching instance with the lowest rank, or -1. */
  best(p: ParsedPacket): number;
  /** best() for an IPv4 packet given as numbers (addresses as unsigned 32-bit values). */
  best4(src: number, dst: number, protocol: number, srcPort: number, dstPort: number): number;
  /**
   * best() for an IPv6 packet given as words (ip.ts parseIp6Words): the source in
   * words[0..3], the destination in words[4..7], most significant first.
   */
  best6(words: Uint32Array, protocol: number, srcPort: number, dstPort: number): number;
}

/** No match yet: above every rank. */
const NONE = 0x7fffffff;
const END4 = 2 ** 32;
const END6 = 1n << 128n;

/** Hash slots: key (node << 8 | protocol), key (dstPort << 16 | srcPort), lowest rank, leaf. */
const SLOT = 4;
const EMPTY = -1;
/** Node ids share a 32-bit key with the protocol's 8 bits. */
const MAX_NODES = 2 ** 23;

/** Service kind bits: which of a service's fields are exact (not "any"). */
const KIND_PROTOCOL = 4;
const KIND_DST_PORT = 2;
const KIND_SRC_PORT = 1;

/**
 * Per packet kind (the same bits, set where the packet's field is not 0): the mask of service
 * kinds that can match it, a bit per kind. An exact field can only match a packet whose field
 * is not 0, and probing it with 0 would find the "any" service a second time.
 */
const ALLOWED = Int32Array.from({ length: 8 }, (_, packet) => {
  let mask = 0;
  for (let kind = 0; kind < 8; kind++) if ((kind & ~packet) === 0) mask |= 1 << kind;
  return mask;
});

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

type Key = number | bigint;

function compareKeys<K extends Key>(a: K, b: K): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The index of the last element <= x in sorted keys (keys[0] <= x). */
function lastAtMost<K extends Key>(keys: readonly K[], x: K): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as K) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Sorted, without repeats. */
function uniqueSorted<K extends Key>(keys: K[]): K[] {
  keys.sort(compareKeys);
  return keys.filter((x, i) => i === 0 || x !== keys[i - 1]);
}

interface Range<K> {
  lo: K;
  hi: K;
  rank: number;
}

/**
 * The lowest rank holding each address, as a step function: boundaries ascending from 0 and
 * a rank (NONE: nothing) per interval, neighbours with the same rank merged. Ranges are
 * painted lowest rank first onto the intervals nobody painted yet (a "next unpainted" link
 * per interval, with path compression), so building is O(n log n).
 */
function stepFunction<K extends Key>(
  ranges: Range<K>[],
  zero: K,
  end: K,
  succ: (k: K) => K,
): { bounds: K[]; best: number[] } {
  const edges: K[] = [zero];
  for (const r of ranges) {
    edges.push(r.lo);
    if (succ(r.hi) < end) edges.push(succ(r.hi));
  }
  const bounds = uniqueSorted(edges);
  const best = new Array<number>(bounds.length).fill(NONE);
  const next = Int32Array.from({ length: bounds.length + 1 }, (_, i) => i);
  const unpainted = (from: number): number => {
    let root = from;
    while (next[root] !== root) root = next[root] as number;
    for (let i = from; next[i] !== root; ) {
      const n = next[i] as number;
      next[i] = root;
      i = n;
    }
    return root;
  };
  for (const r of [...ranges].sort((a, b) => a.rank - b.rank)) {
    const stop = succ(r.hi) < end ? lastAtMost(bounds, succ(r.hi)) : bounds.length;
    for (let j = unpainted(lastAtMost(bounds, r.lo)); j < stop; j = unpainted(j + 1)) {
      best[j] = r.rank;
      next[j] = j + 1;
    }
  }
  const out: { bounds: K[]; best: number[] } = { bounds: [], best: [] };
  bounds.forEach((b, i) => {
    if (i > 0 && best[i] === best[i - 1]) return;
    out.bounds.push(b);
    out.best.push(best[i] as number);
  });
  return out;
}

/** CIDR blocks of one family: (lo, hi) and the instances stored under the block. */
interface Block<K> {
  lo: K;
  hi: K;
  items: number[];
}

/** Blocks from (lo, hi, item) entries, outer blocks before the blocks they hold. */
function groupBlocks<K extends Key>(entries: { lo: K; hi: K; item: number }[]): Block<K>[] {
  entries.sort((a, b) => compareKeys(a.lo, b.lo) || compareKeys(b.hi, a.hi));
  const blocks: Block<K>[] = [];
  for (const e of entries) {
    const last = blocks[blocks.length - 1];
    if (last !== undefined && last.lo === e.lo && last.hi === e.hi) last.items.push(e.item);
    else blocks.push({ lo: e.lo, hi: e.hi, items: [e.item] });
  }
  return blocks;
}

/**
 * The chain of laminar blocks numbered from `base` under a root node (the family's `any`):
 * each block's parent (the root for a top-level block), and the interval boundaries (from
 * `zero`) with each interval's innermost block (the root where no block holds it).
 */
function chainOf<K extends Key>(
  blocks: readonly Block<K>[],
  base: number,
  root: number,
  zero: K,
  end: K,
  succ: (k: K) => K,
): { bounds: K[]; inner: number[]; parent: number[] } {
  const parent: number[] = [];
  const stack: number[] = [];
  const top = () => blocks[stack[stack.length - 1] as number] as Block<K>;
  const innermost = () => (stack.length > 0 ? base + (stack[stack.length - 1] as number) : root);
  for (const b of blocks) {
    while (stack.length > 0 && top().hi < b.lo) stack.pop();
    parent.push(innermost());
    stack.push(parent.length - 1);
  }
  const edges: K[] = [zero];
  for (const b of blocks) {
    edges.push(b.lo);
    if (succ(b.hi) < end) edges.push(succ(b.hi));
  }
  const bounds = uniqueSorted(edges);
  // Sweep the bounds: a block opens at its first address and closes one past its last.
  const inner: number[] = [];
  stack.length = 0;
  let next = 0;
  for (const x of bounds) {
    while (stack.length > 0 && top().hi < x) stack.pop();
    while (next < blocks.length && (blocks[next] as Block<K>).lo <= x) stack.push(next++);
    inner.push(innermost());
  }
  return { bounds, inner, parent };
}

/** The CIDR blocks covering a side, as (lo, hi). */
function cidrEntries(side: Side & { kind: "range" }): { lo: bigint; hi: bigint }[] {
  const width = familyWidth(side.family);
  return rangeToCidrs(side.lo, side.hi, width).map((b) => ({
    lo: b.net,
    hi: b.net + (1n << BigInt(width - b.prefix)) - 1n,
  }));
}

const succ4 = (k: number) => k + 1;
const succ6 = (k: bigint) => k + 1n;

/** IPv6 keys are kept as 4 words each (most significant first): numbers compared, no bigint. */
function pushWords(out: number[], v: bigint): void {
  for (let shift = 96n; shift >= 0n; shift -= 32n) out.push(Number((v >> shift) & 0xffffffffn));
}

/** Whether the key at words[4 * i] is <= the key at x[at..at + 3]. */
function atMost6(words: Uint32Array, i: number, x: Uint32Array, at: number): boolean {
  const k = 4 * i;
  for (let w = 0; w < 3; w++) {
    const a = words[k + w] as number;
    const b = x[at + w] as number;
    if (a !== b) return a < b;
  }
  return (words[k + 3] as number) <= (x[at + 3] as number);
}

/** Node fields, NODE ints per node: lowest rank, service kinds present, parent node. */
const NODE = 4;
const NODE_FIRST = 0;
const NODE_KINDS = 1;
const NODE_PARENT = 2;

/**
 * Collects the flat arrays while building. Nodes are of one family (IPv4 packets only reach
 * IPv4 nodes), so each leaf has one step function, in its family's arrays.
 */
class Builder {
  readonly nodes: number[] = [];
  /** Per service: key1, key2, lowest rank, leaf (numbered per family). */
  readonly services: number[] = [];
  readonly leafStart4: number[] = [0];
  /** IPv4 step functions: pairs (boundary as int32 bits, rank). */
  readonly steps4: number[] = [];
  readonly leafStart6: number[] = [0];
  /** IPv6 step functions: boundaries as 4 words each, and the ranks. */
  readonly bounds6: number[] = [];
  readonly best6: number[] = [];

  constructor(private readonly instances: readonly Indexed[]) {}

  /** Adds a node for the instances (by position) under one destination block or `any`. */
  node(items: readonly number[], parent: number, four: boolean): void {
    const id = this.nodes.length / NODE;
    if (id >= MAX_NODES) throw new RangeError("SPD index: too many destination blocks");
    const byService = new Map<number, Indexed[]>();
    let kinds = 0;
    let first = NONE;
    for (const i of items) {
      const x = this.instances[i] as Indexed;
      // protocol < 2^8, ports < 2^16: one exact number below 2^40.
      const key = x.protocol * 2 ** 32 + x.dstPort * 2 ** 16 + x.srcPort;
      const group = byService.get(key);
      if (group) group.push(x);
      else byService.set(key, [x]);
      kinds |=
        1 <<
        ((x.protocol !== 0 ? KIND_PROTOCOL : 0) |
          (x.dstPort !== 0 ? KIND_DST_PORT : 0) |
          (x.srcPort !== 0 ? KIND_SRC_PORT : 0));
      first = Math.min(first, x.rank);
    }
    for (const group of byService.values()) {
      const x = group[0] as Indexed;
      this.services.push(
        (id << 8) | x.protocol,
        (x.dstPort << 16) | x.srcPort,
        group.reduce((m, g) => Math.min(m, g.rank), NONE),
        four ? this.leaf4(group) : this.leaf6(group),
      );
    }
    this.nodes.push(first, kinds, parent, 0);
  }

  /** Adds a leaf's step function over IPv4 sources; returns the leaf's number. */
  private leaf4(group: readonly Indexed[]): number {
    const ranges: Range<number>[] = [];
    for (const { src, rank } of group) {
      if (src.kind === "any") ranges.push({ lo: 0, hi: END4 - 1, rank });
      else if (src.family === 4) ranges.push({ lo: Number(src.lo), hi: Number(src.hi), rank });
    }
    // No IPv4 source (a filter of mixed families): no intervals, the lookup sees none.
    if (ranges.length > 0) {
      const f = stepFunction(ranges, 0, END4, succ4);
      f.bounds.forEach((b, i) => {
        this.steps4.push(b | 0, f.best[i] as number);
      });
    }
    this.leafStart4.push(this.steps4.length);
    return this.leafStart4.length - 2;
  }

  private leaf6(group: readonly Indexed[]): number {
    const ranges: Range<bigint>[] = [];
    for (const { src, rank } of group) {
      if (src.kind === "any") ranges.push({ lo: 0n, hi: END6 - 1n, rank });
      else if (src.family === 6) ranges.push({ lo: src.lo, hi: src.hi, rank });
    }
    if (ranges.length > 0) {
      const f = stepFunction(ranges, 0n, END6, succ6);
      for (const b of f.bounds) pushWords(this.bounds6, b);
      for (const r of f.best) this.best6.push(r);
    }
    this.leafStart6.push(this.best6.length);
    return this.leafStart6.length - 2;
  }
}

/** Where a service key's probe starts in a table of `mask + 1` ints (SLOT = 4 per entry). */
function slotOf(k1: number, k2: number, mask: number): number {
  let h = Math.imul(k1, 0x9e3779b1) ^ Math.imul(k2, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) ^ (h >>> 13);
  return (h << 2) & mask;
}

/** The service table: open addressing, linear probing, at most half full. */
function serviceTable(services: readonly number[]): Int32Array {
  const count = services.length / SLOT;
  let slots = 8;
  while (slots < 2 * count) slots *= 2;
  const table = new Int32Array(slots * SLOT).fill(EMPTY);
  const mask = table.length - 1;
  for (let s = 0; s < services.length; s += SLOT) {
    let at = slotOf(services[s] as number, services[s + 1] as number, mask);
    while (table[at] !== EMPTY) at = (at + SLOT) & mask;
    for (let j = 0; j < SLOT; j++) table[at + j] = services[s + j] as number;
  }
  return table;
}

/** The built index: flat arrays and the lookups over them. */
class FlatIndex implements SpdIndex {
  private readonly table: Int32Array;
  private readonly tableMask: number;
  private readonly nodes: Int32Array;
  private readonly dst4: Uint32Array;
  private readonly inner4: Int32Array;
  private readonly dst6: Uint32Array;
  private readonly inner6: Int32Array;
  private readonly leafStart4: Int32Array;
  private readonly steps4: Int32Array;
  private readonly leafStart6: Int32Array;
  private readonly bounds6: Uint32Array;
  private readonly best6s: Int32Array;

  constructor(instances: readonly Indexed[]) {
    const any4: number[] = [];
    const any6: number[] = [];
    const e4: { lo: number; hi: number; item: number }[] = [];
    const e6: { lo: bigint; hi: bigint; item: number }[] = [];
    instances.forEach((x, item) => {
      if (x.dst.kind === "any") {
        any4.push(item);
        any6.push(item);
      } else if (x.dst.family === 4) {
        for (const b of cidrEntries(x.dst)) e4.push({ lo: Number(b.lo), hi: Number(b.hi), item });
      } else {
        for (const b of cidrEntries(x.dst)) e6.push({ ...b, item });
      }
    });
    const blocks4 = groupBlocks(e4);
    const blocks6 = groupBlocks(e6);
    // Nodes: IPv4 `any` (the IPv4 chains' root), the IPv4 blocks, IPv6 `any`, the IPv6 blocks.
    const root6 = 1 + blocks4.length;
    const chain4 = chainOf(blocks4, 1, 0, 0, END4, succ4);
    const chain6 = chainOf(blocks6, root6 + 1, root6, 0n, END6, succ6);
    const b = new Builder(instances);
    b.node(any4, -1, true);
    blocks4.forEach((block, i) => {
      b.node(block.items, chain4.parent[i] as number, true);
    });
    b.node(any6, -1, false);
    blocks6.forEach((block, i) => {
      b.node(block.items, chain6.parent[i] as number, false);
    });

    this.table = serviceTable(b.services);
    this.tableMask = this.table.length - 1;
    this.nodes = Int32Array.from(b.nodes);
    this.dst4 = Uint32Array.from(chain4.bounds);
    this.inner4 = Int32Array.from(chain4.inner);
    const dst6: number[] = [];
    for (const x of chain6.bounds) pushWords(dst6, x);
    this.dst6 = Uint32Array.from(dst6);
    this.inner6 = Int32Array.from(chain6.inner);
    this.leafStart4 = Int32Array.from(b.leafStart4);
    this.steps4 = Int32Array.from(b.steps4);
    this.leafStart6 = Int32Array.from(b.leafStart6);
    this.bounds6 = Uint32Array.from(b.bounds6);
    this.best6s = Int32Array.from(b.best6);
  }

  best(p: ParsedPacket): number {
    const { src, dst, protocol, srcPort, dstPort } = p;
    if (src.family !== dst.family) return -1;
    if (src.family === 4) {
      return this.best4(Number(src.value), Number(dst.value), protocol, srcPort, dstPort);
    }
    const words = new Uint32Array(8);
    for (let w = 0; w < 4; w++) {
      const shift = BigInt(96 - 32 * w);
      words[w] = Number((src.value >> shift) & 0xffffffffn);
      words[4 + w] = Number((dst.value >> shift) & 0xffffffffn);
    }
    return this.best6(words, protocol, srcPort, dstPort);
  }

  best4(src: number, dst: number, protocol: number, srcPort: number, dstPort: number): number {
    const allowed = allowedKinds(protocol, srcPort, dstPort);
    const bounds = this.dst4;
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((bounds[mid] as number) <= dst) lo = mid + 1;
      else hi = mid;
    }
    // Innermost first, `any` last: a more specific block tends to hold lower ranks, so more
    // of the rest is skipped.
    let best = NONE;
    const nodes = this.nodes;
    for (
      let n = this.inner4[lo - 1] as number;
      n >= 0;
      n = nodes[n * NODE + NODE_PARENT] as number
    ) {
      best = this.node(n, allowed, best, src, null, protocol, srcPort, dstPort);
    }
    return best === NONE ? -1 : best;
  }

  best6(words: Uint32Array, protocol: number, srcPort: number, dstPort: number): number {
    const allowed = allowedKinds(protocol, srcPort, dstPort);
    const bounds = this.dst6;
    let lo = 0;
    let hi = bounds.length / 4;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (atMost6(bounds, mid, words, 4)) lo = mid + 1;
      else hi = mid;
    }
    let best = NONE;
    const nodes = this.nodes;
    for (
      let n = this.inner6[lo - 1] as number;
      n >= 0;
      n = nodes[n * NODE + NODE_PARENT] as number
    ) {
      best = this.node(n, allowed, best, 0, words, protocol, srcPort, dstPort);
    }
    return best === NONE ? -1 : best;
  }

  /**
   * The best of `best` and the node's services that can match; the source is s4 for an
   * IPv4 packet (src6 null), else src6[0..3].
   */
  private node(
    n: number,
    allowed: number,
    best: number,
    s4: number,
    src6: Uint32Array | null,
    protocol: number,
    srcPort: number,
    dstPort: number,
  ): number {
    const nodes = this.nodes;
    if ((nodes[n * NODE + NODE_FIRST] as number) >= best) return best;
    const table = this.table;
    const mask = this.tableMask;
    // Kinds from the most exact down: within equal address bits, exact fields weigh more.
    for (let kinds = (nodes[n * NODE + NODE_KINDS] as number) & allowed; kinds !== 0; ) {
      const kind = 31 - Math.clz32(kinds);
      kinds ^= 1 << kind;
      const k1 = (n << 8) | (kind & KIND_PROTOCOL ? protocol : 0);
      const k2 =
        ((kind & KIND_DST_PORT ? dstPort : 0) << 16) | (kind & KIND_SRC_PORT ? srcPort : 0);
      let at = slotOf(k1, k2, mask);
      while (table[at] !== k1 || table[at + 1] !== k2) {
        if (table[at] === EMPTY) break;
        at = (at + SLOT) & mask;
      }
      if (table[at] === EMPTY || (table[at + 2] as number) >= best) continue;
      const leaf = table[at + 3] as number;
      const r = src6 === null ? this.leaf4(leaf, s4) : this.leaf6(leaf, src6);
      if (r < best) best = r;
    }
    return best;
  }

  /** The leaf's best rank for an IPv4 source (NONE when no source holds it). */
  private leaf4(leaf: number, src: number): number {
    let lo = (this.leafStart4[leaf] as number) >> 1;
    let hi = (this.leafStart4[leaf + 1] as number) >> 1;
    if (lo === hi) return NONE;
    // The first boundary is 0, so the answer is at lo - 1 >= the leaf's start.
    const steps = this.steps4;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((steps[2 * mid] as number) >>> 0 <= src) lo = mid + 1;
      else hi = mid;
    }
    return steps[2 * lo - 1] as number;
  }

  /** The same for an IPv6 source, src6[0..3]. */
  private leaf6(leaf: number, src6: Uint32Array): number {
    let lo = this.leafStart6[leaf] as number;
    let hi = this.leafStart6[leaf + 1] as number;
    if (lo === hi) return NONE;
    const bounds = this.bounds6;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (atMost6(bounds, mid, src6, 0)) lo = mid + 1;
      else hi = mid;
    }
    return this.best6s[lo - 1] as number;
  }
}

function allowedKinds(protocol: number, srcPort: number, dstPort: number): number {
  return ALLOWED[
    (protocol !== 0 ? KIND_PROTOCOL : 0) |
      (dstPort !== 0 ? KIND_DST_PORT : 0) |
      (srcPort !== 0 ? KIND_SRC_PORT : 0)
  ] as number;
}

export function createSpdIndex(instances: readonly Indexed[]): SpdIndex {
  return new FlatIndex(instances);
}
