/**
 * Security identifiers (MS-DTYP §2.4.2): "S-1-5-21-a-b-c-rid" strings <-> binary.
 *
 *   Revision (1) | SubAuthorityCount (1) | IdentifierAuthority (6, big-endian)
 *   | SubAuthority[SubAuthorityCount] (4 each, little-endian)
 *
 * The NDR form (RPC_SID) is the same bytes preceded by a 4-byte conformance count equal to
 * SubAuthorityCount; that wrapper lives in logon-info.ts.
 */
import { PacError } from "./errors.js";

export const MAX_SUB_AUTHORITIES = 15;

/**
 * SIDs already parsed, by text: a KDC writes the same domain and group SIDs into every PAC.
 * Bounded (emptied when full); callers get a copy, so the cached bytes never change.
 */
const parsedSids = new Map<string, Uint8Array>();
const canonicalSids = new Map<string, string>();
const MAX_REMEMBERED = 4096;

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_REMEMBERED) map.clear();
  map.set(key, value);
}

/** Binary SID from "S-1-..." text; throws PacError "pac-malformed" on bad text. */
export function sidToBytes(sid: string): Uint8Array {
  const known = parsedSids.get(sid);
  if (known) return known.slice();
  const out = parseSid(sid);
  remember(parsedSids, sid, out.slice());
  return out;
}

function parseSid(sid: string): Uint8Array {
  const m = /^S-1-(\d+)((?:-\d+)*)$/i.exec(sid);
  if (!m)
    throw new PacError("pac-malformed", `SID "${sid}" is not of the form S-1-<authority>-<sub>...`);
  // Numbers, not BigInt: a 48-bit authority is exact in a double (and a longer one is >= 2^48).
  const authority = Number(m[1]!);
  const subs = m[2] ? m[2].slice(1).split("-").map(Number) : [];
  if (authority >= 2 ** 48) {
    throw new PacError("pac-malformed", `SID "${sid}": identifier authority exceeds 48 bits`);
  }
  if (subs.length > MAX_SUB_AUTHORITIES || subs.some((s) => !(s >= 0 && s <= 0xffffffff))) {
    throw new PacError(
      "pac-malformed",
      `SID "${sid}": at most ${MAX_SUB_AUTHORITIES} sub-authorities, each a 32-bit number`,
    );
  }
  const out = new Uint8Array(8 + 4 * subs.length);
  const dv = new DataView(out.buffer);
  out[0] = 1;
  out[1] = subs.length;
  dv.setUint16(2, Math.floor(authority / 2 ** 32));
  dv.setUint32(4, authority % 2 ** 32);
  for (let i = 0; i < subs.length; i++) dv.setUint32(8 + 4 * i, subs[i]!, true);
  return out;
}

/** "S-1-..." text of the binary SID at `bytes[offset..]`; returns the text and its length. */
export function sidFromBytes(bytes: Uint8Array, offset = 0): { sid: string; length: number } {
  if (bytes.length - offset < 8) {
    throw new PacError(
      "pac-malformed",
      `SID: ${bytes.length - offset} bytes, less than the 8-byte header`,
    );
  }
  const revision = bytes[offset]!;
  const count = bytes[offset + 1]!;
  if (revision !== 1 || count > MAX_SUB_AUTHORITIES) {
    throw new PacError(
      "pac-malformed",
      `SID: revision ${revision}, ${count} sub-authorities (expected 1, <= 15)`,
    );
  }
  const length = 8 + 4 * count;
  if (bytes.length - offset < length) {
    throw new PacError(
      "pac-malformed",
      `SID: ${count} sub-authorities need ${length} bytes, have ${bytes.length - offset}`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
  const authority = dv.getUint16(2) * 2 ** 32 + dv.getUint32(4);
  const parts = [`S-1-${authority}`];
  for (let i = 0; i < count; i++) parts.push(String(dv.getUint32(8 + 4 * i, true)));
  return { sid: parts.join("-"), length };
}

/** The SID of `rid` in `domainSid` (MS-PAC §3.1: the RID appended to the domain SID). */
export function sidWithRid(domainSid: string, rid: number): string {
  return `${domainSid}-${rid >>> 0}`;
}

/** Normalises a SID string (upper-case S, no leading zeros) or throws. */
export function canonicalSid(sid: string): string {
  let c = canonicalSids.get(sid);
  if (c === undefined) {
    c = sidFromBytes(sidToBytes(sid)).sid;
    remember(canonicalSids, sid, c);
  }
  return c;
}
