/**
 * The DER writer: every function returns one complete, canonical element (X.690 §10):
 * minimal lengths, minimal INTEGERs, BOOLEAN as 0x00/0xFF, primitive strings,
 * GeneralizedTime as `YYYYMMDDHHMMSSZ`. Values that cannot be encoded (an Int32 out of
 * range, a time before year 0 or after 9999, a non-ASCII IA5String) raise `Asn1Error`.
 */
import { Asn1Error, INT32_MAX, INT32_MIN, type TagClass, UINT32_MAX, UNIVERSAL } from "./der.js";

const CLASS_BITS: Record<TagClass, number> = {
  universal: 0x00,
  application: 0x40,
  context: 0x80,
  private: 0xc0,
};

function tagOctets(cls: TagClass, constructed: boolean, tag: number): number[] {
  const lead = CLASS_BITS[cls] | (constructed ? 0x20 : 0);
  if (tag < 0x1f) return [lead | tag];
  const rest: number[] = [tag & 0x7f];
  for (let t = Math.floor(tag / 128); t > 0; t = Math.floor(t / 128))
    rest.unshift(0x80 | (t & 0x7f));
  return [lead | 0x1f, ...rest];
}

function lengthOctets(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
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
  const head = [...tagOctets(cls, constructed, tag), ...lengthOctets(content.length)];
  const out = new Uint8Array(head.length + content.length);
  out.set(head, 0);
  out.set(content, head.length);
  return out;
}

/** SEQUENCE of already-encoded elements (undefined ones are left out). */
export function derSequence(items: readonly (Uint8Array | undefined)[]): Uint8Array {
  return derTlv(
    "universal",
    true,
    UNIVERSAL.SEQUENCE,
    concat(items.filter((x) => x !== undefined)),
  );
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
 * value is undefined (absent OPTIONAL fields) are left out. Tags must ascend.
 */
export function derFields(
  fields: readonly (readonly [number, Uint8Array | undefined])[],
): Uint8Array {
  const parts: Uint8Array[] = [];
  let last = -1;
  for (const [n, v] of fields) {
    if (n <= last) throw new Asn1Error("writer", `field tags out of order: [${n}] after [${last}]`);
    last = n;
    if (v !== undefined) parts.push(derExplicit(n, v));
  }
  return derTlv("universal", true, UNIVERSAL.SEQUENCE, concat(parts));
}

/** INTEGER, minimal two's complement. */
export function derInteger(value: number | bigint): Uint8Array {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new Asn1Error("writer", `INTEGER ${value} is not a safe integer`);
  }
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

export function derGeneralString(text: string): Uint8Array {
  return derTlv("universal", false, UNIVERSAL.GENERAL_STRING, UTF8.encode(text));
}

export function derIA5String(text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f)
      throw new Asn1Error("writer", `non-ASCII character in IA5String ${JSON.stringify(text)}`);
  }
  return derTlv("universal", false, UNIVERSAL.IA5_STRING, UTF8.encode(text));
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
  return derTlv("universal", false, UNIVERSAL.GENERALIZED_TIME, UTF8.encode(text));
}
