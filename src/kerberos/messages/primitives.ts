/**
 * The basic types of RFC 4120 §5.2, on top of the DER reader and writer.
 *
 * ```
 * KerberosString  ::= GeneralString (IA5String)
 * Realm           ::= KerberosString
 * KerberosTime    ::= GeneralizedTime -- with no fractional seconds
 * Microseconds    ::= INTEGER (0..999999)
 * Int32           ::= INTEGER (-2147483648..2147483647)
 * UInt32          ::= INTEGER (0..4294967295)
 * KerberosFlags   ::= BIT STRING (SIZE (32..MAX))
 *                     -- minimum number of bits shall be sent,
 *                     -- but no fewer than 32
 * ```
 *
 * KerberosFlags are held as a UInt32 number whose most significant bit is flag 0 (the
 * first bit of the BIT STRING), so `KDC_OPTIONS.forwardable` (bit 1) is `0x40000000`.
 * Flags beyond bit 31 must be zero; a BIT STRING shorter than 32 bits is zero-padded.
 * KerberosTime is a `Date` at whole seconds (milliseconds are dropped when writing).
 */
import {
  Asn1Error,
  type DerNode,
  parseDer,
  readBitString,
  readGeneralizedTime,
  readGeneralString,
  readIntegerIn,
} from "../../asn1/der.js";
import {
  derBitString,
  derGeneralizedTime,
  derGeneralString,
  derIntegerIn,
} from "../../asn1/writer.js";

export {
  readInt32,
  readOctetString,
  readSequenceOf,
  readUInt32,
  SequenceReader,
} from "../../asn1/der.js";
export {
  derFields,
  derInt32,
  derOctetString,
  derSequence,
  derUInt32,
} from "../../asn1/writer.js";

/** The protocol version number, pvno / tkt-vno / authenticator-vno (RFC 4120 §5.1). */
export const PVNO = 5;

export const readKerberosString = readGeneralString;
export const derKerberosString = derGeneralString;
export const readKerberosTime = readGeneralizedTime;
export const derKerberosTime = derGeneralizedTime;

export function readMicroseconds(node: DerNode): number {
  return readIntegerIn(node, 0, 999999, "Microseconds");
}

export function derMicroseconds(usec: number): Uint8Array {
  return derIntegerIn(usec, 0, 999999, "Microseconds");
}

/** KerberosFlags as a UInt32 (flag 0 = most significant bit). */
export function readKerberosFlags(node: DerNode): number {
  const { bytes } = readBitString(node);
  for (let i = 4; i < bytes.length; i++) {
    if (bytes[i] !== 0) throw new Asn1Error(node.path, `flag beyond bit 31 set (octet ${i})`);
  }
  let v = 0;
  for (let i = 0; i < 4; i++) v = v * 256 + (bytes[i] ?? 0);
  return v;
}

export function derKerberosFlags(flags: number): Uint8Array {
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    throw new Asn1Error("writer", `KerberosFlags ${flags} is not a UInt32`);
  }
  return derBitString(
    Uint8Array.of(flags >>> 24, (flags >>> 16) & 0xff, (flags >>> 8) & 0xff, flags & 0xff),
  );
}

/** The mask of flag number `bit` (0 = most significant). */
export function flagBit(bit: number): number {
  return (0x80000000 >>> bit) >>> 0;
}

/** True when `flags` has `mask` set. */
export function hasFlag(flags: number, mask: number): boolean {
  return (flags & mask) >>> 0 === mask;
}

/** The union of masks as a UInt32. */
export function flagsOf(...masks: number[]): number {
  let v = 0;
  for (const m of masks) v |= m;
  return v >>> 0;
}

/** The pvno-style fields: must be exactly 5. */
export function readPvno(node: DerNode): 5 {
  const v = readIntegerIn(node, 0, 255, "version number");
  if (v !== PVNO) throw new Asn1Error(node.path, `version number ${v}, expected ${PVNO}`);
  return PVNO;
}

/** msg-type must match the APPLICATION tag of the message. */
export function readMsgType(node: DerNode, expected: number): number {
  const v = readIntegerIn(node, 0, 255, "msg-type");
  if (v !== expected) throw new Asn1Error(node.path, `msg-type ${v}, expected ${expected}`);
  return v;
}

/** Decodes a whole message: parse one DER element named `name`, then `read` it. */
export function decodeWith<T>(bytes: Uint8Array, name: string, read: (node: DerNode) => T): T {
  if (!(bytes instanceof Uint8Array)) throw new Asn1Error(name, "input is not bytes");
  return read(parseDer(bytes, name));
}

/** Drops keys whose value is undefined, so decoded records carry only present fields. */
export function compact<T extends object>(o: T): T {
  // A copy without the absent fields rather than `delete`, which would leave a slow
  // dictionary-mode object for everything that reads the message afterwards.
  const src = o as Record<string, unknown>;
  let absent = false;
  for (const k in src) if (src[k] === undefined) absent = true;
  if (!absent) return o;
  const out: Record<string, unknown> = {};
  for (const k in src) if (src[k] !== undefined) out[k] = src[k];
  return out as T;
}

/**
 * A sequence number (UInt32). Like MIT's decoder, we also accept a negative Int32 and read
 * it as its unsigned 32-bit value: some RFC 1510 implementations sent sequence numbers
 * signed. We always write UInt32.
 */
export function readSeqNumber(node: DerNode): number {
  const v = readIntegerIn(node, -0x80000000, 0xffffffff, "sequence number");
  return v >>> 0;
}
