/**
 * The subset of BER (X.690) that LDAPv3 uses (RFC 4511 §5.1): definite lengths only, any
 * length form on input (AD sends 4-byte long forms for short values, which DER readers
 * refuse), the shortest form on output. Pure codec: bytes <-> nested TLVs.
 *
 *   TLV = tag (1 byte; LDAP needs no high tag numbers) | length | value
 *   length = 0..127 | 0x80+n, n big-endian bytes (n <= 4 here)
 */
import { LdapError } from "./errors.js";

/** Tag classes and the constructed bit (X.690 §8.1.2). */
export const BER = {
  universal: 0x00,
  application: 0x40,
  context: 0x80,
  constructed: 0x20,
  boolean: 0x01,
  integer: 0x02,
  octetString: 0x04,
  enumerated: 0x0a,
  sequence: 0x30,
  set: 0x31,
} as const;

export interface Tlv {
  tag: number;
  value: Buffer;
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV; `value` is the content octets (already encoded children for a constructed tag). */
export function tlv(tag: number, value: Uint8Array | readonly Uint8Array[]): Buffer {
  const body = value instanceof Uint8Array ? Buffer.from(value) : Buffer.concat(value);
  return Buffer.concat([Buffer.of(tag), encodeLength(body.length), body]);
}

export function berSequence(children: readonly Uint8Array[], tag: number = BER.sequence): Buffer {
  return tlv(tag, children);
}

export function berOctets(v: string | Uint8Array, tag: number = BER.octetString): Buffer {
  return tlv(tag, typeof v === "string" ? Buffer.from(v, "utf8") : v);
}

export function berBoolean(v: boolean, tag: number = BER.boolean): Buffer {
  return tlv(tag, Buffer.of(v ? 0xff : 0x00));
}

/** Two's-complement, shortest form (X.690 §8.3). */
export function berInteger(n: number, tag: number = BER.integer): Buffer {
  if (!Number.isSafeInteger(n)) throw new RangeError(`BER INTEGER ${n} is not a safe integer`);
  const bytes: number[] = [];
  let v = BigInt(n);
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (!(v === 0n && (bytes[0]! & 0x80) === 0) && !(v === -1n && (bytes[0]! & 0x80) !== 0));
  return tlv(tag, Buffer.from(bytes));
}

export function berEnumerated(n: number): Buffer {
  return berInteger(n, BER.enumerated);
}

/**
 * Reads the TLV at `at` in `buf`; returns it and the offset after it, or null when `buf`
 * does not yet hold the whole TLV (a stream reader waits for more bytes).
 */
export function readTlv(buf: Buffer, at = 0): { tlv: Tlv; end: number } | null {
  if (buf.length < at + 2) return null;
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new LdapError(2, `BER: high tag number at offset ${at}`);
  let len = buf[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new LdapError(2, `BER: indefinite length at offset ${at} (LDAP forbids it)`);
    if (n > 4) throw new LdapError(2, `BER: ${n}-byte length at offset ${at}`);
    if (buf.length < p + n) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (buf.length < p + len) return null;
  return { tlv: { tag, value: buf.subarray(p, p + len) }, end: p + len };
}

/** The children of a constructed value; throws when they do not fill it exactly. */
export function children(value: Buffer, what: string): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < value.length) {
    const r = readTlv(value, at);
    if (!r) throw new LdapError(2, `${what}: element at offset ${at} overruns its container`);
    out.push(r.tlv);
    at = r.end;
  }
  return out;
}

export function readInteger(t: Tlv, what: string): number {
  if (t.value.length === 0 || t.value.length > 6)
    throw new LdapError(2, `${what}: INTEGER of ${t.value.length} bytes`);
  let v = t.value[0]! & 0x80 ? -1 : 0;
  for (const b of t.value) v = v * 256 + b; // starting at -1 folds in the two's complement
  return v;
}

export function readText(t: Tlv): string {
  return t.value.toString("utf8");
}

/** The i-th child with the expected tag, or an LdapError naming what was there. */
export function expect(list: Tlv[], i: number, tag: number, what: string): Tlv {
  const t = list[i];
  if (!t) throw new LdapError(2, `${what}: missing element ${i}`);
  if (t.tag !== tag)
    throw new LdapError(
      2,
      `${what}: element ${i} has tag 0x${t.tag.toString(16)}, expected 0x${tag.toString(16)}`,
    );
  return t;
}
