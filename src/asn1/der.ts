/**
 * A small, strict DER reader (X.690 §8 and §10, the subset Kerberos uses).
 *
 * Flow of a decode: 1. `parseDer(bytes, "AS-REQ")` reads exactly one TLV (no trailing
 * bytes) 2. constructed content is split into child TLVs on demand (`childrenOf`), one level
 * at a time, so nesting depth is bounded by the schema, not by the input 3. typed readers
 * (`readInt32`, `readGeneralString`, ...) check the tag and DER's canonical-form rules
 * 4. `SequenceReader` walks explicit context tags `[0] [1] ...` in ascending order.
 *
 * Strictness: definite lengths only; the length is minimal (short form below 128, no leading
 * zero octets in the long form); a length never reaches past its buffer (checked before any
 * slicing); tag numbers in the high form are minimal; INTEGERs are minimal; BOOLEAN is
 * 0x00/0xFF; OCTET/BIT STRINGs and strings are primitive; BIT STRING unused bits are zero;
 * GeneralizedTime is exactly `YYYYMMDDHHMMSSZ` (RFC 4120 §5.2.3).
 *
 * Every failure is an `Asn1Error` whose message names the path and what arrived:
 * `AS-REQ.req-body.etype[2]: expected INTEGER, got OCTET STRING`.
 */
import { PosternError, assertNever } from "../errors.js";

export type TagClass = "universal" | "application" | "context" | "private";

/** Universal tag numbers (X.680 §8.4) used by Kerberos. */
export const UNIVERSAL = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OBJECT_IDENTIFIER: 6,
  ENUMERATED: 10,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  PRINTABLE_STRING: 19,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  GENERAL_STRING: 27,
} as const;

const UNIVERSAL_NAMES: Record<number, string> = {
  1: "BOOLEAN",
  2: "INTEGER",
  3: "BIT STRING",
  4: "OCTET STRING",
  5: "NULL",
  6: "OBJECT IDENTIFIER",
  10: "ENUMERATED",
  12: "UTF8String",
  16: "SEQUENCE",
  17: "SET",
  19: "PrintableString",
  22: "IA5String",
  23: "UTCTime",
  24: "GeneralizedTime",
  27: "GeneralString",
};

/** Malformed or unexpected DER. `path` names the field, e.g. `AS-REQ.req-body.etype[2]`. */
export class Asn1Error extends PosternError {
  readonly path: string;
  readonly detail: string;
  constructor(path: string, detail: string) {
    super("asn1-malformed", `${path}: ${detail}`);
    this.name = "Asn1Error";
    this.path = path;
    this.detail = detail;
  }
}

/** One decoded TLV. `content` and `der` are views into the input (no copies). */
export interface DerNode {
  readonly cls: TagClass;
  readonly constructed: boolean;
  readonly tag: number;
  /** The content octets (V). */
  readonly content: Uint8Array;
  /** The whole element (T, L and V), exactly as received. */
  readonly der: Uint8Array;
  /** Where this element sits, for error messages. */
  readonly path: string;
}

const CLASSES: readonly TagClass[] = ["universal", "application", "context", "private"];
/** Largest tag number we accept in the high-tag-number form. */
const MAX_TAG = 0x1fffff;
/** Longest long-form length we accept: 4 octets (lengths < 2^32). */
const MAX_LENGTH_OCTETS = 4;

/** A tag as ASN.1 prints it: `INTEGER`, `[APPLICATION 10]`, `[2]`. */
export function tagName(cls: TagClass, tag: number): string {
  switch (cls) {
    case "universal":
      return UNIVERSAL_NAMES[tag] ?? `[UNIVERSAL ${tag}]`;
    case "application":
      return `[APPLICATION ${tag}]`;
    case "context":
      return `[${tag}]`;
    case "private":
      return `[PRIVATE ${tag}]`;
    default:
      return assertNever(cls, "cls");
  }
}

export function nodeName(node: DerNode): string {
  return tagName(node.cls, node.tag);
}

/** Reads one TLV starting at `offset`; returns it and the offset after it. */
function readTlv(buf: Uint8Array, offset: number, path: string): { node: DerNode; next: number } {
  const start = offset;
  const end = buf.length;
  if (offset >= end) throw new Asn1Error(path, "expected a tag, got end of data");
  const first = buf[offset++]!;
  const cls = CLASSES[first >> 6]!;
  const constructed = (first & 0x20) !== 0;
  let tag = first & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    let n = 0;
    for (;;) {
      if (offset >= end) throw new Asn1Error(path, "truncated tag number");
      const b = buf[offset++]!;
      if (n === 0 && b === 0x80) throw new Asn1Error(path, "non-minimal tag number");
      tag = tag * 128 + (b & 0x7f);
      n++;
      if (tag > MAX_TAG) throw new Asn1Error(path, "tag number too large");
      if ((b & 0x80) === 0) break;
    }
    if (tag < 0x1f) throw new Asn1Error(path, `non-minimal tag number ${tag} in long form`);
  }
  if (offset >= end) throw new Asn1Error(path, `truncated length of ${tagName(cls, tag)}`);
  const lb = buf[offset++]!;
  let length: number;
  if (lb < 0x80) {
    length = lb;
  } else if (lb === 0x80) {
    throw new Asn1Error(path, `indefinite length of ${tagName(cls, tag)} (not DER)`);
  } else {
    const count = lb & 0x7f;
    if (count > MAX_LENGTH_OCTETS) throw new Asn1Error(path, `length of ${count} octets too long`);
    if (offset + count > end) throw new Asn1Error(path, `truncated length of ${tagName(cls, tag)}`);
    if (buf[offset] === 0) throw new Asn1Error(path, "non-minimal length (leading zero octet)");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[offset++]!;
    if (length < 0x80) throw new Asn1Error(path, `non-minimal length ${length} in long form`);
  }
  if (length > end - offset) {
    throw new Asn1Error(
      path,
      `${tagName(cls, tag)} length ${length} exceeds the ${end - offset} octets left`,
    );
  }
  const content = buf.subarray(offset, offset + length);
  const der = buf.subarray(start, offset + length);
  return { node: { cls, constructed, tag, content, der, path }, next: offset + length };
}

/** Parses `bytes` as exactly one DER element; trailing octets are an error. */
export function parseDer(input: Uint8Array, path: string): DerNode {
  // A plain Uint8Array view, so that slices of a Buffer are copies, not views.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const { node, next } = readTlv(bytes, 0, path);
  if (next !== bytes.length) {
    throw new Asn1Error(path, `${bytes.length - next} trailing octets after ${nodeName(node)}`);
  }
  return node;
}

/** The child elements of a constructed node, each given `path` (or the parent's path). */
export function childrenOf(node: DerNode, childPath?: (i: number) => string): DerNode[] {
  if (!node.constructed) throw new Asn1Error(node.path, `${nodeName(node)} is not constructed`);
  const out: DerNode[] = [];
  let off = 0;
  while (off < node.content.length) {
    const path = childPath ? childPath(out.length) : node.path;
    const { node: child, next } = readTlv(node.content, off, path);
    out.push(child);
    off = next;
  }
  return out;
}

/** Same node, reported under another path. */
export function withPath(node: DerNode, path: string): DerNode {
  return { ...node, path };
}

/** Fails unless `node` is the universal `tag` (primitive unless `constructed`). */
export function expectUniversal(node: DerNode, tag: number, constructed = false): void {
  if (node.cls !== "universal" || node.tag !== tag) {
    throw new Asn1Error(node.path, `expected ${tagName("universal", tag)}, got ${nodeName(node)}`);
  }
  if (node.constructed !== constructed) {
    const form = constructed ? "constructed" : "primitive";
    throw new Asn1Error(node.path, `expected ${form} ${tagName("universal", tag)}`);
  }
}

/** `[APPLICATION n] X` (explicit): returns the single inner element. */
export function readApplication(node: DerNode, n: number): DerNode {
  return readExplicit(node, "application", n, node.path);
}

function readExplicit(node: DerNode, cls: TagClass, n: number, innerPath: string): DerNode {
  if (node.cls !== cls || node.tag !== n) {
    throw new Asn1Error(node.path, `expected ${tagName(cls, n)}, got ${nodeName(node)}`);
  }
  if (!node.constructed) {
    throw new Asn1Error(node.path, `expected constructed ${tagName(cls, n)}`);
  }
  const { node: inner, next } = readTlv(node.content, 0, innerPath);
  if (next !== node.content.length) {
    throw new Asn1Error(innerPath, `trailing octets inside ${tagName(cls, n)}`);
  }
  return inner;
}

/** Reads `SEQUENCE { name [n] EXPLICIT T, ... }` fields in ascending tag order. */
export class SequenceReader {
  private readonly items: DerNode[];
  private index = 0;
  readonly path: string;

  constructor(node: DerNode) {
    expectUniversal(node, UNIVERSAL.SEQUENCE, true);
    this.path = node.path;
    this.items = childrenOf(node);
  }

  /** A required field. */
  req<T>(n: number, name: string, read: (node: DerNode) => T): T {
    const v = this.opt(n, name, read);
    if (v === undefined) {
      const next = this.items[this.index];
      const got = next ? nodeName(next) : "end of SEQUENCE";
      throw new Asn1Error(`${this.path}.${name}`, `expected [${n}], got ${got}`);
    }
    return v;
  }

  /** An OPTIONAL field: absent unless the next element is `[n]`. */
  opt<T>(n: number, name: string, read: (node: DerNode) => T): T | undefined {
    const next = this.items[this.index];
    if (next?.cls !== "context" || next.tag !== n) return undefined;
    this.index++;
    return read(readExplicit(next, "context", n, `${this.path}.${name}`));
  }

  /** No element may remain: unknown, duplicate or out-of-order fields are errors. */
  end(): void {
    const next = this.items[this.index];
    if (next) {
      throw new Asn1Error(this.path, `unexpected ${nodeName(next)} (unknown or out of order)`);
    }
  }
}

/** `SEQUENCE OF T`: each element reported as `path[i]`. */
export function readSequenceOf<T>(node: DerNode, read: (node: DerNode) => T): T[] {
  expectUniversal(node, UNIVERSAL.SEQUENCE, true);
  return childrenOf(node, (i) => `${node.path}[${i}]`).map(read);
}

/** Longest INTEGER we read (512 bits); Kerberos needs 4, so more is an attack or an error. */
export const MAX_INTEGER_OCTETS = 64;

/** INTEGER as a bigint; the encoding must be minimal (X.690 §8.3.2). */
export function readInteger(node: DerNode): bigint {
  expectUniversal(node, UNIVERSAL.INTEGER);
  const c = node.content;
  if (c.length === 0) throw new Asn1Error(node.path, "empty INTEGER");
  if (c.length > MAX_INTEGER_OCTETS) {
    throw new Asn1Error(
      node.path,
      `INTEGER of ${c.length} octets is longer than ${MAX_INTEGER_OCTETS}`,
    );
  }
  if (c.length > 1) {
    const a = c[0]!;
    const b = c[1]! & 0x80;
    if ((a === 0x00 && b === 0) || (a === 0xff && b !== 0)) {
      throw new Asn1Error(node.path, "non-minimal INTEGER");
    }
  }
  let v = 0n;
  for (const byte of c) v = (v << 8n) | BigInt(byte);
  if (c[0]! & 0x80) v -= 1n << BigInt(8 * c.length);
  return v;
}

/** INTEGER within [min, max], as a number. */
export function readIntegerIn(node: DerNode, min: number, max: number, what: string): number {
  if (node.cls === "universal" && node.tag === UNIVERSAL.INTEGER && node.content.length > 9) {
    throw new Asn1Error(node.path, `${what} out of range (${node.content.length}-octet INTEGER)`);
  }
  const c = node.content;
  if (c.length >= 1 && c.length <= 6 && node.cls === "universal" && !node.constructed) {
    // Up to 48 bits: exact as a number, no BigInt (the checks are readInteger's).
    if (node.tag !== UNIVERSAL.INTEGER) expectUniversal(node, UNIVERSAL.INTEGER);
    if (c.length > 1 && ((c[0] === 0 && !(c[1]! & 0x80)) || (c[0] === 0xff && c[1]! & 0x80)))
      throw new Asn1Error(node.path, "non-minimal INTEGER");
    let n = c[0]! & 0x80 ? c[0]! - 256 : c[0]!;
    for (let i = 1; i < c.length; i++) n = n * 256 + c[i]!;
    if (n < min || n > max)
      throw new Asn1Error(node.path, `${what} ${n} out of range ${min}..${max}`);
    return n;
  }
  const v = readInteger(node);
  if (v < BigInt(min) || v > BigInt(max)) {
    throw new Asn1Error(node.path, `${what} ${v} out of range ${min}..${max}`);
  }
  return Number(v);
}

export const INT32_MIN = -0x80000000;
export const INT32_MAX = 0x7fffffff;
export const UINT32_MAX = 0xffffffff;

export function readInt32(node: DerNode): number {
  return readIntegerIn(node, INT32_MIN, INT32_MAX, "Int32");
}

export function readUInt32(node: DerNode): number {
  return readIntegerIn(node, 0, UINT32_MAX, "UInt32");
}

export function readBoolean(node: DerNode): boolean {
  expectUniversal(node, UNIVERSAL.BOOLEAN);
  const c = node.content;
  if (c.length !== 1 || (c[0] !== 0 && c[0] !== 0xff)) {
    throw new Asn1Error(node.path, "BOOLEAN must be one octet 0x00 or 0xFF");
  }
  return c[0] === 0xff;
}

/** OCTET STRING (primitive only). Returns a copy, so records never alias the input. */
export function readOctetString(node: DerNode): Uint8Array {
  expectUniversal(node, UNIVERSAL.OCTET_STRING);
  return node.content.slice();
}

/** BIT STRING: the bits (unused trailing bits must be zero) and the count of bits. */
export function readBitString(node: DerNode): { bytes: Uint8Array; bitLength: number } {
  expectUniversal(node, UNIVERSAL.BIT_STRING);
  const c = node.content;
  if (c.length === 0) throw new Asn1Error(node.path, "BIT STRING without unused-bits octet");
  const unused = c[0]!;
  if (unused > 7) throw new Asn1Error(node.path, `BIT STRING unused bits ${unused} > 7`);
  if (c.length === 1 && unused !== 0)
    throw new Asn1Error(node.path, "empty BIT STRING with unused bits");
  const bytes = c.slice(1);
  if (unused > 0 && (bytes[bytes.length - 1]! & ((1 << unused) - 1)) !== 0) {
    throw new Asn1Error(node.path, "BIT STRING unused bits are not zero");
  }
  return { bytes, bitLength: bytes.length * 8 - unused };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function readText(node: DerNode, tag: number, ascii: boolean): string {
  expectUniversal(node, tag);
  if (ascii) {
    for (const b of node.content) {
      if (b > 0x7f)
        throw new Asn1Error(node.path, `non-ASCII octet 0x${b.toString(16)} in ${nodeName(node)}`);
    }
  }
  try {
    return UTF8.decode(node.content);
  } catch {
    throw new Asn1Error(node.path, `${nodeName(node)} is not valid UTF-8`);
  }
}

/** GeneralString; Kerberos peers put UTF-8 in it (RFC 4120 §5.2.1), so we read UTF-8. */
export function readGeneralString(node: DerNode): string {
  return readText(node, UNIVERSAL.GENERAL_STRING, false);
}

export function readIA5String(node: DerNode): string {
  return readText(node, UNIVERSAL.IA5_STRING, true);
}

/** The decimal number in `c[from..from+len)`, or -1 if any octet is not a digit. */
function digits(c: Uint8Array, from: number, len: number): number {
  let v = 0;
  for (let i = from; i < from + len; i++) {
    const d = c[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** GeneralizedTime in the one form RFC 4120 §5.2.3 allows: `YYYYMMDDHHMMSSZ`, UTC. */
export function readGeneralizedTime(node: DerNode): Date {
  expectUniversal(node, UNIVERSAL.GENERALIZED_TIME);
  const c = node.content;
  if (c.length !== 15) {
    throw new Asn1Error(node.path, `GeneralizedTime of ${c.length} octets is not YYYYMMDDHHMMSSZ`);
  }
  const text = () => String.fromCharCode(...c);
  const y = digits(c, 0, 4);
  const mo = digits(c, 4, 2);
  const d = digits(c, 6, 2);
  const h = digits(c, 8, 2);
  const mi = digits(c, 10, 2);
  const s = digits(c, 12, 2);
  if (c[14] !== 0x5a || y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0)
    throw new Asn1Error(
      node.path,
      `GeneralizedTime ${JSON.stringify(text())} is not YYYYMMDDHHMMSSZ`,
    );
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (y < 100) date.setUTCFullYear(y);
  if (
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    date.getUTCHours() !== h ||
    date.getUTCMinutes() !== mi ||
    date.getUTCSeconds() !== s
  ) {
    throw new Asn1Error(node.path, `GeneralizedTime ${text()} is not a valid date`);
  }
  return date;
}
