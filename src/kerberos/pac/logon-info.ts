/**
 * KERB_VALIDATION_INFO, the PAC's LOGON_INFO buffer (MS-PAC §2.5), NDR-encoded inside an
 * MS-RPCE §2.2.6 type serialization (see src/ndr/type-serialization.ts):
 *
 *   typedef struct _KERB_VALIDATION_INFO {
 *     FILETIME LogonTime; FILETIME LogoffTime; FILETIME KickOffTime;
 *     FILETIME PasswordLastSet; FILETIME PasswordCanChange; FILETIME PasswordMustChange;
 *     RPC_UNICODE_STRING EffectiveName; RPC_UNICODE_STRING FullName;
 *     RPC_UNICODE_STRING LogonScript; RPC_UNICODE_STRING ProfilePath;
 *     RPC_UNICODE_STRING HomeDirectory; RPC_UNICODE_STRING HomeDirectoryDrive;
 *     USHORT LogonCount; USHORT BadPasswordCount;
 *     ULONG UserId; ULONG PrimaryGroupId; ULONG GroupCount;
 *     [size_is(GroupCount)] PGROUP_MEMBERSHIP GroupIds;
 *     ULONG UserFlags; USER_SESSION_KEY UserSessionKey;
 *     RPC_UNICODE_STRING LogonServer; RPC_UNICODE_STRING LogonDomainName;
 *     PISID LogonDomainId; ULONG Reserved1[2];
 *     ULONG UserAccountControl; ULONG SubAuthStatus;
 *     FILETIME LastSuccessfulILogon; FILETIME LastFailedILogon;
 *     ULONG FailedILogonCount; ULONG Reserved3;
 *     ULONG SidCount; [size_is(SidCount)] PKERB_SID_AND_ATTRIBUTES ExtraSids;
 *     PISID ResourceGroupDomainSid; ULONG ResourceGroupCount;
 *     [size_is(ResourceGroupCount)] PGROUP_MEMBERSHIP ResourceGroupIds;
 *   } KERB_VALIDATION_INFO;
 *
 * Layout: a top-level unique pointer, the fixed part (embedded pointers as referent ids),
 * then each pointee in field order (a pointee's own pointees follow it at once).
 */
import { NdrError } from "../../ndr/errors.js";
import type { NdrReader } from "../../ndr/reader.js";
import { openTypeSerialization, sealTypeSerialization } from "../../ndr/type-serialization.js";
import type { NdrWriter } from "../../ndr/writer.js";
import { PacError } from "./errors.js";
import { sidFromBytes, sidToBytes } from "./sid.js";

/** UserFlags bits (MS-PAC §2.5). */
export const USER_FLAGS = {
  /** D: ExtraSids is populated. */
  EXTRA_SIDS: 0x20,
  /** H: ResourceGroupIds is populated. */
  RESOURCE_GROUPS: 0x200,
} as const;

/** SE_GROUP_* attributes: mandatory | enabled by default | enabled. */
export const SE_GROUP_DEFAULT = 0x00000007;

export interface GroupMembership {
  relativeId: number;
  attributes: number;
}

export interface SidAndAttributes {
  sid: string;
  attributes: number;
}

export interface KerbValidationInfo {
  logonTime: bigint;
  logoffTime: bigint;
  kickOffTime: bigint;
  passwordLastSet: bigint;
  passwordCanChange: bigint;
  passwordMustChange: bigint;
  effectiveName: string;
  fullName: string;
  logonScript: string;
  profilePath: string;
  homeDirectory: string;
  homeDirectoryDrive: string;
  logonCount: number;
  badPasswordCount: number;
  userId: number;
  primaryGroupId: number;
  groupIds: GroupMembership[];
  /** UserFlags as stored; the encoder sets EXTRA_SIDS / RESOURCE_GROUPS from the lists. */
  userFlags: number;
  userSessionKey: Uint8Array;
  logonServer: string;
  logonDomainName: string;
  logonDomainId: string | null;
  userAccountControl: number;
  subAuthStatus: number;
  lastSuccessfulILogon: bigint;
  lastFailedILogon: bigint;
  failedILogonCount: number;
  extraSids: SidAndAttributes[];
  resourceGroupDomainSid: string | null;
  resourceGroupIds: GroupMembership[];
}

const UTF16 = new TextDecoder("utf-16le");

// ---- decoding --------------------------------------------------------------------------

interface StrHead {
  length: number;
  maxLength: number;
  ptr: number;
  name: string;
}

function readFiletime(r: NdrReader, what: string): bigint {
  const low = r.u32(`${what} low`);
  const high = r.u32(`${what} high`);
  return (BigInt(high) << 32n) | BigInt(low);
}

function readStrHead(r: NdrReader, name: string): StrHead {
  const length = r.u16(`${name}.Length`);
  const maxLength = r.u16(`${name}.MaximumLength`);
  return { length, maxLength, ptr: r.pointer(`${name}.Buffer`), name };
}

function readStrBody(r: NdrReader, h: StrHead): string {
  if (h.ptr === 0) {
    if (h.length !== 0) throw malformed(`${h.name}: Length ${h.length} with a NULL buffer`);
    return "";
  }
  const max = r.count(0, `${h.name} maximum count`);
  const offset = r.u32(`${h.name} offset`);
  const actual = r.count(2, `${h.name} actual count`);
  if (offset !== 0 || actual > max || actual * 2 !== h.length || h.length > h.maxLength) {
    throw malformed(
      `${h.name}: Length ${h.length}, MaximumLength ${h.maxLength}, conformance max ${max} offset ${offset} actual ${actual} disagree`,
    );
  }
  const s = UTF16.decode(r.bytes(actual * 2, h.name));
  r.align(4);
  return s;
}

function readSid(r: NdrReader, what: string): string {
  const count = r.count(4, `${what} sub-authority count`);
  const bytes = r.bytes(8 + 4 * count, what);
  if (bytes[1] !== count) {
    throw malformed(
      `${what}: SubAuthorityCount ${bytes[1]} differs from conformance count ${count}`,
    );
  }
  return sidFromBytes(bytes).sid;
}

function readGroups(r: NdrReader, ptr: number, count: number, what: string): GroupMembership[] {
  if (ptr === 0) {
    if (count !== 0) throw malformed(`${what}: count ${count} with a NULL array`);
    return [];
  }
  const max = r.count(8, `${what} count`);
  if (max !== count) throw malformed(`${what}: array count ${max} differs from ${count}`);
  const out: GroupMembership[] = [];
  for (let i = 0; i < max; i++) {
    out.push({
      relativeId: r.u32(`${what}[${i}].RelativeId`),
      attributes: r.u32(`${what}[${i}].Attributes`),
    });
  }
  return out;
}

function readExtraSids(r: NdrReader, ptr: number, count: number): SidAndAttributes[] {
  if (ptr === 0) {
    if (count !== 0) throw malformed(`ExtraSids: SidCount ${count} with a NULL array`);
    return [];
  }
  const max = r.count(8, "ExtraSids count");
  if (max !== count)
    throw malformed(`ExtraSids: array count ${max} differs from SidCount ${count}`);
  const heads: { ptr: number; attributes: number }[] = [];
  for (let i = 0; i < max; i++) {
    heads.push({
      ptr: r.pointer(`ExtraSids[${i}].Sid`),
      attributes: r.u32(`ExtraSids[${i}].Attributes`),
    });
  }
  return heads.map((h, i) => {
    if (h.ptr === 0) throw malformed(`ExtraSids[${i}]: NULL SID`);
    return { sid: readSid(r, `ExtraSids[${i}].Sid`), attributes: h.attributes };
  });
}

function malformed(message: string): PacError {
  return new PacError("pac-malformed", `LOGON_INFO: ${message}`);
}

/** Decodes a LOGON_INFO buffer; throws PacError "pac-malformed" with the failing field. */
export function decodeLogonInfo(buf: Uint8Array): KerbValidationInfo {
  try {
    return decodeBody(openTypeSerialization(buf, "LOGON_INFO"));
  } catch (e) {
    if (e instanceof NdrError) throw new PacError("pac-malformed", e.message);
    throw e;
  }
}

/** The fixed part: scalars, plus the heads of the strings and pointers read later. */
function readFixed(r: NdrReader) {
  const t = (w: string) => readFiletime(r, w);
  const times = {
    logonTime: t("LogonTime"),
    logoffTime: t("LogoffTime"),
    kickOffTime: t("KickOffTime"),
    passwordLastSet: t("PasswordLastSet"),
    passwordCanChange: t("PasswordCanChange"),
    passwordMustChange: t("PasswordMustChange"),
  };
  const names = [
    "EffectiveName",
    "FullName",
    "LogonScript",
    "ProfilePath",
    "HomeDirectory",
    "HomeDirectoryDrive",
  ];
  const strHeads = names.map((n) => readStrHead(r, n));
  const counts = {
    logonCount: r.u16("LogonCount"),
    badPasswordCount: r.u16("BadPasswordCount"),
    userId: r.u32("UserId"),
    primaryGroupId: r.u32("PrimaryGroupId"),
  };
  const groupCount = r.u32("GroupCount");
  const groupPtr = r.pointer("GroupIds");
  const userFlags = r.u32("UserFlags");
  const userSessionKey = r.bytes(16, "UserSessionKey");
  const serverHead = readStrHead(r, "LogonServer");
  const domainHead = readStrHead(r, "LogonDomainName");
  const domainSidPtr = r.pointer("LogonDomainId");
  r.u32("Reserved1[0]");
  r.u32("Reserved1[1]");
  const account = {
    userFlags,
    userSessionKey,
    userAccountControl: r.u32("UserAccountControl"),
    subAuthStatus: r.u32("SubAuthStatus"),
    lastSuccessfulILogon: t("LastSuccessfulILogon"),
    lastFailedILogon: t("LastFailedILogon"),
    failedILogonCount: r.u32("FailedILogonCount"),
  };
  r.u32("Reserved3");
  const sidCount = r.u32("SidCount");
  const extraPtr = r.pointer("ExtraSids");
  const resDomainPtr = r.pointer("ResourceGroupDomainSid");
  const resCount = r.u32("ResourceGroupCount");
  const resPtr = r.pointer("ResourceGroupIds");
  const ptrs = {
    groupCount,
    groupPtr,
    domainSidPtr,
    sidCount,
    extraPtr,
    resDomainPtr,
    resCount,
    resPtr,
  };
  return { times, counts, account, strHeads, serverHead, domainHead, ptrs };
}

function decodeBody(r: NdrReader): KerbValidationInfo {
  if (r.pointer("KERB_VALIDATION_INFO pointer") === 0) throw malformed("NULL top-level pointer");
  const f = readFixed(r);
  const p = f.ptrs;
  // Deferred pointees, in field order.
  const [effectiveName, fullName, logonScript, profilePath, homeDirectory, homeDirectoryDrive] =
    f.strHeads.map((h) => readStrBody(r, h)) as [string, string, string, string, string, string];
  const groupIds = readGroups(r, p.groupPtr, p.groupCount, "GroupIds");
  const logonServer = readStrBody(r, f.serverHead);
  const logonDomainName = readStrBody(r, f.domainHead);
  const logonDomainId = p.domainSidPtr === 0 ? null : readSid(r, "LogonDomainId");
  const extraSids = readExtraSids(r, p.extraPtr, p.sidCount);
  const resourceGroupDomainSid = p.resDomainPtr === 0 ? null : readSid(r, "ResourceGroupDomainSid");
  const resourceGroupIds = readGroups(r, p.resPtr, p.resCount, "ResourceGroupIds");
  return {
    ...f.times,
    effectiveName,
    fullName,
    logonScript,
    profilePath,
    homeDirectory,
    homeDirectoryDrive,
    ...f.counts,
    groupIds,
    ...f.account,
    logonServer,
    logonDomainName,
    logonDomainId,
    extraSids,
    resourceGroupDomainSid,
    resourceGroupIds,
  };
}

// ---- encoding --------------------------------------------------------------------------

function writeFiletime(w: NdrWriter, v: bigint): void {
  w.u32(Number(v & 0xffffffffn));
  w.u32(Number((v >> 32n) & 0xffffffffn));
}

/**
 * Scalars of an RPC_UNICODE_STRING; empty strings get a non-NULL buffer, as Windows does.
 * `spare` characters of capacity are declared beyond the text: Windows gives LogonServer and
 * LogonDomainName room for a terminating NUL (MaximumLength = Length + 2).
 */
function writeStrHead(w: NdrWriter, s: string, spare = 0): void {
  w.u16(s.length * 2);
  w.u16((s.length + spare) * 2);
  w.pointer(true);
}

function writeStrBody(w: NdrWriter, s: string, spare = 0): void {
  w.u32(s.length + spare);
  w.u32(0);
  w.u32(s.length);
  w.utf16(s);
  w.align(4);
}

function writeSid(w: NdrWriter, sid: string): void {
  const b = sidToBytes(sid);
  w.u32(b[1]!);
  w.bytes(b);
}

function writeGroups(w: NdrWriter, groups: GroupMembership[]): void {
  w.u32(groups.length);
  for (const g of groups) {
    w.u32(g.relativeId);
    w.u32(g.attributes);
  }
}

/** The fixed part; returns which embedded pointers are non-NULL (their pointees follow). */
function writeFixed(w: NdrWriter, v: KerbValidationInfo, flags: number) {
  for (const t of [
    v.logonTime,
    v.logoffTime,
    v.kickOffTime,
    v.passwordLastSet,
    v.passwordCanChange,
    v.passwordMustChange,
  ]) {
    writeFiletime(w, t);
  }
  for (const s of stringsOf(v)) writeStrHead(w, s);
  w.u16(v.logonCount);
  w.u16(v.badPasswordCount);
  w.u32(v.userId);
  w.u32(v.primaryGroupId);
  w.u32(v.groupIds.length);
  const groups = w.pointer(v.groupIds.length > 0);
  w.u32(flags);
  w.bytes(v.userSessionKey);
  writeStrHead(w, v.logonServer, 1);
  writeStrHead(w, v.logonDomainName, 1);
  const domainSid = w.pointer(v.logonDomainId !== null);
  w.u32(0); // Reserved1[0]
  w.u32(0); // Reserved1[1]
  w.u32(v.userAccountControl);
  w.u32(v.subAuthStatus);
  writeFiletime(w, v.lastSuccessfulILogon);
  writeFiletime(w, v.lastFailedILogon);
  w.u32(v.failedILogonCount);
  w.u32(0); // Reserved3
  w.u32(v.extraSids.length);
  const extra = w.pointer(v.extraSids.length > 0);
  const resDomain = w.pointer(v.resourceGroupDomainSid !== null);
  w.u32(v.resourceGroupIds.length);
  const res = w.pointer(v.resourceGroupIds.length > 0);
  return { groups, domainSid, extra, resDomain, res };
}

function stringsOf(v: KerbValidationInfo): string[] {
  return [
    v.effectiveName,
    v.fullName,
    v.logonScript,
    v.profilePath,
    v.homeDirectory,
    v.homeDirectoryDrive,
  ];
}

/** Encodes LOGON_INFO (type serialization + NDR), ready for a PAC buffer. */
export function encodeLogonInfo(v: KerbValidationInfo): Uint8Array {
  if (v.userSessionKey.length !== 16) {
    throw new PacError(
      "pac-malformed",
      `LOGON_INFO: UserSessionKey length ${v.userSessionKey.length} != 16`,
    );
  }
  let flags = v.userFlags & ~(USER_FLAGS.EXTRA_SIDS | USER_FLAGS.RESOURCE_GROUPS);
  if (v.extraSids.length > 0) flags |= USER_FLAGS.EXTRA_SIDS;
  if (v.resourceGroupIds.length > 0) flags |= USER_FLAGS.RESOURCE_GROUPS;
  flags >>>= 0; // back to an unsigned 32-bit value after the bit operations
  return sealTypeSerialization((w) => {
    w.pointer(true);
    const present = writeFixed(w, v, flags);
    for (const s of stringsOf(v)) writeStrBody(w, s);
    if (present.groups) writeGroups(w, v.groupIds);
    writeStrBody(w, v.logonServer, 1);
    writeStrBody(w, v.logonDomainName, 1);
    if (present.domainSid) writeSid(w, v.logonDomainId!);
    if (present.extra) {
      w.u32(v.extraSids.length);
      for (const e of v.extraSids) {
        w.pointer(true);
        w.u32(e.attributes);
      }
      for (const e of v.extraSids) writeSid(w, e.sid);
    }
    if (present.resDomain) writeSid(w, v.resourceGroupDomainSid!);
    if (present.res) writeGroups(w, v.resourceGroupIds);
  });
}
