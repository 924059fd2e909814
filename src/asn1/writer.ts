/**
 * The DER writer: every function returns one complete, canonical element (X.690 §10):
 * minimal lengths, minimal INTEGERs, BOOLEAN as 0x00/0xFF, primitive strings,
 * GeneralizedTime as `YYYYMMDDHHMMSSZ`. Values that cannot be encoded (an Int32 out of
 * range, a time before year 0 or after 9999, a non-ASCII IA5String) raise `Asn1Error`.
 */
import { allocFilled } from "../bytes.js";
import { Asn1Error, INT32_MAX, INT32_MIN, type TagClass, UINT32_MAX, UNIVERSAL } from "./der.js";

const CLASS_BITS: Record<TagClass, number> = {
  universal: 0x00,
  application: 0x40,
  context: 0x80,
  private: 0xc0,
};

function tagOctets(lead: number, tag: number): number[] {
  if (tag < 0x1f) return [lead | tag];
  const rest: number[] = [tag & 0x7f];
  for (let t = Math.floor(tag / 128); t > 0; t = Math.floor(t / 128))
    rest.unshift(0x80 | (t & 0x7f));
  return [lead | 0x1f, ...rest];
}

/** Octets a definite length takes (X.690 §8.1.3). */
function lengthSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x100) return 2;
  if (n < 0x10000) return 3;
  if (n < 0x1000000) return 4;
  return 5;
}

/** Writes the definite length `n` at `off`; returns the offset after it. */
function putLength(out: Uint8Array, off: number, n: number): number {
  if (n < 0x80) {
    out[off] = n;
    return off + 1;
  }
  const size = lengthSize(n) - 1;
  out[off] = 0x80 | size;
  for (let i = size; i >= 1; i--) {
    out[off + i] = n & 0xff;
    n = Math.floor(n / 256);
  }
  return off + size + 1;
}

/**
 * Room for one element that the caller fills completely (src/bytes.ts: no backing store
 * each, and not zeroed first: every function here writes every octet of what it takes).
 */
const alloc = allocFilled;

/**
 * A single-octet identifier (tags below 31, the only ones Kerberos uses) is written
 * straight into the output; higher tags fall back to `tagOctets`. Every element is built
 * with one allocation: lengths are known before anything is copied.
 */
function tlvInto(lead: number, tag: number, contentLength: number): [Uint8Array, number] {
  if (tag < 0x1f) {
    const out = alloc(1 + lengthSize(contentLength) + contentLength);
    out[0] = lead | tag;
    return [out, putLength(out, 1, contentLength)];
  }
  const t = tagOctets(lead, tag);
  const out = alloc(t.length + lengthSize(contentLength) + contentLength);
  out.set(t, 0);
  return [out, putLength(out, t.length, contentLength)];
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = alloc(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** One TLV from its parts. */
export function derTlv(
  cls: TagClass,
  constructed: boolean,
  tag: number,
  content: Uint8Array,
): Uint8Array {
  const [out, off] = tlvInto(CLASS_BITS[cls] | (constructed ? 0x20 : 0), tag, content.length);
  out.set(content, off);
  return out;
}

const SEQUENCE_LEAD = 0x20;

/** SEQUENCE of already-encoded elements (undefined ones are left out). */
export function derSequence(items: readonly (Uint8Array | undefined)[]): Uint8Array {
  let len = 0;
  for (const x of items) if (x !== undefined) len += x.length;
  let [out, off] = tlvInto(SEQUENCE_LEAD, UNIVERSAL.SEQUENCE, len);
  for (const x of items) {
    if (x === undefined) continue;
    out.set(x, off);
    off += x.length;
  }
  return out;
}

/** `[n] EXPLICIT` around one element. */
export function derExplicit(n: number, inner: Uint8Array): Uint8Array {
  return derTlv("context", true, n, inner);
}

/** `[APPLICATION n] EXPLICIT` around one element. */
export function derApplication(n: number, inner: Uint8Array): Uint8Array {
  return derTlv("application", true, n, inner);
}

/**
 * `SEQUENCE { [0] a, [1] b OPTIONAL, ... }`: each entry is `[tag, encoded]`; entries whose
 * value is undefined (absent OPTIONAL fields) are left out. Tags must ascend. The
 * `[n]` wrappers are written in place (no intermediate element per field).
 */
export function derFields(
  fields: readonly (readonly [number, Uint8Array | undefined])[],
): Uint8Array {
  let len = 0;
  let last = -1;
  for (const [n, v] of fields) {
    if (n <= last) throw new Asn1Error("writer", `field tags out of order: [${n}] after [${last}]`);
    last = n;
    if (v === undefined) continue;
    if (n >= 0x1f) return derFieldsSlow(fields);
    len += 1 + lengthSize(v.length) + v.length;
  }
  let [out, off] = tlvInto(SEQUENCE_LEAD, UNIVERSAL.SEQUENCE, len);
  for (const [n, v] of fields) {
    if (v === undefined) continue;
    out[off] = 0xa0 | n;
    off = putLength(out, off + 1, v.length);
    out.set(v, off);
    off += v.length;
  }
  return out;
}

function derFieldsSlow(fields: readonly (readonly [number, Uint8Array | undefined])[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [n, v] of fields) if (v !== undefined) parts.push(derExplicit(n, v));
  return derSequence(parts);
}

/** INTEGER, minimal two's complement. */
export function derInteger(value: number | bigint): Uint8Array {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new Asn1Error("writer", `INTEGER ${value} is not a safe integer`);
  }
  if (typeof value === "number") return numberInteger(value);
  let v = BigInt(value);
  const bytes: number[] = [];
  for (;;) {
    const b = Number(v & 0xffn);
    bytes.unshift(b);
    v >>= 8n;
    if ((v === 0n && (b & 0x80) === 0) || (v === -1n && (b & 0x80) !== 0)) break;
  }
  return derTlv("universal", false, UNIVERSAL.INTEGER, Uint8Array.from(bytes));
}

/**
 * INTEGER for a safe-integer number: minimal two's complement without BigInt. `v & 0xff`
 * is the low octet even beyond Int32 (ToInt32 keeps the value mod 2^32), and
 * `Math.floor(v / 256)` is an arithmetic shift for negative values too.
 */
function numberInteger(value: number): Uint8Array {
  let size = 1;
  while (value < -(2 ** (8 * size - 1)) || value >= 2 ** (8 * size - 1)) size++;
  const out = new Uint8Array(2 + size);
  out[0] = UNIVERSAL.INTEGER;
  out[1] = size;
  for (let i = size - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) out[2 + i] = v & 0xff;
  return out;
}

function checkedInt(value: number, min: number, max: number, what: string): Uint8Array {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Asn1Error("writer", `${what} ${value} out of range ${min}..${max}`);
  }
  return derInteger(value);
}

export function derInt32(value: number): Uint8Array {
  return checkedInt(value, INT32_MIN, INT32_MAX, "Int32");
}

export function derUInt32(value: number): Uint8Array {
  return checkedInt(value, 0, UINT32_MAX, "UInt32");
}

export function derIntegerIn(value: number, min: number, max: number, what: string): Uint8Array {
  return checkedInt(value, min, max, what);
}

export function derBoolean(value: boolean): Uint8Array {
  return derTlv("universal", false, UNIVERSAL.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00));
}

export function derOctetString(bytes: Uint8Array): Uint8Array {
  return derTlv("universal", false, UNIVERSAL.OCTET_STRING, bytes);
}

/** BIT STRING of whole octets (unused bits 0), as Kerberos flags are sent (RFC 4120 §5.2.8). */
export function derBitString(bytes: Uint8Array): Uint8Array {
  const content = new Uint8Array(bytes.length + 1);
  content.set(bytes, 1);
  return derTlv("universal", false, UNIVERSAL.BIT_STRING, content);
}

const UTF8 = new TextEncoder();

/** A primitive string element; ASCII text is written straight in (one allocation). */
function stringTlv(tag: number, text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return derTlv("universal", false, tag, UTF8.encode(text));
  }
  const [out, off] = tlvInto(0, tag, text.length);
  for (let i = 0; i < text.length; i++) out[off + i] = text.charCodeAt(i);
  return out;
}

export function derGeneralString(text: string): Uint8Array {
  return stringTlv(UNIVERSAL.GENERAL_STRING, text);
}

export function derIA5String(text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f)
      throw new Asn1Error("writer", `non-ASCII character in IA5String ${JSON.stringify(text)}`);
  }
  return stringTlv(UNIVERSAL.IA5_STRING, text);
}

function pad(n: number, width: number): string {
  return n.toString().padStart(width, "0");
}

/** GeneralizedTime `YYYYMMDDHHMMSSZ`; milliseconds are dropped (Kerberos sends them apart). */
export function derGeneralizedTime(date: Date): Uint8Array {
  const t = date.getTime();
  const y = date.getUTCFullYear();
  if (Number.isNaN(t) || y < 0 || y > 9999) {
    throw new Asn1Error("writer", `time ${String(date)} cannot be a GeneralizedTime`);
  }
  const text =
    pad(y, 4) +
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2) +
    "Z";
  return stringTlv(UNIVERSAL.GENERALIZED_TIME, text);
}
