/**
 * The binary self-relative security descriptor of an AD object's nTSecurityDescriptor
 * (MS-DTYP 2.4.6), decoded only as far as the Group Policy access check needs: the DACL's
 * ACEs (MS-DTYP 2.4.4: ACCESS_ALLOWED, ACCESS_DENIED and their _OBJECT forms), and the
 * access check of MS-DTYP 2.5.3.2 over them.
 *
 *   SD   = revision(1)=1 sbz1(1) control(2) offOwner(4) offGroup(4) offSacl(4) offDacl(4)
 *   ACL  = revision(1) sbz1(1) size(2) count(2) sbz2(2) ace*
 *   ACE  = type(1) flags(1) size(2) mask(4) [objFlags(4) [objType(16)] [inhType(16)]] sid
 */
import { GpipsecError } from "./objects.js";

export const ACE_ALLOWED = 0;
export const ACE_DENIED = 1;
export const ACE_ALLOWED_OBJECT = 5;
export const ACE_DENIED_OBJECT = 6;
/** AceFlags: the ACE only passes down to children; it does not apply to this object. */
export const INHERIT_ONLY = 0x08;

export interface Ace {
  type: number;
  flags: number;
  mask: number;
  /** The object type GUID (lower case, no braces) of an _OBJECT ACE that names one. */
  objectType?: string;
  sid: string;
}

const SE_DACL_PRESENT = 0x0004;

function bad(what: string): never {
  throw new GpipsecError(`nTSecurityDescriptor: ${what}`);
}

/** A binary SID at `b[off..]` as S-1-... text, with its length. */
export function decodeSid(b: Buffer, off: number): { sid: string; length: number } {
  if (off + 8 > b.length) bad(`SID at ${off} runs past the end`);
  const count = b[off + 1] as number;
  if (b[off] !== 1 || count > 15)
    bad(`SID at ${off}: revision ${b[off]}, ${count} sub-authorities`);
  const length = 8 + 4 * count;
  if (off + length > b.length) bad(`SID at ${off} runs past the end`);
  const authority = b.readUIntBE(off + 2, 6);
  const parts = [`S-1-${authority}`];
  for (let i = 0; i < count; i++) parts.push(String(b.readUInt32LE(off + 8 + 4 * i)));
  return { sid: parts.join("-"), length };
}

/** A GUID in its mixed-endian binary form (MS-DTYP 2.3.4.2) as lower-case text. */
export function decodeGuid(b: Buffer, off: number): string {
  const h = (s: number, e: number) => b.subarray(off + s, off + e).toString("hex");
  const le = (s: number, e: number) =>
    Buffer.from(b.subarray(off + s, off + e))
      .reverse()
      .toString("hex");
  return `${le(0, 4)}-${le(4, 6)}-${le(6, 8)}-${h(8, 10)}-${h(10, 16)}`;
}

/** The DACL's ACEs in order; null when the descriptor has no DACL (everyone has access). */
export function decodeDacl(sd: Buffer): Ace[] | null {
  if (sd.length < 20) bad(`${sd.length} bytes, less than the 20-byte header`);
  if (sd[0] !== 1) bad(`revision ${sd[0]} (expected 1)`);
  const control = sd.readUInt16LE(2);
  const offDacl = sd.readUInt32LE(16);
  if (!(control & SE_DACL_PRESENT) || offDacl === 0) return null;
  if (offDacl + 8 > sd.length) bad(`DACL offset ${offDacl} past the end`);
  const count = sd.readUInt16LE(offDacl + 4);
  const aces: Ace[] = [];
  let p = offDacl + 8;
  for (let i = 0; i < count; i++) {
    if (p + 4 > sd.length) bad(`ACE ${i + 1} of ${count} runs past the end`);
    const type = sd[p] as number;
    const flags = sd[p + 1] as number;
    const size = sd.readUInt16LE(p + 2);
    if (size < 8 || p + size > sd.length) bad(`ACE ${i + 1}: size ${size} does not fit`);
    const end = p + size;
    if (
      type === ACE_ALLOWED ||
      type === ACE_DENIED ||
      type === ACE_ALLOWED_OBJECT ||
      type === ACE_DENIED_OBJECT
    ) {
      const mask = sd.readUInt32LE(p + 4);
      let q = p + 8;
      let objectType: string | undefined;
      if (type === ACE_ALLOWED_OBJECT || type === ACE_DENIED_OBJECT) {
        if (q + 4 > end) bad(`ACE ${i + 1}: object flags past its end`);
        const of = sd.readUInt32LE(q);
        q += 4;
        if (of & 1) {
          if (q + 16 > end) bad(`ACE ${i + 1}: object type past its end`);
          objectType = decodeGuid(sd, q);
          q += 16;
        }
        if (of & 2) q += 16;
      }
      if (q >= end) bad(`ACE ${i + 1}: no SID`);
      const { sid, length } = decodeSid(sd.subarray(0, end), q);
      if (q + length > end) bad(`ACE ${i + 1}: SID past its end`);
      aces.push({ type, flags, mask, ...(objectType ? { objectType } : {}), sid });
    }
    // Other ACE types (audit, callback, ...) grant and deny nothing here.
    p = end;
  }
  return aces;
}

/** Access mask bits (MS-DTYP 2.4.3, MS-ADTS 5.1.3.2). */
export const RIGHT_DS_CONTROL_ACCESS = 0x100;
export const RIGHT_DS_READ_PROPERTY = 0x10;
export const GENERIC_ALL = 0x10000000;
export const GENERIC_READ = 0x80000000;

/** What a caller asks of an object: bits of the mask, or an extended right by GUID. */
export type Want = { mask: number } | { extendedRight: string };

function covers(ace: Ace, want: Want): boolean {
  if ("mask" in want) {
    const m =
      ace.mask & GENERIC_ALL
        ? 0xffffffff
        : ace.mask & GENERIC_READ
          ? ace.mask | RIGHT_DS_READ_PROPERTY
          : ace.mask;
    // An object ACE naming a type limits the right to that property set: not the whole object.
    if (ace.objectType !== undefined) return false;
    return (m & want.mask) === want.mask;
  }
  if (!(ace.mask & (RIGHT_DS_CONTROL_ACCESS | GENERIC_ALL))) return false;
  return ace.objectType === undefined || ace.objectType === want.extendedRight;
}

/**
 * MS-DTYP 2.5.3.2 for one right: the ACEs in order, the first that applies to one of the
 * token's SIDs and covers the right decides (so in a canonical DACL, where Windows puts the
 * deny ACEs first, a deny wins). No DACL grants everything; an empty one nothing.
 */
export function accessCheck(
  dacl: readonly Ace[] | null,
  token: ReadonlySet<string>,
  want: Want,
): { granted: boolean; deniedBy?: string } {
  if (dacl === null) return { granted: true };
  for (const ace of dacl) {
    if (ace.flags & INHERIT_ONLY || !token.has(ace.sid) || !covers(ace, want)) continue;
    if (ace.type === ACE_DENIED || ace.type === ACE_DENIED_OBJECT)
      return { granted: false, deniedBy: ace.sid };
    return { granted: true };
  }
  return { granted: false };
}
