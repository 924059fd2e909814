/**
 * The fuzzer's mutations: a reproducible random source (input i of seed S is always the
 * same bytes) and the mutators the targets combine: bit flips, interesting bytes, 16/32-bit
 * length-field edits (both byte orders), insertion, deletion, duplication, truncation and
 * splicing of two seeds; plus a DER-aware mutator that changes one TLV deep in the tree and
 * re-encodes every enclosing length, so the inner decoders see the mutation instead of the
 * outer length check.
 */

export interface Rng {
  /** An integer in [0, n). */
  int(n: number): number;
  chance(p: number): boolean;
  pick<T>(xs: readonly T[]): T;
  bytes(n: number): Uint8Array;
}

/** splitmix32 of (seed, index): one independent stream per input. */
export function rngFor(seed: number, index: number): Rng {
  let s = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index >>> 0, 0x85ebca6b)) >>> 0;
  s = (s + Math.floor(index / 2 ** 32)) >>> 0;
  const next = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const int = (n: number): number => (n <= 1 ? 0 : Math.floor((next() / 2 ** 32) * n));
  return {
    int,
    chance: (p) => next() / 2 ** 32 < p,
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] as T,
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = next() & 0xff;
      return out;
    },
  };
}

const INTERESTING_8 = [
  0x00, 0x01, 0x02, 0x04, 0x10, 0x1f, 0x20, 0x30, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xa0, 0xfe, 0xff,
];
const INTERESTING_16 = [0, 1, 2, 3, 4, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_32 = [
  0, 1, 4, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A length-ish value near the real length at `at`, or an interesting one. */
function lengthValue(r: Rng, size: number, buf: Uint8Array): number {
  if (r.chance(0.5)) {
    const base = buf.length - r.int(buf.length + 1);
    return (base + r.int(9) - 4) >>> 0;
  }
  return size === 2 ? r.pick(INTERESTING_16) : r.pick(INTERESTING_32);
}

function writeInt(b: Uint8Array, at: number, size: number, v: number, le: boolean): void {
  for (let k = 0; k < size; k++) {
    const shift = le ? 8 * k : 8 * (size - 1 - k);
    b[at + k] = Math.floor(v / 2 ** shift) & 0xff;
  }
}

/** One mutation of `b` (may return a new array). `other` is a second seed for splicing. */
export function mutateOnce(b: Uint8Array, r: Rng, other?: Uint8Array): Uint8Array {
  const n = b.length;
  const at = r.int(n + 1);
  switch (r.int(10)) {
    case 0: {
      if (n === 0) return r.bytes(1 + r.int(4));
      const c = Uint8Array.from(b);
      c[at % n] = (c[at % n] as number) ^ (1 << r.int(8));
      return c;
    }
    case 1: {
      if (n === 0) return Uint8Array.of(r.pick(INTERESTING_8));
      const c = Uint8Array.from(b);
      c[at % n] = r.chance(0.5) ? r.pick(INTERESTING_8) : r.int(256);
      return c;
    }
    case 2:
    case 3: {
      const size = r.chance(0.5) ? 2 : 4;
      if (n < size) return b;
      const c = Uint8Array.from(b);
      writeInt(c, r.int(n - size + 1), size, lengthValue(r, size, b), r.chance(0.3));
      return c;
    }
    case 4:
      return concat(b.subarray(0, at), r.bytes(1 + r.int(r.chance(0.9) ? 8 : 300)), b.subarray(at));
    case 5:
      return concat(b.subarray(0, at), b.subarray(at + 1 + r.int(r.chance(0.8) ? 8 : 200)));
    case 6: {
      const len = 1 + r.int(64);
      const times = r.chance(0.95) ? 1 : 1 + r.int(40);
      const piece = b.subarray(at, at + len);
      const parts: Uint8Array[] = [b.subarray(0, at)];
      for (let k = 0; k < times; k++) parts.push(piece);
      parts.push(b.subarray(at));
      return concat(...parts);
    }
    case 7:
      return b.subarray(0, at);
    case 8: {
      if (!other || other.length === 0) return b.subarray(0, at);
      return concat(b.subarray(0, at), other.subarray(r.int(other.length)));
    }
    default: {
      if (n === 0) return b;
      const c = Uint8Array.from(b);
      const from = r.int(n);
      const len = 1 + r.int(Math.min(32, n - from));
      c.copyWithin(r.int(n), from, from + len);
      return c;
    }
  }
}

/** 1 to 4 stacked mutations of a seed, sometimes splicing another seed in. */
export function mutateBytes(
  seed: Uint8Array,
  r: Rng,
  seeds: readonly Uint8Array[] = [],
): Uint8Array {
  let b = seed;
  const ops = 1 + (r.chance(0.6) ? 0 : r.int(4));
  for (let i = 0; i < ops; i++) b = mutateOnce(b, r, seeds.length ? r.pick(seeds) : undefined);
  return b;
}

// ---- DER-aware mutation ----

interface Tlv {
  /** The identifier octets as they were. */
  tag: Uint8Array;
  constructed: boolean;
  children: Tlv[] | null;
  content: Uint8Array;
}

/** Parses well-formed DER into a tree (null when it is not: then only raw mutations apply). */
function parseTlvs(b: Uint8Array, depth = 0): Tlv[] | null {
  const out: Tlv[] = [];
  let p = 0;
  while (p < b.length) {
    const t0 = p;
    const first = b[p++] as number;
    if ((first & 0x1f) === 0x1f) {
      while (p < b.length && ((b[p] as number) & 0x80) !== 0) p++;
      p++;
    }
    if (p >= b.length) return null;
    const tagEnd = p;
    let len = b[p++] as number;
    if (len & 0x80) {
      const k = len & 0x7f;
      if (k === 0 || k > 3 || p + k > b.length) return null;
      len = 0;
      for (let i = 0; i < k; i++) len = len * 256 + (b[p++] as number);
    }
    if (p + len > b.length) return null;
    const content = b.subarray(p, p + len);
    const constructed = (first & 0x20) !== 0;
    const children = constructed && depth < 40 ? parseTlvs(content, depth + 1) : null;
    if (constructed && children === null) return null;
    out.push({ tag: b.subarray(t0, tagEnd), constructed, children, content });
    p += len;
  }
  return out;
}

function encodeLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  const bytes: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.from([0x80 | bytes.length, ...bytes]);
}

function encodeTlvs(ts: readonly Tlv[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const t of ts) {
    const content = t.children ? encodeTlvs(t.children) : t.content;
    parts.push(t.tag, encodeLength(content.length), content);
  }
  return concat(...parts);
}

/**
 * Mutates one TLV of a DER encoding and re-encodes the lengths around it: its content bytes,
 * its tag, its removal, its duplication, or a child spliced from another seed.
 */
export function mutateDer(seed: Uint8Array, r: Rng, seeds: readonly Uint8Array[] = []): Uint8Array {
  const tree = parseTlvs(seed);
  if (!tree || tree.length === 0) return mutateBytes(seed, r, seeds);
  const slots: { list: Tlv[]; index: number }[] = [];
  const walk = (ts: Tlv[]) => {
    ts.forEach((t, i) => {
      slots.push({ list: ts, index: i });
      if (t.children) walk(t.children);
    });
  };
  walk(tree);
  const { list, index } = r.pick(slots);
  const node = list[index] as Tlv;
  switch (r.int(6)) {
    case 0:
      list.splice(index, 1);
      break;
    case 1:
      list.splice(index, 0, node);
      break;
    case 2: {
      const tag = Uint8Array.from(node.tag);
      if (r.chance(0.5)) tag[0] = ((tag[0] as number) & 0xe0) | r.int(31);
      else tag[0] = (tag[0] as number) ^ (1 << r.int(8));
      list[index] = { ...node, tag };
      break;
    }
    case 3: {
      const otherTree = seeds.length ? parseTlvs(r.pick(seeds)) : null;
      if (otherTree?.length) {
        const others: Tlv[] = [];
        const collect = (ts: Tlv[]) => {
          for (const t of ts) {
            others.push(t);
            if (t.children) collect(t.children);
          }
        };
        collect(otherTree);
        list[index] = r.pick(others);
      }
      break;
    }
    default: {
      const content = mutateBytes(node.children ? encodeTlvs(node.children) : node.content, r);
      list[index] = { ...node, children: null, content };
    }
  }
  return encodeTlvs(tree);
}

// ---- text ----

const TEXT_PIECES = [
  " ",
  "=",
  '"',
  "\\",
  "\t",
  "\n",
  "\r\n",
  "(",
  ")",
  ";",
  ":",
  ",",
  "-",
  "/",
  ".",
  "0",
  "-1",
  "4294967296",
  "99999999999999999999",
  "1e308",
  "NaN",
  "\u0000",
  "\u00e9",
  "\ud83d\ude00",
  "\ud800",
  "__proto__",
  "constructor",
  "toString",
  "::",
  "255.255.255.255",
  "0.0.0.0/0",
  "S-1-5-21-",
];

/** String mutations: characters and dictionary pieces inserted, deleted, duplicated, swapped. */
export function mutateText(
  seed: string,
  r: Rng,
  dict: readonly string[] = [],
  others: readonly string[] = [],
): string {
  let s = seed;
  const ops = 1 + (r.chance(0.6) ? 0 : r.int(4));
  const pieces = dict.length && r.chance(0.6) ? dict : TEXT_PIECES;
  for (let i = 0; i < ops; i++) {
    const at = r.int(s.length + 1);
    switch (r.int(7)) {
      case 0:
        s = s.slice(0, at) + r.pick(pieces) + s.slice(at);
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + 1 + r.int(8));
        break;
      case 2:
        s =
          s.slice(0, at) +
          String.fromCharCode(r.int(r.chance(0.8) ? 128 : 0x10000)) +
          s.slice(at + 1);
        break;
      case 3: {
        const len = 1 + r.int(24);
        s =
          s.slice(0, at) +
          s.slice(at, at + len).repeat(1 + r.int(r.chance(0.95) ? 2 : 50)) +
          s.slice(at + len);
        break;
      }
      case 4:
        s = s.slice(0, at);
        break;
      case 5: {
        const o = others.length ? r.pick(others) : seed;
        s = s.slice(0, at) + o.slice(r.int(o.length + 1));
        break;
      }
      default: {
        const m = /\d+/g;
        const nums = [...s.matchAll(m)];
        if (nums.length) {
          const hit = r.pick(nums);
          const v = r.pick([
            "0",
            "-1",
            "65536",
            "4294967295",
            "4294967296",
            "2147483648",
            "999999999999",
            "1.5",
            "00",
          ]);
          s = s.slice(0, hit.index) + v + s.slice((hit.index ?? 0) + hit[0].length);
        }
      }
    }
  }
  return s;
}
