/**
 * Test-only DER walker: enough to pull a ticket apart and put it back together for the MIT
 * interop test (the real ASN.1 codec lives in src/asn1/, owned elsewhere). Definite lengths
 * only; re-encoding an unmodified tree reproduces DER input byte for byte.
 */
export interface Der {
  tag: number;
  /** Children for constructed types, else undefined. */
  children?: Der[];
  value: Uint8Array;
}

export function parseDer(buf: Uint8Array): Der {
  const { node, end } = parseAt(buf, 0);
  if (end !== buf.length) throw new Error(`DER: ${buf.length - end} trailing bytes`);
  return node;
}

function parseAt(buf: Uint8Array, at: number): { node: Der; end: number } {
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new Error("DER: high tag numbers not supported");
  let len = buf[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
  }
  const value = buf.subarray(p, p + len);
  if (p + len > buf.length) throw new Error("DER: truncated");
  const node: Der = { tag, value };
  if (tag & 0x20) {
    node.children = [];
    let q = 0;
    while (q < value.length) {
      const c = parseAt(value, q);
      node.children.push(c.node);
      q = c.end;
    }
  }
  return { node, end: p + len };
}

export function encodeDer(d: Der): Uint8Array {
  const body = d.children ? concat(d.children.map(encodeDer)) : d.value;
  const n = body.length;
  let head: number[];
  if (n < 0x80) head = [d.tag, n];
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    head = [d.tag, 0x80 | bytes.length, ...bytes];
  }
  return concat([Uint8Array.from(head), body]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The child with context tag [n] (0xa0 | n). */
export function ctx(d: Der, n: number): Der | undefined {
  return d.children?.find((c) => c.tag === (0xa0 | n));
}

export function derInt(d: Der): number {
  let v = d.value[0]! & 0x80 ? -1 : 0;
  for (const b of d.value) v = v * 256 + b;
  return v;
}
